package redisstore

import (
	"context"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// batch is one round trip of commands whose order does not matter: on a
// cluster they go to their slots' nodes at once. Scripts run by their
// SHA; a node that has not cached one (it restarted, or a replica took
// over) answers NOSCRIPT, and exec runs that script again on its own,
// sending its source. Every command a batch holds must therefore be safe
// to run after the others.
type batch struct {
	p     redis.Pipeliner
	calls []*call
}

// call is a script of a batch and, after exec, its result.
type call struct {
	*redis.Cmd
	script *redis.Script
	keys   []string
	args   []any
}

func (s *Store) batch() *batch { return &batch{p: s.rdb.Pipeline()} }

// run queues script on keys (one key: each script touches only the key it
// is given, so that any deployment, a cluster included, can run it).
func (b *batch) run(ctx context.Context, script *redis.Script, key string, args ...any) *call {
	keys := []string{key}
	c := &call{Cmd: script.EvalSha(ctx, b.p, keys, args...), script: script, keys: keys, args: args}
	b.calls = append(b.calls, c)
	return c
}

// exec sends the batch. Its error is the first failed command's, other
// than redis.Nil; the commands' own results stay readable.
func (b *batch) exec(ctx context.Context, rdb redis.UniversalClient) error {
	if b.p.Len() == 0 {
		return nil
	}
	cmds, _ := b.p.Exec(ctx)
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) && !noScript(err) {
			return err
		}
	}
	for _, c := range b.calls {
		if noScript(c.Err()) {
			c.Cmd = c.script.Run(ctx, rdb, c.keys, c.args...)
			if err := c.Err(); err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
		}
	}
	return nil
}

// noScript is a script unknown to the node that was asked to run it.
func noScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }
