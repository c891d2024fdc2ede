package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// batch is one round trip of commands whose order does not matter: on a
// cluster they go to their slots' nodes at once. Scripts run by their
// SHA; a node that has not cached one (it restarted, or a replica took
// over) answers NOSCRIPT, and exec sends that script again with its
// source. Every command a batch holds must therefore be safe to run after
// the others.
//
// With Options.Replicas, the commands of each node go on one connection
// followed by WAIT, so that exec returns only once that many replicas
// have them.
type batch struct {
	s   *Store
	ops []*op
}

// op is one command of a batch, queued on whichever pipeline carries its
// key's node.
type op struct {
	key    string
	write  bool
	script bool // a script: sent again with its source after NOSCRIPT
	queue  func(p redis.Pipeliner, source bool) redis.Cmder
	cmd    redis.Cmder
}

// call is a script of a batch; its result is readable after exec.
type call struct{ *redis.Cmd }

func (s *Store) batch() *batch { return &batch{s: s} }

// run queues script on key (its only key: each script touches just the
// key it is given, so that any deployment, a cluster included, can run
// it).
func (b *batch) run(ctx context.Context, script *redis.Script, key string, args ...any) *call {
	c := &call{}
	keys := []string{key}
	b.ops = append(b.ops, &op{key: key, write: true, script: true, queue: func(p redis.Pipeliner, source bool) redis.Cmder {
		if source {
			c.Cmd = script.Eval(ctx, p, keys, args...)
		} else {
			c.Cmd = script.EvalSha(ctx, p, keys, args...)
		}
		return c.Cmd
	}})
	return c
}

// read queues a command that reads key; f queues it and keeps its result.
func (b *batch) read(key string, f func(p redis.Pipeliner) redis.Cmder) {
	b.ops = append(b.ops, &op{key: key, queue: func(p redis.Pipeliner, _ bool) redis.Cmder { return f(p) }})
}

// write queues a command that writes key.
func (b *batch) write(key string, f func(p redis.Pipeliner) redis.Cmder) {
	b.ops = append(b.ops, &op{key: key, write: true, queue: func(p redis.Pipeliner, _ bool) redis.Cmder { return f(p) }})
}

// exec sends the batch. Its error is the first failed command's, other
// than redis.Nil; the commands' own results stay readable.
func (b *batch) exec(ctx context.Context) error {
	if len(b.ops) == 0 {
		return nil
	}
	if err := b.s.send(ctx, b.ops, false); err != nil {
		return err
	}
	var again []*op
	for _, o := range b.ops {
		if o.script && noScript(o.cmd.Err()) {
			again = append(again, o)
		}
	}
	if len(again) == 0 {
		return nil
	}
	return b.s.send(ctx, again, true)
}

// noScript is a script unknown to the node that was asked to run it.
func noScript(err error) bool { return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") }

// errNotReplicated is a write that fewer replicas than Options.Replicas
// acknowledged in time: it may be lost in a failover, so it is not
// reported done.
var errNotReplicated = errors.New("the write did not reach enough replicas in time")

// send queues ops on pipelines (one, or with Options.Replicas one per
// node, each ending with WAIT) and runs them. NOSCRIPT answers are not
// errors unless source was set (they are sent again).
func (s *Store) send(ctx context.Context, ops []*op, source bool) error {
	if s.replicas == 0 {
		p := s.rdb.Pipeline()
		for _, o := range ops {
			o.cmd = o.queue(p, source)
		}
		p.Exec(ctx)
		return opsError(ops, source)
	}
	groups := map[redis.UniversalClient][]*op{}
	var order []redis.UniversalClient
	for _, o := range ops {
		node, err := s.node(ctx, o.key)
		if err != nil {
			return err
		}
		if _, ok := groups[node]; !ok {
			order = append(order, node)
		}
		groups[node] = append(groups[node], o)
	}
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	for i, node := range order {
		wg.Go(func() { errs[i] = s.sendAcknowledged(ctx, node, groups[node], source) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return opsError(ops, source)
}

// sendAcknowledged runs ops on one connection to node; if any writes, it
// waits until Options.Replicas replicas have them.
func (s *Store) sendAcknowledged(ctx context.Context, node redis.UniversalClient, ops []*op, source bool) error {
	p := node.Pipeline()
	writes := false
	for _, o := range ops {
		o.cmd = o.queue(p, source)
		writes = writes || o.write
	}
	var wait *redis.Cmd
	if writes {
		wait = p.Do(ctx, "WAIT", s.replicas, s.replicaTimeout.Milliseconds())
	}
	p.Exec(ctx)
	if err := opsError(ops, source); err != nil || wait == nil {
		return err
	}
	n, err := wait.Int64()
	if err != nil {
		return err
	}
	if n < int64(s.replicas) {
		return fmt.Errorf("%w: %d of %d replicas", errNotReplicated, n, s.replicas)
	}
	return nil
}

// node is the client whose one connection reaches key's master: the
// cluster's master for its slot, or the client itself.
func (s *Store) node(ctx context.Context, key string) (redis.UniversalClient, error) {
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		return c.MasterForKey(ctx, key)
	}
	return s.rdb, nil
}

// opsError is the first error of ops, other than redis.Nil and (unless
// source) NOSCRIPT.
func opsError(ops []*op, source bool) error {
	for _, o := range ops {
		err := o.cmd.Err()
		if err != nil && !errors.Is(err, redis.Nil) && (source || !noScript(err)) {
			return err
		}
	}
	return nil
}

// script runs script on key alone: at once, or as a batch of one when
// writes wait for replicas.
func (s *Store) script(ctx context.Context, script *redis.Script, key string, args ...any) *redis.Cmd {
	if s.replicas == 0 {
		return script.Run(ctx, s.rdb, []string{key}, args...)
	}
	b := s.batch()
	c := b.run(ctx, script, key, args...)
	err := b.exec(ctx)
	if c.Cmd == nil {
		c.Cmd = redis.NewCmd(ctx)
	}
	if err != nil && c.Err() == nil {
		c.SetErr(err)
	}
	return c.Cmd
}
