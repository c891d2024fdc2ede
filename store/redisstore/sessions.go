package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/redis/go-redis/v9"
)

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
