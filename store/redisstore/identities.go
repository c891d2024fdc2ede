package redisstore

import (
	"context"
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

// Identities are hashes {u: user id, a: account key, e: email key or "",
// f: fixed record, m: mutable record, and s: "c" while the identity is
// being created}. Their indexes are the account key (a string: the claim
// of the provider account (issuer, subject), naming the identity and its
// user) and sets of ids per user and per verified email.
//
// Every script touches one key, so the claim, the record and the sets may
// live on different nodes of a cluster. Creation is ordered so that an
// identity becomes visible only when it is complete:
//
//  1. the claim is taken with a lease (SET NX PX), and the record written
//     with s = "c", expiring with the lease;
//  2. the identity joins its user's and its email's sets, and the claim
//     is made permanent;
//  3. the record loses s and its expiry: the identity exists.
//
// An identity is live when its record has no s and its user's set holds
// it; readers return only live identities that their index still names.
// A creation that stops halfway (a crash, the store failing) leaves a
// claim and a record that expire with the lease, or a permanent claim
// whose record is gone, which the next creator of that account takes
// over. Deletion removes the identity from its user's set first (the
// step that checks that it is not the user's last), then the record and
// the claim; one that stops after the first step leaves a record that no
// reader returns, and the next login of that account, or a retried
// DeleteIdentity, finishes it.
//
// Claims written before this layout hold the bare identity id; they are
// read as before.

// claimLease bounds how long a creation that stopped halfway keeps its
// provider account claimed.
const claimLease = 15 * time.Second

// claimValue is what the account key holds: a nonce of the claim, then
// the identity and its user. Each attempt of a creation claims with a
// nonce of its own, so a claim observed once is never mistaken for a
// later one of the same creator: a release of the first (compare and
// delete) leaves the second alone.
func claimValue(id, user, nonce string) string {
	return "\x01" + nonce + claimBody(id, user)
}

// claimBody is the part of a claim that names the identity and its user.
func claimBody(id, user string) string {
	return strconv.Itoa(len(id)) + ":" + id + user
}

// claimNonceLen is the length of a claim's nonce (hex).
const claimNonceLen = 16

// newNonce returns a claim's nonce.
func newNonce() string { return newToken()[:claimNonceLen] }

// parseClaim reads a claim; one from before claims named the user (the
// bare identity id) gives "" for it.
func parseClaim(v string) (id, user string) {
	rest, ok := strings.CutPrefix(v, "\x01")
	if !ok {
		return v, ""
	}
	if len(rest) < claimNonceLen {
		return "", ""
	}
	n, rest, ok := strings.Cut(rest[claimNonceLen:], ":")
	l, err := strconv.Atoi(n)
	if !ok || err != nil || l < 0 || l > len(rest) {
		return "", ""
	}
	return rest[:l], rest[l:]
}

// claimScript claims a provider account for ARGV[1] for ARGV[2] ms, and
// answers {1}; a claim it holds already (a retried call) is {1} too. Held
// by another, it answers {0, holder, PTTL}.
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
	redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
	return {1}
end
if v == ARGV[1] then
	return {1}
end
return {0, v, redis.call('PTTL', KEYS[1])}
`)

// createRecordScript writes a new identity record, being created (s =
// "c") and expiring in ARGV[6] ms: 1, or 0 when the id is in use (by
// another record than this very creation's).
var createRecordScript = redis.NewScript(`
-- ARGV: 1 user, 2 account key, 3 email key, 4 fixed, 5 mutable, 6 lease (ms).
local r = redis.call('HMGET', KEYS[1], 'u', 'a', 's')
if r[1] then
	if r[1] == ARGV[1] and r[2] == ARGV[2] and r[3] == 'c' then
		return 1
	end
	return 0
end
redis.call('HSET', KEYS[1], 'u', ARGV[1], 'a', ARGV[2], 'e', ARGV[3], 'f', ARGV[4], 'm', ARGV[5], 's', 'c')
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1
`)

// keepClaimScript makes the claim ARGV[1] permanent: 1; a lapsed claim
// that nobody took is taken again. Taken by another: 0.
var keepClaimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then
	redis.call('PERSIST', KEYS[1])
	return 1
end
if not v then
	redis.call('SET', KEYS[1], ARGV[1])
	return 1
end
return 0
`)

