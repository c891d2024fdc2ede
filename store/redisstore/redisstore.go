// Package redisstore keeps oauthlogin's sessions, identities, one-time
// keys and the refresh lock in Redis (an oauthlogin.Store:
// Config{Store: redisstore.New(client)}), so that several instances of an
// app can share them: any instance can serve any request, and provider token
// refreshes are serialized across all of them.
//
// Sessions and one-time keys expire with native Redis TTLs (PEXPIREAT at
// Session.Expires). Every write that touches a record and its indexes (user
// → sessions, user → identities, (issuer, subject) → identity, verified
// email → identities) is one Lua script, so it is atomic: CreateIdentity is
// unique on (issuer, subject), and DeleteIdentity refuses a user's last
// identity, even with concurrent callers on several instances. Expired
// sessions leave the user index when it is next read or written.
//
// Values are a compact binary encoding. The provider tokens in them are
// already sealed (AES-GCM) by the Manager; the session's own token is
// never stored, only its SHA-256 (Session.ID).
//
// The scripts compute the keys they touch, so every key must be on one
// node: a standalone server, or a primary with replicas (Sentinel). With
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

// Store is a Redis-backed oauthlogin.Store, with the SessionLister and
// SessionToucher capabilities: Config{Store: redisstore.New(client)}
// shares sessions, identities, single-use marks and the refresh lock
// across every instance of the app. It is safe for concurrent use by any number of
// goroutines and app instances. Create it with New.
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

// Sessions are hashes {u: user id, v: record, l: LastSeen, t: sealed
// provider tokens, x: their expiry, e: Expires in Unix milliseconds} that
// expire at Session.Expires. LastSeen and the tokens are fields of their
// own so that TouchSession and UpdateSessionTokens each write theirs
// alone, in one step. (A record written before t, x and e existed keeps
// its tokens in v; t and x, once written, take precedence.) The user index
// is a sorted set of session ids scored by their expiry (milliseconds),
// itself expiring with its last session.

var saveSessionScript = redis.NewScript(`
local old = redis.call('HGET', KEYS[1], 'u')
if old and old ~= ARGV[1] then
	redis.call('ZREM', ARGV[6] .. old, ARGV[5])
end
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'v', ARGV[2], 'l', ARGV[3], 't', ARGV[8], 'x', ARGV[9], 'e', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
local exp = tonumber(ARGV[4])
local now = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if exp > now then
	redis.call('ZADD', KEYS[2], exp, ARGV[5])
	-- The index lives as long as its longest-lived session (PTTL is -1
	-- for a new index, without a TTL yet).
	if redis.call('PTTL', KEYS[2]) < exp - now then
		redis.call('PEXPIREAT', KEYS[2], exp)
	end
else
	redis.call('ZREM', KEYS[2], ARGV[5])
end
return 1
`)

// Session implements oauthlogin.SessionStore: a session that does not
// exist or whose Expires has passed (by this process's clock; Redis also
// drops the record at Expires) is (nil, ErrNotFound); the caller owns the
// result.
func (s *Store) Session(ctx context.Context, id string) (*oauthlogin.Session, error) {
	vals, err := s.rdb.HMGet(ctx, s.sessionKey(id), "v", "l", "t", "x").Result()
	if err != nil {
		return nil, storeError("get session", err)
	}
	v, err := sessionFrom(id, vals[0], vals[1], vals[2], vals[3])
	if errors.Is(err, errOldPending) {
		return nil, oauthlogin.ErrNotFound
	}
	if err != nil || v == nil {
		return nil, err
	}
	if !s.now().Before(v.Expires) {
		return nil, oauthlogin.ErrNotFound
	}
	return v, nil
}

// sessionFrom decodes the v, l, t and x fields of a session hash; a
// missing record is ErrNotFound.
func sessionFrom(id string, data, seen, tokens, expiry any) (*oauthlogin.Session, error) {
	d, ok := data.(string)
	if !ok {
		return nil, oauthlogin.ErrNotFound
	}
	var lastSeen time.Time
	if l, ok := seen.(string); ok {
		t, err := decodeTime(l)
		if err != nil {
			return nil, err
		}
		lastSeen = t
	}
	v, err := decodeSession(id, d, lastSeen)
	if err != nil {
		return nil, err
	}
	if x, ok := expiry.(string); ok {
		if v.ProviderAccessTokenExpiry, err = decodeTime(x); err != nil {
			return nil, err
		}
		v.ProviderTokens = nil
		if t, _ := tokens.(string); t != "" {
			v.ProviderTokens = []byte(t)
		}
	}
	return v, nil
}

