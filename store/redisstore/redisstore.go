// Package redisstore keeps oauthlogin's sessions, identities, one-time
// keys and the refresh lock in Redis (an oauthlogin.Store:
// Config{Store: redisstore.New(client)}), so that several instances of an
// app can share them: any instance can serve any request, and provider token
// refreshes are serialized across all of them.
//
// New takes a redis.UniversalClient: a single server (*redis.Client), a
// Sentinel failover setup (redis.NewFailoverClient) and a Redis Cluster
// (*redis.ClusterClient) are one constructor argument apart. Every script
// the store runs touches exactly one key, named in KEYS, and no key
// carries a hash tag, so on a cluster the records spread over every slot
// by their own names. Records and their indexes (user → sessions,
// provider session → sessions, user → identities, provider account →
// identity, verified email → identities) are kept in step by the order of
// the writes and by conditional single-key scripts, not by multi-key
// transactions: see the comments on sessions and identities for the
// rules, and docs/scale.md for what each operation promises.
//
// Sessions and one-time keys expire with native Redis TTLs (PEXPIREAT at
// Session.Expires). Expired sessions leave the indexes when they are next
// read or written.
//
// Values are a compact binary encoding. The provider tokens in them are
// already sealed (AES-GCM) by the Manager; the session's own token is
// never stored, only its SHA-256 (Session.ID).
//
// Redis 6.2 or later is needed (SET with PXAT); Valkey works the same.
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/oauthlogin/oauthlogin/internal/recall"
	"strconv"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/lockpoll"
	"github.com/redis/go-redis/v9"
)

// Options configures a Store.
type Options struct {
	// Prefix starts every key the store writes; default "oauthlogin:".
	// Give each app (or each test) its own prefix to keep their records
	// apart in one Redis database.
	Prefix string
	// LockPoll is the longest pause between two attempts of Lock to take a
	// held lock; default 50ms. The first pauses are shorter.
	LockPoll time.Duration
	// DetachedTimeout bounds the single attempt that Lock makes with a
	// context that is already done (a try-lock) and the release that
	// unlock makes with one; default 2s.
	DetachedTimeout time.Duration
	// Replicas is how many replicas must have each write before the store
	// reports it done (Redis WAIT, on the connection that made the write):
	// then a failover to a replica loses nothing the store acknowledged,
	// no session, identity, single-use mark or refresh lock. A write that
	// fewer replicas confirm within ReplicaTimeout fails with
	// ErrStoreUnavailable (it may or may not survive a failover). 0, the
	// default, does not wait: Redis replicates asynchronously, so a master
	// that fails may take its last writes with it. It needs a
	// *redis.Client (a failover client is one) or a *redis.ClusterClient.
	Replicas int
	// ReplicaTimeout bounds the wait for Replicas; default 1s.
	ReplicaTimeout time.Duration
}

// Store is a Redis-backed oauthlogin.Store, with the SessionLister,
// SessionToucher and ProviderSessionDeleter capabilities:
// Config{Store: redisstore.New(client)} shares sessions, identities,
// single-use marks and the refresh lock across every instance of the app.
// It is safe for concurrent use by any number of goroutines and app
// instances. Create it with New.
type Store struct {
	rdb             redis.UniversalClient
	prefix          string
	lockPoll        time.Duration
	detachedTimeout time.Duration
	replicas        int
	replicaTimeout  time.Duration
	lease           time.Duration // claimLease; shorter in tests
	now             func() time.Time
	claims          recall.Map // the claim Identity read last for each account
}

var (
	_ oauthlogin.Store          = (*Store)(nil)
	_ oauthlogin.SessionLister  = (*Store)(nil)
	_ oauthlogin.SessionToucher = (*Store)(nil)

	_ oauthlogin.ProviderSessionDeleter = (*Store)(nil)
)

// New returns a Store that keeps its records in rdb (a *redis.Client, a
// failover client, or a cluster client with a hash-tagged prefix). The
// store does not close rdb. Options are optional: New(rdb) takes the
// defaults, and of several only the first counts.
func New(rdb redis.UniversalClient, options ...Options) *Store {
	var opts Options
	if len(options) > 0 {
		opts = options[0]
	}
	s := &Store{
		rdb:             rdb,
		prefix:          opts.Prefix,
		lockPoll:        opts.LockPoll,
		detachedTimeout: opts.DetachedTimeout,
		replicas:        max(opts.Replicas, 0),
		replicaTimeout:  opts.ReplicaTimeout,
		lease:           claimLease,
		now:             time.Now,
	}
	if s.prefix == "" {
		s.prefix = "oauthlogin:"
	}
	if s.lockPoll <= 0 {
		s.lockPoll = 50 * time.Millisecond
	}
	if s.detachedTimeout <= 0 {
		s.detachedTimeout = 2 * time.Second
	}
	if s.replicaTimeout <= 0 {
		s.replicaTimeout = time.Second
	}
	return s
}