// commitScript ends the creation of an identity record: 1, or 0 when the
// record expired first.
var commitScript = redis.NewScript(`
local s = redis.call('HGET', KEYS[1], 's')
if s == 'c' then
	redis.call('HDEL', KEYS[1], 's')
	redis.call('PERSIST', KEYS[1])
	return 1
end
if s == false and redis.call('EXISTS', KEYS[1]) == 1 then
	return 1
end
return 0
`)

// releaseScript deletes a claim that is exactly ARGV[1], or whose body
// (past the mark and the nonce) is ARGV[2], or that is the bare identity
// id ARGV[3] (a claim from before claims named the user); an empty one matches
// nothing.
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
	return 0
end
if v == ARGV[1] or v == ARGV[3] or (ARGV[2] ~= '' and string.byte(v, 1) == 1 and string.sub(v, 18) == ARGV[2]) then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// dropRecordScript deletes an identity record of user ARGV[1] whose
// creation state is ARGV[2] ('c', or "" for a complete one).
var dropRecordScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'u', 's')
if r[1] == ARGV[1] and (r[2] or '') == ARGV[2] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// CreateIdentity implements oauthlogin.IdentityStore. The account is
// claimed with SET NX: of concurrent creators of one provider account,
// exactly one succeeds, and the others wait until its identity is
// complete before they answer ErrIdentityExists. An ID already in use is
// ErrIdentityExists too.
func (s *Store) CreateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	akey, ikey, ekey := s.accountKey(v.Issuer, v.ProviderUID), s.identityKey(v.ID), s.emailKey(v.VerifiedEmail)
	lease := s.lease.Milliseconds()
	fixed, mutable := encodeIdentityFixed(v), encodeIdentityMutable(v)
	wait := newBackoff(time.Now().Add(s.lease + time.Second))
	for changes := 0; changes < 64; {
		claim := claimValue(v.ID, v.UserID, newNonce())
		b := s.batch()
		claimed := b.run(ctx, claimScript, akey, claim, lease)
		created := b.run(ctx, createRecordScript, ikey, v.UserID, akey, ekey, fixed, mutable, lease)
		if err := b.exec(ctx); err != nil {
			return storeError("create identity", err)
		}
		held, err := claimed.Slice()
		if err != nil || len(held) == 0 {
			return storeError("create identity", fmt.Errorf("the claim script answered %v, %v", held, err))
		}
		fresh := created.Val() == int64(1)
		if held[0] != int64(1) {
			if fresh {
				if err := s.script(ctx, dropRecordScript, ikey, v.UserID, "c").Err(); err != nil {
					return storeError("create identity", err)
				}
			}
			holder, _ := held[1].(string)
			pttl, _ := held[2].(int64)
			waited, err := s.settleClaim(ctx, akey, holder, pttl, wait)
			if err != nil {
				return err
			}
			if !waited {
				changes++
			}
			continue
		}
		if !fresh {
			if err := s.script(ctx, releaseScript, akey, claim, "", "").Err(); err != nil {
				return storeError("create identity", err)
			}
			return oauthlogin.ErrIdentityExists
		}
		done, err := s.finishCreate(ctx, v, akey, ikey, ekey, claim)
		if done || err != nil {
			return err
		}
		changes++
	}
	return storeError("create identity", errors.New("the provider account's claim kept changing"))
}

// finishCreate runs steps 2 and 3 of a creation whose claim and record
// are written. Not done (and no error): the claim or the record lapsed
// meanwhile and the caller starts again.
func (s *Store) finishCreate(ctx context.Context, v *oauthlogin.Identity, akey, ikey, ekey, claim string) (done bool, err error) {
	b := s.batch()
	b.write(s.userIdentitiesKey(v.UserID), func(p redis.Pipeliner) redis.Cmder { return p.SAdd(ctx, s.userIdentitiesKey(v.UserID), v.ID) })
	if ekey != "" {
		b.write(ekey, func(p redis.Pipeliner) redis.Cmder { return p.SAdd(ctx, ekey, v.ID) })
	}
	kept := b.run(ctx, keepClaimScript, akey, claim)
	if err := b.exec(ctx); err != nil {
		return false, storeError("create identity", err)
	}
	if kept.Val() != int64(1) {
		// Another creator took the account after the lease lapsed.
		return false, s.abandon(ctx, v, ikey, ekey)
	}
	n, err := s.script(ctx, commitScript, ikey).Int()
	if err != nil {
		return false, storeError("create identity", err)
	}
	return n == 1, nil
}

