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

// Sessions are hashes {u: user id, v: record, l: LastSeen, t: sealed
// provider tokens, x: their expiry, e: Expires in Unix milliseconds, and,
// when the login had them, f: its facts (ProviderSID, AuthTime, ACR) and
// p: the key of its provider session's index} that expire at
// Session.Expires. LastSeen and the tokens are fields of their own so that
// TouchSession and UpdateSessionTokens each write theirs alone, in one
// step. (A record written before t, x and e existed keeps its tokens in v;
// t and x, once written, take precedence. One written before f and p has
// no login facts and is in no provider session's index.) The user index
// is a sorted set of session ids scored by their expiry (milliseconds),
// itself expiring with its last session; so is the index of a provider
// session (provider, sid), which DeleteProviderSessions reads.
//
// The scripts that write or end sessions touch only keys given in KEYS,
// as Redis Cluster requires: a write that must leave indexes the script
// cannot know in advance (those of a record it replaces or ends) is told
// them by the caller, who read them first; the script checks that the
// record still names them, and otherwise asks the caller to read again.

// attempts bounds how often a write reads the indexes of records that
// changed between its read and its script. Each pass of
// DeleteUserSessions and DeleteProviderSessions ends every session it
// read, so only sessions saved during the call need another.
const attempts = 64

// errContention is a write that kept finding its records changed.
var errContention = errors.New("the records kept changing under the write")

var saveSessionScript = redis.NewScript(saveSessionLua)

const saveSessionLua = `
-- KEYS: the session, its user's index, its provider session's index (when
-- ARGV[10] is set), then the indexes of the record it replaces that the
-- new one is not in. ARGV: 1 user, 2 record, 3 LastSeen, 4 Expires (ms),
-- 5 id, 6 now (ms), 7 tokens, 8 their expiry, 9 login facts or '',
-- 10 provider session index or '', 11 the replaced record's user as the
-- caller read it, 12 the KEYS position of its index or 0, 13 the KEYS
-- position of the replaced record's provider session index or 0.
local old = redis.call('HMGET', KEYS[1], 'u', 'p')
if old[1] then
	if old[1] ~= ARGV[1] then
		local i = tonumber(ARGV[12])
		if i == 0 or old[1] ~= ARGV[11] then
			return -1
		end
		redis.call('ZREM', KEYS[i], ARGV[5])
	end
	local oldp = old[2] or ''
	if oldp ~= '' and oldp ~= ARGV[10] then
		local i = tonumber(ARGV[13])
		if i == 0 or KEYS[i] ~= oldp then
			return -1
		end
		redis.call('ZREM', KEYS[i], ARGV[5])
	end
	redis.call('DEL', KEYS[1])
end
local fields = {'u', ARGV[1], 'v', ARGV[2], 'l', ARGV[3], 't', ARGV[7], 'x', ARGV[8], 'e', ARGV[4]}
if ARGV[9] ~= '' then
	fields[#fields + 1] = 'f'
	fields[#fields + 1] = ARGV[9]
end
if ARGV[10] ~= '' then
	fields[#fields + 1] = 'p'
	fields[#fields + 1] = ARGV[10]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
local exp = tonumber(ARGV[4])
local now = tonumber(ARGV[6])
local function index(k)
	redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
	if exp > now then
		redis.call('ZADD', k, exp, ARGV[5])
		-- The index lives as long as its longest-lived session (PTTL is
		-- -1 for a new index, without a TTL yet).
		if redis.call('PTTL', k) < exp - now then
			redis.call('PEXPIREAT', k, exp)
		end
	else
		redis.call('ZREM', k, ARGV[5])
	end
end
index(KEYS[2])
if ARGV[10] ~= '' then
	index(KEYS[3])
end
return 1
`

