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
// Every script touches one key, so a record and its indexes may live on
// different nodes of a cluster. They are kept in step by order, not by
// one atomic write:
//
//   - SaveSession returns only once the record and its index entries are
//     written, so a session it saved is in its indexes.
//   - The indexes are hints: a reader takes a session from one only if
//     its record still names that user or provider session.
//   - An entry is removed only by its expiry, or by the call that ended
//     (or replaced) its record. A reader never removes an entry because
//     its record is missing: the record may be one that a SaveSession is
//     about to write, and that session must stay findable.
//
// An entry whose record never came (a SaveSession that failed halfway)
// stays until its expiry, and costs only its bytes.

// saveSessionScript writes a session record, replacing any record with
// its id, and returns the user and provider session index ("" for none)
// of the record it replaced.
var saveSessionScript = redis.NewScript(`
-- ARGV: 1 user, 2 record, 3 LastSeen, 4 Expires (ms), 5 tokens,
-- 6 their expiry, 7 login facts or '', 8 provider session index or ''.
local old = redis.call('HMGET', KEYS[1], 'u', 'p')
redis.call('DEL', KEYS[1])
local fields = {'u', ARGV[1], 'v', ARGV[2], 'l', ARGV[3], 't', ARGV[5], 'x', ARGV[6], 'e', ARGV[4]}
if ARGV[7] ~= '' then
	fields[#fields + 1] = 'f'
	fields[#fields + 1] = ARGV[7]
end
if ARGV[8] ~= '' then
	fields[#fields + 1] = 'p'
	fields[#fields + 1] = ARGV[8]
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return {old[1] or '', old[2] or ''}
`)

// indexScript adds a session to an index (a sorted set scored by expiry),
// drops the entries that have expired, and keeps the index alive as long
// as its longest-lived session. Expiry is judged by the server's clock,
// the one that expires the records: an app instance whose clock runs
// ahead must not drop the entry of a session that is still there.
var indexScript = redis.NewScript(`
-- ARGV: 1 session id, 2 its Expires (ms).
local exp = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if exp > now then
	redis.call('ZADD', KEYS[1], exp, ARGV[1])
	-- PTTL is -1 for a new index, without a TTL yet.
	if redis.call('PTTL', KEYS[1]) < exp - now then
		redis.call('PEXPIREAT', KEYS[1], exp)
	end
else
	redis.call('ZREM', KEYS[1], ARGV[1])
end
return 1
`)

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

// SaveSession implements oauthlogin.SessionStore: one round trip writes
// the record (one script: a concurrent Session sees the old record or the
// new one) and its index entries, the user's and, with a ProviderSID, the
// provider session's. The record expires at v.Expires; a session saved
// already expired is removed. A record that replaces one of another user
// or provider session then leaves that one's indexes.
func (s *Store) SaveSession(ctx context.Context, v *oauthlogin.Session) error {
	rest := *v // the tokens go to fields of their own
	rest.ProviderTokens, rest.ProviderAccessTokenExpiry = nil, time.Time{}
	exp := unixMilli(v.Expires)
	pkey := ""
	b := s.batch()
	b.run(ctx, indexScript, s.userSessionsKey(v.UserID), v.ID, exp)
	if v.ProviderSID != "" {
		pkey = s.providerSessionsKey(v.Provider, v.ProviderSID)
		b.run(ctx, indexScript, pkey, v.ID, exp)
	}
	saved := b.run(ctx, saveSessionScript, s.sessionKey(v.ID),
		v.UserID, encodeSession(&rest), encodeTime(v.LastSeen), exp,
		v.ProviderTokens, encodeTime(v.ProviderAccessTokenExpiry), encodeFacts(v), pkey)
	if err := b.exec(ctx); err != nil {
		return storeError("save session", err)
	}
	old, err := saved.StringSlice()
	if err != nil || len(old) != 2 {
		return storeError("save session", fmt.Errorf("the save script answered %v, %v", old, err))
	}
	movedUser, movedSID := old[0] != "" && old[0] != v.UserID, old[1] != "" && old[1] != pkey
	if !movedUser && !movedSID {
		return nil
	}
	b = s.batch()
	if movedUser {
		b.write(s.userSessionsKey(old[0]), func(p redis.Pipeliner) redis.Cmder { return p.ZRem(ctx, s.userSessionsKey(old[0]), v.ID) })
	}
	if movedSID {
		b.write(old[1], func(p redis.Pipeliner) redis.Cmder { return p.ZRem(ctx, old[1], v.ID) })
	}
	if err := b.exec(ctx); err != nil {
		return storeError("save session", err)
	}
	return nil
}