// SaveSession implements oauthlogin.SessionStore. The record expires at
// v.Expires; a session saved already expired is removed.
func (s *Store) SaveSession(ctx context.Context, v *oauthlogin.Session) error {
	rest := *v // the tokens go to fields of their own
	rest.ProviderTokens, rest.ProviderAccessTokenExpiry = nil, time.Time{}
	err := saveSessionScript.Run(ctx, s.rdb,
		[]string{s.sessionKey(v.ID), s.userSessionsKey(v.UserID)},
		v.UserID, encodeSession(&rest), encodeTime(v.LastSeen), unixMilli(v.Expires), v.ID,
		s.prefix+"us:", s.now().UnixMilli(), v.ProviderTokens, encodeTime(v.ProviderAccessTokenExpiry)).Err()
	if err != nil {
		return storeError("save session", err)
	}
	return nil
}

var deleteSessionScript = redis.NewScript(`
local u = redis.call('HGET', KEYS[1], 'u')
redis.call('DEL', KEYS[1])
if u then
	redis.call('ZREM', ARGV[1] .. u, ARGV[2])
end
return 1
`)

// DeleteSession implements oauthlogin.SessionStore: it removes the session
// and its user index entry; a missing session is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if err := deleteSessionScript.Run(ctx, s.rdb, []string{s.sessionKey(id)}, s.prefix+"us:", id).Err(); err != nil {
		return storeError("delete session", err)
	}
	return nil
}

var touchSessionScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
redis.call('HSET', KEYS[1], 'l', ARGV[1])
return 1
`)

// TouchSession implements oauthlogin.SessionToucher: it writes LastSeen
// alone (a hash field of its own), so a concurrent SaveSession's tokens are
// never overwritten.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	n, err := touchSessionScript.Run(ctx, s.rdb, []string{s.sessionKey(id)}, encodeTime(lastSeen)).Int()
	if err != nil {
		return storeError("touch session", err)
	}
	if n == 0 {
		return oauthlogin.ErrNotFound
	}
	return nil
}

// updateSessionTokensScript writes the token fields of a session that
// exists and, when its record says when it expires (e), has not expired
// at ARGV[3]; 0 otherwise. It never creates a key, and leaves the key's
// TTL, the other fields and the user index as they are.
var updateSessionTokensScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) <= tonumber(ARGV[3]) then
	return 0
end
redis.call('HSET', KEYS[1], 't', ARGV[1], 'x', ARGV[2])
return 1
`)

// UpdateSessionTokens implements oauthlogin.SessionStore: one script
// checks that the session exists and has not expired, and writes the
// tokens fields alone; a session that is gone or expired is ErrNotFound
// and nothing is created. LastSeen and the rest of the record are other
// fields, so a concurrent TouchSession is never undone.
func (s *Store) UpdateSessionTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) error {
	n, err := updateSessionTokensScript.Run(ctx, s.rdb, []string{s.sessionKey(id)},
		tokens, encodeTime(expiry), s.now().UnixMilli()).Int()
	if err != nil {
		return storeError("update session tokens", err)
	}
	if n == 0 {
		return oauthlogin.ErrNotFound
	}
	return nil
}

// userSessionsScript prunes the index (expired entries, and ids whose
// session is gone) and returns id, record, LastSeen, tokens, token expiry
// quintuples.
var userSessionsScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local r = redis.call('HMGET', ARGV[1] .. id, 'u', 'v', 'l', 't', 'x')
	if r[1] == ARGV[3] and r[2] then
		out[#out + 1] = id
		out[#out + 1] = r[2]
		out[#out + 1] = r[3]
		out[#out + 1] = r[4]
		out[#out + 1] = r[5]
	else
		redis.call('ZREM', KEYS[1], id)
	end
end
return out
`)

// UserSessions implements oauthlogin.SessionLister: the user's unexpired
// sessions, oldest first (by Created, then ID), an empty slice for none.
// Reading prunes the user's index of sessions that have expired or gone.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]*oauthlogin.Session, error) {
	now := s.now()
	res, err := userSessionsScript.Run(ctx, s.rdb, []string{s.userSessionsKey(userID)},
		s.prefix+"s:", now.UnixMilli(), userID).Slice()
	if err != nil {
		return nil, storeError("user sessions", err)
	}
	out := make([]*oauthlogin.Session, 0, len(res)/5)
	for i := 0; i+4 < len(res); i += 5 {
		id, _ := res[i].(string)
		v, err := sessionFrom(id, res[i+1], res[i+2], res[i+3], res[i+4])
		if errors.Is(err, errOldPending) {
			continue
		}
		if err != nil {
			return nil, storeError("user sessions", err)
		}
		if now.Before(v.Expires) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *oauthlogin.Session) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

var deleteUserSessionsScript = redis.NewScript(`
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local k = ARGV[1] .. id
	if redis.call('HGET', k, 'u') == ARGV[2] then
		redis.call('DEL', k)
	end
end
redis.call('DEL', KEYS[1])
return 1
`)

// DeleteUserSessions implements oauthlogin.SessionStore: it removes every
// session of the user, and the user's index, in one script.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	err := deleteUserSessionsScript.Run(ctx, s.rdb, []string{s.userSessionsKey(userID)}, s.prefix+"s:", userID).Err()
	if err != nil {
		return storeError("delete user sessions", err)
	}
	return nil
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