// Keys. No key kind's infix is a prefix of another's, so ids, user ids and
// emails of any content cannot make two kinds collide.
func (s *Store) sessionKey(id string) string        { return s.prefix + "s:" + id }
func (s *Store) userSessionsKey(user string) string { return s.prefix + "us:" + user }
func (s *Store) identityKey(id string) string       { return s.prefix + "i:" + id }
func (s *Store) userIdentitiesKey(u string) string  { return s.prefix + "ui:" + u }
func (s *Store) oneTimeKey(key string) string       { return s.prefix + "o:" + key }
func (s *Store) lockKey(key string) string          { return s.prefix + "l:" + key }

// providerSessionsKey is the index of a provider session's sessions; the
// provider's length keeps the pair unambiguous.
func (s *Store) providerSessionsKey(provider, sid string) string {
	return s.prefix + "ps:" + strconv.Itoa(len(provider)) + ":" + provider + sid
}

func (s *Store) emailKey(email string) string {
	if email == "" {
		return ""
	}
	return s.prefix + "ie:" + email
}

// accountKey is the (issuer, subject) index entry; the issuer's length
// keeps the pair unambiguous.
func (s *Store) accountKey(issuer, subject string) string {
	return s.prefix + "ia:" + strconv.Itoa(len(issuer)) + ":" + issuer + subject
}

// unixMilli is t in Unix milliseconds for PEXPIREAT and PXAT, rounded up
// (a record never expires before t) and at least 1 (Redis refuses 0 and
// negative times; 1 is long past, so the record expires at once).
func unixMilli(t time.Time) int64 {
	ms := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		ms++
	}
	return max(ms, 1)
}

// storeError wraps a Redis failure in oauthlogin.ErrStoreUnavailable (a
// 503 for the Manager); context errors stay visible to errors.Is.
func storeError(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return fmt.Errorf("redisstore: %s: %w: %w", op, oauthlogin.ErrStoreUnavailable, err)
}

// markScript sets KEYS[1] to ARGV[1] if it is unset, expiring at ARGV[2]
// (PXAT ms, for a mark) or in ARGV[3] (PX ms, for a lock): 1. A key that
// holds ARGV[1] already is 1 too: a client that sent the script again
// after losing the connection (go-redis retries) finds its own write, and
// does not take it for another caller's. Held by another: 0.
var markScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
	return 1
end
if v then
	return 0
end
if ARGV[3] == '' then
	redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
else
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
end
return 1
`)

// newToken is a random value that names one caller's mark or lock.
func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Consume implements oauthlogin.Store: a script sets the mark if it is
// unset (SET PXAT: it expires by itself at expires), holding a token of
// this call, so that a retried send is not mistaken for a reuse.
func (s *Store) Consume(ctx context.Context, key string, expires time.Time) error {
	n, err := s.script(ctx, markScript, s.oneTimeKey(key), newToken(), unixMilli(expires), "").Int()
	switch {
	case err != nil:
		return storeError("consume", err)
	case n == 0:
		return oauthlogin.ErrAlreadyUsed
	}
	return nil
}

// Locks are strings holding a random token, set with NX and a TTL; only a
// script that finds the holder's token deletes one.

var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// Lock implements oauthlogin.Store with a script that sets the key to a
// token of this caller, with a TTL, if it is unset. While the
// lock is held elsewhere it polls, with pauses growing to Options.LockPoll,
// until ctx ends. With a ctx that is already done it still makes one
// attempt (bounded by Options.DetachedTimeout): a try-lock. The returned
// unlock deletes the key only if it still holds this caller's token (a
// compare-and-delete script), and it does so even when its ctx is done, so
// that a cancelled request does not keep others waiting for the ttl.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	tok := newToken()
	k := s.lockKey(key)
	ttl = max(ttl, time.Millisecond)
	unlock := func(ctx context.Context) error {
		uctx, cancel := s.attemptContext(ctx)
		defer cancel()
		if err := s.script(uctx, unlockScript, k, tok).Err(); err != nil {
			return storeError("unlock", err)
		}
		return nil
	}
	return lockpoll.Acquire(ctx, s.lockPoll, s.detachedTimeout, func(ctx context.Context) (lockpoll.Unlock, error) {
		n, err := s.script(ctx, markScript, k, tok, 0, ttl.Milliseconds()).Int()
		switch {
		case err != nil:
			// The script may have run even so (the answer was lost, or
			// ctx ended while it was on its way): release what it may
			// have taken, by this caller's token (unlock detaches from a
			// done context).
			_ = unlock(ctx)
			return nil, storeError("lock", err)
		case n == 0:
			return nil, nil
		}
		return unlock, nil
	})
}

// attemptContext is ctx, or when ctx is done, a detached context bounded by
// DetachedTimeout, for the one attempt a done context still gets.
func (s *Store) attemptContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return lockpoll.AttemptContext(ctx, s.detachedTimeout)
}