// Session implements oauthlogin.SessionStore: a session that does not
// exist or whose Expires has passed (by this process's clock; Redis also
// drops the record at Expires) is (nil, ErrNotFound); the caller owns the
// result.
func (s *Store) Session(ctx context.Context, id string) (*oauthlogin.Session, error) {
	// Do with constant field names, not HMGet: HMGet boxes each name (an
	// allocation apiece) on the path of every authenticated request.
	vals, err := s.rdb.Do(ctx, "HMGET", s.sessionKey(id), "v", "l", "t", "x", "f").Slice()
	if err != nil {
		return nil, storeError("get session", err)
	}
	if len(vals) != 5 {
		return nil, storeError("get session", fmt.Errorf("HMGET answered %d values for 5 fields", len(vals)))
	}
	v, err := sessionFrom(id, vals[0], vals[1], vals[2], vals[3], vals[4])
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

// sessionFrom decodes the v, l, t, x and f fields of a session hash; a
// missing record is ErrNotFound.
func sessionFrom(id string, data, seen, tokens, expiry, facts any) (*oauthlogin.Session, error) {
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
	if f, _ := facts.(string); f != "" {
		if err := decodeFacts(f, v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// SaveSession implements oauthlogin.SessionStore: one script writes the
// record and its index entries (the user's and, with a ProviderSID, the
// provider session's). The record expires at v.Expires; a session saved
// already expired is removed. A record that replaces one of another user
// or provider session leaves that one's indexes (read first, then
// declared to the script).
func (s *Store) SaveSession(ctx context.Context, v *oauthlogin.Session) error {
	rest := *v // the tokens go to fields of their own
	rest.ProviderTokens, rest.ProviderAccessTokenExpiry = nil, time.Time{}
	record, facts := encodeSession(&rest), encodeFacts(v)
	keys := []string{s.sessionKey(v.ID), s.userSessionsKey(v.UserID)}
	pkey := ""
	if v.ProviderSID != "" {
		pkey = s.providerSessionsKey(v.Provider, v.ProviderSID)
		keys = append(keys, pkey)
	}
	base := len(keys)
	oldUser, oldUserAt, oldPAt := "", 0, 0
	for range attempts {
		n, err := saveSessionScript.Run(ctx, s.rdb, keys,
			v.UserID, record, encodeTime(v.LastSeen), unixMilli(v.Expires), v.ID, s.now().UnixMilli(),
			v.ProviderTokens, encodeTime(v.ProviderAccessTokenExpiry), facts, pkey,
			oldUser, oldUserAt, oldPAt).Int()
		if err != nil {
			return storeError("save session", err)
		}
		if n == 1 {
			return nil
		}
		// It replaces a record in other indexes: declare them.
		_, u, p, err := s.sessionIndexes(ctx, v.ID)
		if err != nil {
			return storeError("save session", err)
		}
		keys, oldUser, oldUserAt, oldPAt = keys[:base], u, 0, 0
		if u != v.UserID {
			keys = append(keys, s.userSessionsKey(u))
			oldUserAt = len(keys)
		}
		if p != "" && p != pkey {
			keys = append(keys, p)
			oldPAt = len(keys)
		}
	}
	return storeError("save session", errContention)
}

// sessionIndexes reads which indexes a session is in: its user's, and
// the key of its provider session's index ("" for none).
func (s *Store) sessionIndexes(ctx context.Context, id string) (found bool, user, pkey string, err error) {
	vals, err := s.rdb.HMGet(ctx, s.sessionKey(id), "u", "p").Result()
	if err != nil {
		return false, "", "", err
	}
	user, found = vals[0].(string)
	pkey, _ = vals[1].(string)
	return found, user, pkey, nil
}

var deleteSessionScript = redis.NewScript(deleteSessionLua)

const deleteSessionLua = `
-- KEYS: the session, its user's index, its provider session's index (when
-- ARGV[3] is set). ARGV: 1 id, 2 the user and 3 the provider session index
-- ('' for none) as the caller read them.
local r = redis.call('HMGET', KEYS[1], 'u', 'p')
if not r[1] then
	return 1
end
if r[1] ~= ARGV[2] or (r[2] or '') ~= ARGV[3] then
	return -1
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[3] ~= '' then
	redis.call('ZREM', KEYS[3], ARGV[1])
end
return 1
`

// DeleteSession implements oauthlogin.SessionStore: it reads which
// indexes the session is in, then removes it and its entries in them in
// one script; a missing session is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	for range attempts {
		found, u, p, err := s.sessionIndexes(ctx, id)
		if err != nil {
			return storeError("delete session", err)
		}
		if !found {
			return nil
		}
		keys := []string{s.sessionKey(id), s.userSessionsKey(u)}
		if p != "" {
			keys = append(keys, p)
		}
		n, err := deleteSessionScript.Run(ctx, s.rdb, keys, id, u, p).Int()
		if err != nil {
			return storeError("delete session", err)
		}
		if n == 1 {
			return nil
		}
	}
	return storeError("delete session", errContention)
}

var touchSessionScript = redis.NewScript(touchSessionLua)

const touchSessionLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
redis.call('HSET', KEYS[1], 'l', ARGV[1])
return 1
`

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
var updateSessionTokensScript = redis.NewScript(updateSessionTokensLua)

const updateSessionTokensLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
local e = redis.call('HGET', KEYS[1], 'e')
if e and tonumber(e) <= tonumber(ARGV[3]) then
	return 0
end
redis.call('HSET', KEYS[1], 't', ARGV[1], 'x', ARGV[2])
return 1
`

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
// session is gone) and returns id, record, LastSeen, tokens, token
// expiry, login facts sextuples.
var userSessionsScript = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local r = redis.call('HMGET', ARGV[1] .. id, 'u', 'v', 'l', 't', 'x', 'f')
	if r[1] == ARGV[3] and r[2] then
		out[#out + 1] = id
		out[#out + 1] = r[2]
		out[#out + 1] = r[3]
		out[#out + 1] = r[4]
		out[#out + 1] = r[5]
		out[#out + 1] = r[6]
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
	out := make([]*oauthlogin.Session, 0, len(res)/6)
	for i := 0; i+5 < len(res); i += 6 {
		id, _ := res[i].(string)
		v, err := sessionFrom(id, res[i+1], res[i+2], res[i+3], res[i+4], res[i+5])
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

// endIndexedScript ends the sessions of one index: a user's (ARGV[1]
// 'u': its sessions have u = ARGV[2]) or a provider session's ('p': they
// have p = KEYS[1]). KEYS[1] is the index; KEYS[2..n+1] the n = ARGV[3]
// sessions that the caller found in it, then the other indexes they are
// in (for a user's session its provider session's, and the reverse).
// Session i is ARGV[3+i]; ARGV[3+n+i] is the KEYS position of its other
// index (0 for none) and ARGV[3+2n+i] that index's field (p or u) as the
// caller read it. The script ends each of those sessions that still says
// so, drops entries whose session is gone or not the index's, and returns
// the ids it could not end (new in the index, or changed since the read):
// the caller reads those and calls again. None left: the index is
// deleted.
var endIndexedScript = redis.NewScript(endIndexedLua)

const endIndexedLua = `
local n = tonumber(ARGV[3])
local known = {}
for i = 1, n do
	known[ARGV[3 + i]] = i
end
local left = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	local i = known[id]
	local ended = false
	if i then
		local r = redis.call('HMGET', KEYS[1 + i], 'u', 'p')
		local mine
		local other
		if ARGV[1] == 'u' then
			mine, other = r[1] == ARGV[2], r[2] or ''
		else
			mine, other = r[2] == KEYS[1], r[1] or ''
		end
		if not mine then
			redis.call('ZREM', KEYS[1], id)
			ended = true
		elseif other == ARGV[3 + 2 * n + i] then
			redis.call('DEL', KEYS[1 + i])
			local j = tonumber(ARGV[3 + n + i])
			if j > 0 then
				redis.call('ZREM', KEYS[j], id)
			end
			redis.call('ZREM', KEYS[1], id)
			ended = true
		end
	end
	if not ended then
		left[#left + 1] = id
	end
end
if #left == 0 then
	redis.call('DEL', KEYS[1])
end
return left
`

// endIndexed ends every session in an index (see endIndexedScript): the
// first pass reads its members, each later one the indexes of the
// sessions left, pipelined, and ends them. A session saved into the index
// during the call may need another pass.
func (s *Store) endIndexed(ctx context.Context, op, index, mode, user string) error {
	var ids []string
	for range attempts {
		keys := make([]string, 1, 1+2*len(ids))
		keys[0] = index
		args := make([]any, 3, 3+3*len(ids))
		args[0], args[1], args[2] = mode, user, len(ids)
		if len(ids) > 0 {
			cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, id := range ids {
					p.HMGet(ctx, s.sessionKey(id), "u", "p")
				}
				return nil
			})
			if err != nil {
				return storeError(op, err)
			}
			for _, id := range ids {
				keys = append(keys, s.sessionKey(id)) // KEYS[2..n+1]
			}
			at := map[string]int{} // other index key -> its KEYS position
			pos := make([]any, len(ids))
			read := make([]any, len(ids))
			for i := range ids {
				vals := cmds[i].(*redis.SliceCmd).Val()
				u, found := vals[0].(string)
				p, _ := vals[1].(string)
				other, otherKey := p, p
				if mode == "p" {
					other, otherKey = u, ""
					if found {
						otherKey = s.userSessionsKey(u)
					}
				}
				read[i], pos[i] = other, 0
				if otherKey != "" {
					j, ok := at[otherKey]
					if !ok {
						keys = append(keys, otherKey)
						j = len(keys)
						at[otherKey] = j
					}
					pos[i] = j
				}
			}
			for _, id := range ids {
				args = append(args, id)
			}
			args = append(args, pos...)
			args = append(args, read...)
		}
		left, err := endIndexedScript.Run(ctx, s.rdb, keys, args...).StringSlice()
		if err != nil {
			return storeError(op, err)
		}
		if len(left) == 0 {
			return nil
		}
		ids = left
	}
	return storeError(op, errContention)
}

// DeleteUserSessions implements oauthlogin.SessionStore: it removes every
// session of the user, with their provider sessions' index entries, and
// the user's index (see endIndexed).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	return s.endIndexed(ctx, "delete user sessions", s.userSessionsKey(userID), "u", userID)
}

// DeleteProviderSessions implements oauthlogin.ProviderSessionDeleter: it
// removes every session of the provider session (provider, sid), pending
// records included, with their user index entries, and the provider
// session's index (see endIndexed).
func (s *Store) DeleteProviderSessions(ctx context.Context, provider, sid string) error {
	return s.endIndexed(ctx, "delete provider sessions", s.providerSessionsKey(provider, sid), "p", "")
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
