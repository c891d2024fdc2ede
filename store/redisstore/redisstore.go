// Package redisstore keeps oauthlogin's sessions, identities, one-time
// keys and the refresh lock in Redis (an oauthlogin.Store:
// Config{Store: redisstore.New(client)}), so that several instances of an
// app can share them: any instance can serve any request, and provider token
// refreshes are serialized across all of them.
//
// Sessions and one-time keys expire with native Redis TTLs (PEXPIREAT at
// Session.Expires). Every write that touches a record and its indexes (user
// → sessions, provider session (provider, sid) → sessions, user →
// identities, (issuer, subject) → identity, verified email → identities)
// is one Lua script, so it is atomic: CreateIdentity is
// unique on (issuer, subject), and DeleteIdentity refuses a user's last
// identity, even with concurrent callers on several instances. Expired
// sessions leave the user index when it is next read or written.
//
// Values are a compact binary encoding. The provider tokens in them are
// already sealed (AES-GCM) by the Manager; the session's own token is
// never stored, only its SHA-256 (Session.ID).
//
// Some scripts (the identities', UserSessions) compute keys they touch,
// so every key must be on one node: a standalone server, or a primary
// with replicas (Sentinel); those that write or end sessions are given
// every key they touch in KEYS. With
// Redis Cluster, put a hash tag in the prefix ("{auth}:") so that all keys
// share one slot. Redis 6.2 or later is needed (SET with PXAT).
package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	now             func() time.Time
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

// Consume implements oauthlogin.Store with SET NX PXAT: the mark
// expires by itself at expires.
func (s *Store) Consume(ctx context.Context, key string, expires time.Time) error {
	err := s.rdb.Do(ctx, "SET", s.oneTimeKey(key), "1", "NX", "PXAT", unixMilli(expires)).Err()
	switch {
	case errors.Is(err, redis.Nil):
		return oauthlogin.ErrAlreadyUsed
	case err != nil:
		return storeError("consume", err)
	}
	return nil
}

// Identities are hashes {u: user id, a: account key, e: email key or "",
// f: fixed record, m: mutable record}; the indexes are the account key
// (a string holding the id) and sets of ids per user and per verified
// email.

var createIdentityScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
	return 0
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'u', ARGV[2], 'a', KEYS[1], 'e', ARGV[5], 'f', ARGV[3], 'm', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[1])
if ARGV[5] ~= '' then
	redis.call('SADD', ARGV[5], ARGV[1])
end
return 1
`)

// CreateIdentity implements oauthlogin.IdentityStore. The check of
// (Issuer, ProviderUID) and the writes are one script: of concurrent
// creators of one provider account, exactly one succeeds. An ID already in
// use is ErrIdentityExists too.
func (s *Store) CreateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	n, err := createIdentityScript.Run(ctx, s.rdb,
		[]string{s.accountKey(v.Issuer, v.ProviderUID), s.identityKey(v.ID), s.userIdentitiesKey(v.UserID)},
		v.ID, v.UserID, encodeIdentityFixed(v), encodeIdentityMutable(v), s.emailKey(v.VerifiedEmail)).Int()
	if err != nil {
		return storeError("create identity", err)
	}
	if n == 0 {
		return oauthlogin.ErrIdentityExists
	}
	return nil
}

var updateIdentityScript = redis.NewScript(`
local e = redis.call('HGET', KEYS[1], 'e')
if not e then
	return 0
end
if e ~= ARGV[2] then
	if e ~= '' then
		redis.call('SREM', e, ARGV[3])
	end
	if ARGV[2] ~= '' then
		redis.call('SADD', ARGV[2], ARGV[3])
	end
end
redis.call('HSET', KEYS[1], 'm', ARGV[1], 'e', ARGV[2])
return 1
`)

// UpdateIdentity implements oauthlogin.IdentityStore. It replaces only
// the mutable record (emails, tokens, expiry, Updated), so Issuer,
// Provider, ProviderUID, UserID and Created cannot change.
func (s *Store) UpdateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	n, err := updateIdentityScript.Run(ctx, s.rdb, []string{s.identityKey(v.ID)},
		encodeIdentityMutable(v), s.emailKey(v.VerifiedEmail), v.ID).Int()
	if err != nil {
		return storeError("update identity", err)
	}
	if n == 0 {
		return oauthlogin.ErrNotFound
	}
	return nil
}

var identityScript = redis.NewScript(`
local id = redis.call('GET', KEYS[1])
if not id then
	return false
end
local r = redis.call('HMGET', ARGV[1] .. id, 'f', 'm')
if not r[1] then
	return false