// abandon undoes a creation's record and set entries.
func (s *Store) abandon(ctx context.Context, v *oauthlogin.Identity, ikey, ekey string) error {
	b := s.batch()
	b.run(ctx, dropRecordScript, ikey, v.UserID, "c")
	b.write(s.userIdentitiesKey(v.UserID), func(p redis.Pipeliner) redis.Cmder { return p.SRem(ctx, s.userIdentitiesKey(v.UserID), v.ID) })
	if ekey != "" {
		b.write(ekey, func(p redis.Pipeliner) redis.Cmder { return p.SRem(ctx, ekey, v.ID) })
	}
	if err := b.exec(ctx); err != nil {
		return storeError("create identity", err)
	}
	return nil
}

// settleClaim deals with a provider account claimed by holder: it
// answers ErrIdentityExists once holder's identity is live; it waits
// while that identity is being created; it clears a claim left by a
// creation or a deletion that stopped halfway. A nil error: claim again
// (after a pause if waited).
func (s *Store) settleClaim(ctx context.Context, akey, holder string, pttl int64, wait *backoff) (waited bool, err error) {
	id, user := parseClaim(holder)
	if id == "" {
		// Unreadable: treat as a claim whose record is gone.
		return false, s.release(ctx, akey, holder)
	}
	rec, err := s.rdb.HMGet(ctx, s.identityKey(id), "u", "a", "s", "e").Result()
	if err != nil {
		return false, storeError("create identity", err)
	}
	u, found := rec[0].(string)
	creating := rec[2] != nil
	switch {
	case !found && pttl > 0, found && creating:
		// Being created (or a crashed creation, until the lease ends).
		return true, wait.sleep(ctx)
	case !found, rec[1] != any(akey), user != "" && u != user:
		return false, s.release(ctx, akey, holder)
	}
	member, err := s.rdb.SIsMember(ctx, s.userIdentitiesKey(u), id).Result()
	if err != nil {
		return false, storeError("create identity", err)
	}
	if member {
		return false, oauthlogin.ErrIdentityExists
	}
	// Unlinked halfway: finish the deletion.
	e, _ := rec[3].(string)
	return false, s.dropIdentity(ctx, u, id, akey, e)
}

// release clears a claim that is still holder.
func (s *Store) release(ctx context.Context, akey, holder string) error {
	if err := s.script(ctx, releaseScript, akey, holder, "", "").Err(); err != nil {
		return storeError("create identity", err)
	}
	return nil
}

// updateIdentityScript replaces the mutable record of a complete
// identity and returns the email key it had and its user; false for none.
var updateIdentityScript = redis.NewScript(`
local r = redis.call('HMGET', KEYS[1], 'e', 's', 'u')
if not r[1] or r[2] then
	return false
end
redis.call('HSET', KEYS[1], 'm', ARGV[1], 'e', ARGV[2])
return {r[1], r[3]}
`)

// UpdateIdentity implements oauthlogin.IdentityStore. It replaces only
// the mutable record (emails, tokens, expiry, Updated) of a complete
// identity that its user's set holds (ErrNotFound otherwise), so Issuer, Provider, ProviderUID, UserID and Created cannot
// change. In the same round trip the identity joins its verified email's
// set (again, if it is there already: an update stopped halfway is
// finished by the next); if the email changed, it leaves the old one's.
func (s *Store) UpdateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	ekey := s.emailKey(v.VerifiedEmail)
	b := s.batch()
	updated := b.run(ctx, updateIdentityScript, s.identityKey(v.ID), encodeIdentityMutable(v), ekey)
	if ekey != "" {
		b.write(ekey, func(p redis.Pipeliner) redis.Cmder { return p.SAdd(ctx, ekey, v.ID) })
	}
	var member *redis.BoolCmd
	ukey := s.userIdentitiesKey(v.UserID)
	b.read(ukey, func(p redis.Pipeliner) redis.Cmder {
		member = p.SIsMember(ctx, ukey, v.ID)
		return member
	})
	if err := b.exec(ctx); err != nil {
		return storeError("update identity", err)
	}
	res, err := updated.StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return storeError("update identity", err)
	}
	if err == nil && len(res) == 2 && res[1] != v.UserID {
		// v's UserID is not the stored one (it cannot change): ask the
		// stored user's set.
		member = s.rdb.SIsMember(ctx, s.userIdentitiesKey(res[1]), v.ID)
		if err := member.Err(); err != nil {
			return storeError("update identity", err)
		}
	}
	if err != nil || len(res) != 2 || !member.Val() {
		// Gone, being created, or unlinked (its user's set no longer
		// holds it): no identity to update. The email set's entry, if
		// new, is skipped by readers (they check the record).
		return oauthlogin.ErrNotFound
	}
	old := res[0]
	if old == ekey || old == "" {
		return nil
	}
	b = s.batch()
	b.write(old, func(p redis.Pipeliner) redis.Cmder { return p.SRem(ctx, old, v.ID) })
	if err := b.exec(ctx); err != nil {
		return storeError("update identity", err)
	}
	return nil
}