// endSessionScript deletes a session record if its field ARGV[1] (u or
// p) is ARGV[2], or whatever it holds when ARGV[1] is "". It returns the
// user and provider session index ("" for none) of the record it
// deleted, or nothing when it deleted none.
var endSessionScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'u', 'p')
if not r[1] then
	return {}
end
if (ARGV[1] == 'u' and r[1] ~= ARGV[2]) or (ARGV[1] == 'p' and r[2] ~= ARGV[2]) then
	return {}
end
redis.call('DEL', KEYS[1])
return {r[1], r[2] or ''}
`)

// DeleteSession implements oauthlogin.SessionStore: it removes the
// record, then its entries in its user's and provider session's indexes;
// a missing session is not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	ended, err := s.script(ctx, endSessionScript, s.sessionKey(id), "", "").StringSlice()
	if err != nil {
		return storeError("delete session", err)
	}
	b := s.batch()
	s.leaveIndexes(ctx, b, id, ended, "")
	if err := b.exec(ctx); err != nil {
		return storeError("delete session", err)
	}
	return nil
}

// leaveIndexes queues the removal of session id from the indexes that an
// endSessionScript answer names (none when it deleted nothing), but the
// one given (which the caller clears itself).
func (s *Store) leaveIndexes(ctx context.Context, b *batch, id string, ended []string, skip string) {
	if len(ended) != 2 {
		return
	}
	if k := s.userSessionsKey(ended[0]); k != skip {
		b.write(k, func(p redis.Pipeliner) redis.Cmder { return p.ZRem(ctx, k, id) })
	}
	if k := ended[1]; k != "" && k != skip {
		b.write(k, func(p redis.Pipeliner) redis.Cmder { return p.ZRem(ctx, k, id) })
	}
}

// setLiveScript sets fields of a session that exists and has not
// expired (its e field) by the server's clock nor by the caller's
// (ARGV[1], ms): 1; 0 otherwise. ARGV[2..] are field, value pairs. It
// never creates a key, and leaves the key's TTL, the other fields and the
// indexes as they are.
var setLiveScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
	return 0
end
local e = redis.call('HGET', KEYS[1], 'e')
if e then
	local t = redis.call('TIME')
	local now = math.max(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000), tonumber(ARGV[1]))
	if tonumber(e) <= now then
		return 0
	end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
`)

// setLive runs setLiveScript: ErrNotFound when the session is gone or
// expired.
func (s *Store) setLive(ctx context.Context, op, id string, fields ...any) error {
	n, err := s.script(ctx, setLiveScript, s.sessionKey(id), append([]any{s.now().UnixMilli()}, fields...)...).Int()
	if err != nil {
		return storeError(op, err)
	}
	if n == 0 {
		return oauthlogin.ErrNotFound
	}
	return nil
}

// TouchSession implements oauthlogin.SessionToucher: it writes LastSeen
// alone (a hash field of its own), so a concurrent SaveSession's tokens are
// never overwritten. A session that is gone or expired is ErrNotFound.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	return s.setLive(ctx, "touch session", id, "l", encodeTime(lastSeen))
}