end
return {id, r[1], r[2]}
`)

// Identity implements oauthlogin.IdentityStore: the identity of the
// provider account (issuer, subject), or (nil, ErrNotFound); one round
// trip through the account index.
func (s *Store) Identity(ctx context.Context, issuer, subject string) (*oauthlogin.Identity, error) {
	res, err := identityScript.Run(ctx, s.rdb, []string{s.accountKey(issuer, subject)}, s.prefix+"i:").Slice()
	if errors.Is(err, redis.Nil) {
		return nil, oauthlogin.ErrNotFound
	}
	if err != nil {
		return nil, storeError("get identity", err)
	}
	list, err := identitiesFrom(res)
	if err != nil {
		return nil, storeError("get identity", err)
	}
	if len(list) != 1 {
		return nil, oauthlogin.ErrNotFound
	}
	return list[0], nil
}

// identitiesFrom decodes id, fixed, mutable triples, oldest first.
func identitiesFrom(res []any) ([]*oauthlogin.Identity, error) {
	out := make([]*oauthlogin.Identity, 0, len(res)/3)
	for i := 0; i+2 < len(res); i += 3 {
		id, _ := res[i].(string)
		f, _ := res[i+1].(string)
		m, _ := res[i+2].(string)
		v, err := decodeIdentity(id, f, m)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *oauthlogin.Identity) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

var identitySetScript = redis.NewScript(`
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
	local r = redis.call('HMGET', ARGV[1] .. id, 'f', 'm')
	if r[1] then
		out[#out + 1] = id
		out[#out + 1] = r[1]
		out[#out + 1] = r[2]
	end
end
return out
`)

func (s *Store) identitySet(ctx context.Context, op, key string) ([]*oauthlogin.Identity, error) {
	res, err := identitySetScript.Run(ctx, s.rdb, []string{key}, s.prefix+"i:").Slice()
	if err != nil {
		return nil, storeError(op, err)
	}
	list, err := identitiesFrom(res)
	if err != nil {
		return nil, storeError(op, err)
	}
	return list, nil
}

// UserIdentities implements oauthlogin.IdentityStore: the user's
// identities, oldest first (by Created, then ID); an empty slice for none.
func (s *Store) UserIdentities(ctx context.Context, userID string) ([]*oauthlogin.Identity, error) {
	return s.identitySet(ctx, "user identities", s.userIdentitiesKey(userID))
}

// IdentitiesByEmail implements oauthlogin.IdentityStore: the identities
// whose VerifiedEmail is exactly email, oldest first; an empty slice for
// none (and for "").
func (s *Store) IdentitiesByEmail(ctx context.Context, email string) ([]*oauthlogin.Identity, error) {
	if email == "" {
		return []*oauthlogin.Identity{}, nil
	}
	return s.identitySet(ctx, "identities by email", s.emailKey(email))
}

var deleteIdentityScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'u', 'a', 'e')
if r[1] ~= ARGV[1] then
	return 0
end
if redis.call('SCARD', KEYS[2]) <= 1 then
	return -1
end
redis.call('DEL', KEYS[1])
if redis.call('GET', r[2]) == ARGV[2] then
	redis.call('DEL', r[2])
end
redis.call('SREM', KEYS[2], ARGV[2])
if r[3] ~= '' then
	redis.call('SREM', r[3], ARGV[2])
end
return 1
`)

// DeleteIdentity implements oauthlogin.IdentityStore: the ownership check,
// the last-identity check and the removal from every index are one script.
func (s *Store) DeleteIdentity(ctx context.Context, userID, id string) error {
	n, err := deleteIdentityScript.Run(ctx, s.rdb,
		[]string{s.identityKey(id), s.userIdentitiesKey(userID)}, userID, id).Int()
	if err != nil {
		return storeError("delete identity", err)
	}
	switch n {
	case 0:
		return oauthlogin.ErrNotFound
	case -1:
		return oauthlogin.ErrLastIdentity
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

// Lock implements oauthlogin.Store with SET key token NX PX ttl. While the
// lock is held elsewhere it polls, with pauses growing to Options.LockPoll,
// until ctx ends. With a ctx that is already done it still makes one
// attempt (bounded by Options.DetachedTimeout): a try-lock. The returned
// unlock deletes the key only if it still holds this caller's token (a
// compare-and-delete script), and it does so even when its ctx is done, so
// that a cancelled request does not keep others waiting for the ttl.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, error) {
	var b [16]byte
	rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	k := s.lockKey(key)
	ttl = max(ttl, time.Millisecond)
	unlock := func(ctx context.Context) error {
		uctx, cancel := s.attemptContext(ctx)
		defer cancel()
		if err := unlockScript.Run(uctx, s.rdb, []string{k}, token).Err(); err != nil {
			return storeError("unlock", err)
		}
		return nil
	}
	return lockpoll.Acquire(ctx, s.lockPoll, s.detachedTimeout, func(ctx context.Context) (lockpoll.Unlock, error) {
		ok, err := s.rdb.SetNX(ctx, k, token, ttl).Result()
		switch {
		case err != nil:
			return nil, storeError("lock", err)
		case !ok:
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