// Identity implements oauthlogin.IdentityStore: the identity of the
// provider account (issuer, subject), or (nil, ErrNotFound). It reads the
// account's claim, then the record it names and its user's set: two round
// trips, or one when the claim is the one this Store read last time for
// the account, whose record and set are read beside it. The remembered
// claim is a guess only: read in the same round trip, and unless it is
// still the value remembered, the answer is thrown away and read again
// the long way.
func (s *Store) Identity(ctx context.Context, issuer, subject string) (*oauthlogin.Identity, error) {
	akey := s.accountKey(issuer, subject)
	if guess, ok := s.claims.Get(akey); ok {
		claim, v, err := s.readIdentity(ctx, akey, guess, true)
		if err != nil || claim == guess {
			return v, err
		}
		// The claim changed since: read what it names now.
		s.claims.Forget(akey)
		if claim == "" {
			return nil, oauthlogin.ErrNotFound
		}
		_, v, err = s.readIdentity(ctx, akey, claim, false)
		return v, err
	}
	claim, err := s.rdb.Get(ctx, akey).Result()
	if errors.Is(err, redis.Nil) {
		return nil, oauthlogin.ErrNotFound
	}
	if err != nil {
		return nil, storeError("get identity", err)
	}
	_, v, err := s.readIdentity(ctx, akey, claim, false)
	return v, err
}

// readIdentity reads the record that claim (the account akey's) names and
// its user's set; with withClaim, the claim too, in the same round trip,
// and then the identity only when the claim read is still claim (the
// claim read, "" for none, is returned either way). An identity found by
// a claim read is remembered for the next call.
func (s *Store) readIdentity(ctx context.Context, akey, claim string, withClaim bool) (string, *oauthlogin.Identity, error) {
	id, user := parseClaim(claim)
	b := s.batch()
	var (
		current *redis.StringCmd
		rec     *redis.SliceCmd
		member  *redis.BoolCmd
	)
	if withClaim {
		b.read(akey, func(p redis.Pipeliner) redis.Cmder {
			current = p.Get(ctx, akey)
			return current
		})
	}
	ikey := s.identityKey(id)
	b.read(ikey, func(p redis.Pipeliner) redis.Cmder {
		rec = p.HMGet(ctx, ikey, "u", "a", "s", "f", "m")
		return rec
	})
	if user != "" {
		ukey := s.userIdentitiesKey(user)
		b.read(ukey, func(p redis.Pipeliner) redis.Cmder {
			member = p.SIsMember(ctx, ukey, id)
			return member
		})
	}
	if err := b.exec(ctx); err != nil {
		return "", nil, storeError("get identity", err)
	}
	if withClaim {
		got, err := current.Result()
		if errors.Is(err, redis.Nil) {
			return "", nil, nil
		}
		if err != nil {
			return "", nil, storeError("get identity", err)
		}
		if got != claim {
			return got, nil, nil
		}
	}
	r := rec.Val()
	u, _ := r[0].(string)
	if u == "" || r[1] != any(akey) || r[2] != nil || (user != "" && u != user) {
		return claim, nil, oauthlogin.ErrNotFound
	}
	if member == nil { // a claim from before claims named the user
		member = s.rdb.SIsMember(ctx, s.userIdentitiesKey(u), id)
	}
	if ok, err := member.Result(); err != nil {
		return claim, nil, storeError("get identity", err)
	} else if !ok {
		return claim, nil, oauthlogin.ErrNotFound
	}
	v, err := decodeIdentityFields(id, r[3], r[4])
	if err != nil {
		return claim, nil, storeError("get identity", err)
	}
	s.claims.Put(akey, claim)
	return claim, v, nil
}