// UpdateSessionTokens implements oauthlogin.SessionStore: one script
// checks that the session exists and has not expired, and writes the
// tokens fields alone; a session that is gone or expired is ErrNotFound
// and nothing is created. LastSeen and the rest of the record are other
// fields, so a concurrent TouchSession is never undone.
func (s *Store) UpdateSessionTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) error {
	return s.setLive(ctx, "update session tokens", id, "t", tokens, "x", encodeTime(expiry))
}

// indexMembersScript drops an index's expired entries (by the server's
// clock) and returns the others.
var indexMembersScript = redis.NewScript(`
local t = redis.call('TIME')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
return redis.call('ZRANGE', KEYS[1], 0, -1)
`)

// indexed returns the ids an index holds, its expired entries dropped.
func (s *Store) indexed(ctx context.Context, index string) ([]string, error) {
	return s.script(ctx, indexMembersScript, index).StringSlice()
}

// UserSessions implements oauthlogin.SessionLister: the user's unexpired
// sessions, oldest first (by Created, then ID), an empty slice for none.
// It reads the user's index, then the records it names, in one round
// trip each; a record that is gone or now another user's is skipped.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]*oauthlogin.Session, error) {
	ids, err := s.indexed(ctx, s.userSessionsKey(userID))
	if err != nil {
		return nil, storeError("user sessions", err)
	}
	b := s.batch()
	reads := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		key := s.sessionKey(id)
		b.read(key, func(p redis.Pipeliner) redis.Cmder {
			reads[i] = p.HMGet(ctx, key, "u", "v", "l", "t", "x", "f")
			return reads[i]
		})
	}
	if err := b.exec(ctx); err != nil {
		return nil, storeError("user sessions", err)
	}
	now := s.now()
	out := make([]*oauthlogin.Session, 0, len(ids))
	for i, id := range ids {
		r := reads[i].Val()
		if len(r) != 6 || r[0] != any(userID) {
			continue
		}
		v, err := sessionFrom(id, r[1], r[2], r[3], r[4], r[5])
		if errors.Is(err, errOldPending) || errors.Is(err, oauthlogin.ErrNotFound) {
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

// endIndexed ends the sessions an index holds whose field (u or p) is
// value: it reads the index, deletes those records (each with a script
// that checks the field), then removes them from this index and from
// their other one. Only ended sessions leave the index: an entry whose
// record is missing may be a session being saved (see above). A session
// saved before the call began is in the index, so it is ended.
func (s *Store) endIndexed(ctx context.Context, op, index, field, value string) error {
	ids, err := s.indexed(ctx, index)
	if err != nil {
		return storeError(op, err)
	}
	b := s.batch()
	calls := make([]*call, len(ids))
	for i, id := range ids {
		calls[i] = b.run(ctx, endSessionScript, s.sessionKey(id), field, value)
	}
	if err := b.exec(ctx); err != nil {
		return storeError(op, err)
	}
	b = s.batch()
	var ended []any
	for i, id := range ids {
		r, _ := calls[i].StringSlice()
		if len(r) == 2 {
			ended = append(ended, id)
			s.leaveIndexes(ctx, b, id, r, index)
		}
	}
	if len(ended) > 0 {
		b.write(index, func(p redis.Pipeliner) redis.Cmder { return p.ZRem(ctx, index, ended...) })
	}
	if err := b.exec(ctx); err != nil {
		return storeError(op, err)
	}
	return nil
}

// DeleteUserSessions implements oauthlogin.SessionStore: it removes every
// session of the user, with their index entries (see endIndexed).
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	return s.endIndexed(ctx, "delete user sessions", s.userSessionsKey(userID), "u", userID)
}

// DeleteProviderSessions implements oauthlogin.ProviderSessionDeleter: it
// removes every session of the provider session (provider, sid), pending
// records included, with their index entries (see endIndexed).
func (s *Store) DeleteProviderSessions(ctx context.Context, provider, sid string) error {
	key := s.providerSessionsKey(provider, sid)
	return s.endIndexed(ctx, "delete provider sessions", key, "p", key)
}