// decodeIdentityFields decodes the f and m fields of an identity hash.
func decodeIdentityFields(id string, fixed, mutable any) (*oauthlogin.Identity, error) {
	f, _ := fixed.(string)
	m, _ := mutable.(string)
	return decodeIdentity(id, f, m)
}

// sortIdentities orders identities oldest first (by Created, then ID).
func sortIdentities(list []*oauthlogin.Identity) {
	slices.SortFunc(list, func(a, b *oauthlogin.Identity) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// records reads the listed fields of the identity records of ids, in one
// round trip.
func (s *Store) records(ctx context.Context, ids []string, fields ...string) ([][]any, error) {
	b := s.batch()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		key := s.identityKey(id)
		b.read(key, func(p redis.Pipeliner) redis.Cmder {
			cmds[i] = p.HMGet(ctx, key, fields...)
			return cmds[i]
		})
	}
	if err := b.exec(ctx); err != nil {
		return nil, err
	}
	out := make([][]any, len(ids))
	for i, c := range cmds {
		out[i] = c.Val()
	}
	return out, nil
}

// UserIdentities implements oauthlogin.IdentityStore: the user's
// identities, oldest first (by Created, then ID); an empty slice for none.
func (s *Store) UserIdentities(ctx context.Context, userID string) ([]*oauthlogin.Identity, error) {
	ids, err := s.rdb.SMembers(ctx, s.userIdentitiesKey(userID)).Result()
	if err != nil {
		return nil, storeError("user identities", err)
	}
	recs, err := s.records(ctx, ids, "u", "s", "f", "m")
	if err != nil {
		return nil, storeError("user identities", err)
	}
	out := make([]*oauthlogin.Identity, 0, len(ids))
	for i, r := range recs {
		if r[0] != any(userID) || r[1] != nil {
			continue
		}
		v, err := decodeIdentityFields(ids[i], r[2], r[3])
		if err != nil {
			return nil, storeError("user identities", err)
		}
		out = append(out, v)
	}
	sortIdentities(out)
	return out, nil
}

// IdentitiesByEmail implements oauthlogin.IdentityStore: the identities
// whose VerifiedEmail is exactly email, oldest first; an empty slice for
// none (and for ""). It reads the email's set, the records it names, and
// whether their users' sets hold them.
func (s *Store) IdentitiesByEmail(ctx context.Context, email string) ([]*oauthlogin.Identity, error) {
	if email == "" {
		return []*oauthlogin.Identity{}, nil
	}
	ekey := s.emailKey(email)
	ids, err := s.rdb.SMembers(ctx, ekey).Result()
	if err != nil {
		return nil, storeError("identities by email", err)
	}
	recs, err := s.records(ctx, ids, "u", "s", "e", "f", "m")
	if err != nil {
		return nil, storeError("identities by email", err)
	}
	b := s.batch()
	var found []*oauthlogin.Identity
	var members []*redis.BoolCmd
	for i, r := range recs {
		u, _ := r[0].(string)
		if u == "" || r[1] != nil || r[2] != any(ekey) {
			continue
		}
		v, err := decodeIdentityFields(ids[i], r[3], r[4])
		if err != nil {
			return nil, storeError("identities by email", err)
		}
		found = append(found, v)
		j, key, id := len(members), s.userIdentitiesKey(u), ids[i]
		members = append(members, nil)
		b.read(key, func(p redis.Pipeliner) redis.Cmder {
			members[j] = p.SIsMember(ctx, key, id)
			return members[j]
		})
	}
	if err := b.exec(ctx); err != nil {
		return nil, storeError("identities by email", err)
	}
	out := make([]*oauthlogin.Identity, 0, len(found))
	for i, v := range found {
		if members[i].Val() {
			out = append(out, v)
		}
	}
	sortIdentities(out)
	return out, nil
}

// unlinkScript removes identity ARGV[1] from its user's set if another of
// ARGV[2..] is still in it: 1; 0 when ARGV[1] is not in it; -1 when it is
// the last.
var unlinkScript = redis.NewScript(`
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
	return 0
end
for i = 2, #ARGV do
	if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then
		redis.call('SREM', KEYS[1], ARGV[1])
		return 1
	end
end
return -1
`)

// DeleteIdentity implements oauthlogin.IdentityStore. The ownership check
// and the last-identity check are one script on the user's set, given the
// user's other identities that can sign in (read first: complete, in the
// set, and named by their account's claim): of concurrent deletes of a
// user's last two identities, one succeeds. Once that script has removed
// the identity from the set it no longer signs in, and DeleteIdentity
// succeeds; the record, the claim and the email entry go next, and what a
// failure there leaves is removed by the account's next login.
func (s *Store) DeleteIdentity(ctx context.Context, userID, id string) error {
	ids, err := s.rdb.SMembers(ctx, s.userIdentitiesKey(userID)).Result()
	if err != nil {
		return storeError("delete identity", err)
	}
	if !slices.Contains(ids, id) {
		ids = append(ids, id)
	}
	recs, err := s.records(ctx, ids, "u", "s", "a", "e")
	if err != nil {
		return storeError("delete identity", err)
	}
	var target []any
	var others []string
	var claims []*redis.StringCmd
	b := s.batch()
	for i, r := range recs {
		switch {
		case r[0] != any(userID) || r[1] != nil:
		case ids[i] == id:
			target = r
		default:
			akey, _ := r[2].(string)
			j := len(claims)
			others, claims = append(others, ids[i]), append(claims, nil)
			b.read(akey, func(p redis.Pipeliner) redis.Cmder {
				claims[j] = p.Get(ctx, akey)
				return claims[j]
			})
		}
	}
	if target == nil {
		return oauthlogin.ErrNotFound
	}
	if err := b.exec(ctx); err != nil {
		return storeError("delete identity", err)
	}
	args := []any{id}
	for j, other := range others {
		if claimed, _ := parseClaim(claims[j].Val()); claimed == other {
			args = append(args, other)
		}
	}
	n, err := s.script(ctx, unlinkScript, s.userIdentitiesKey(userID), args...).Int()
	if err != nil {
		return storeError("delete identity", err)
	}
	akey, _ := target[2].(string)
	ekey, _ := target[3].(string)
	if n == -1 {
		return oauthlogin.ErrLastIdentity
	}
	// 1, or 0: no longer in the set, but still the user's record (a
	// delete that stopped halfway, or whose answer was lost): this one
	// finishes it. The identity signs in no more either way; what fails
	// below, the account's next login removes.
	_ = s.dropIdentity(ctx, userID, id, akey, ekey)
	return nil
}

// dropIdentity deletes an identity that its user's set no longer holds:
// its record, its claim and its email entry.
func (s *Store) dropIdentity(ctx context.Context, userID, id, akey, ekey string) error {
	b := s.batch()
	b.run(ctx, dropRecordScript, s.identityKey(id), userID, "")
	if akey != "" {
		b.run(ctx, releaseScript, akey, "", claimBody(id, userID), id)
	}
	if ekey != "" {
		b.write(ekey, func(p redis.Pipeliner) redis.Cmder { return p.SRem(ctx, ekey, id) })
	}
	if err := b.exec(ctx); err != nil {
		return storeError("delete identity", err)
	}
	return nil
}

// backoff is the pause between polls of a claim being settled: jittered,
// growing from 2 ms to 100 ms, and no longer than until a deadline.
type backoff struct {
	next  time.Duration
	until time.Time
}

func newBackoff(until time.Time) *backoff {
	return &backoff{next: 2 * time.Millisecond, until: until}
}

// errClaimHeld is a provider account claimed for longer than a lease.
var errClaimHeld = errors.New("the provider account stayed claimed by an unfinished creation")

// sleep pauses for a random time up to the current bound (at least half
// of it), then doubles the bound; ctx's end cuts it short with ctx's
// error. Past the deadline it fails.
func (w *backoff) sleep(ctx context.Context) error {
	if time.Now().After(w.until) {
		return storeError("create identity", errClaimHeld)
	}
	d := lockpoll.Jitter(w.next)
	w.next = min(2*w.next, 100*time.Millisecond)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("redisstore: create identity: waiting for a concurrent creation: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}
