package redisstore

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/redis/go-redis/v9"
)

// The store's records and indexes are written in several steps, so a
// crash or a store failure can stop a write halfway. These tests build
// each halfway state by hand and check that readers never take it for a
// finished write, and that the next writer finishes or clears it.

func newIdentity(id, user, subject string) *oauthlogin.Identity {
	now := time.Now().Truncate(time.Millisecond)
	return &oauthlogin.Identity{ID: id, UserID: user, Issuer: "https://idp.test", Provider: "test",
		ProviderUID: subject, VerifiedEmail: subject + "@example.com", Created: now, Updated: now}
}

func mustCreate(t *testing.T, s *Store, v *oauthlogin.Identity) {
	t.Helper()
	if err := s.CreateIdentity(context.Background(), v); err != nil {
		t.Fatalf("CreateIdentity(%s): %v", v.ID, err)
	}
}

// identityIDs returns a function that takes a listing's results and
// returns the ids listed, failing t on an error.
func identityIDs(t *testing.T) func([]*oauthlogin.Identity, error) []string {
	return func(list []*oauthlogin.Identity, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range list {
			out = append(out, v.ID)
		}
		return out
	}
}

// A creator that stopped after claiming the account (nothing else
// written) holds it until the lease ends; the next creator waits for
// that, then succeeds.
func TestIdentityCreationStoppedAfterClaim(t *testing.T) {
	s, rdb := testStore(t)
	s.lease = 300 * time.Millisecond
	ctx := context.Background()
	v := newIdentity("i1", "u1", "sub")
	akey := s.accountKey(v.Issuer, v.ProviderUID)
	rdb.Set(ctx, akey, claimValue("ghost", "u0", newNonce()), s.lease)
	if _, err := s.Identity(ctx, v.Issuer, v.ProviderUID); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("Identity of a claim with no record = %v, want ErrNotFound", err)
	}
	mustCreate(t, s, v)
	got, err := s.Identity(ctx, v.Issuer, v.ProviderUID)
	if err != nil || got.ID != "i1" || got.UserID != "u1" {
		t.Fatalf("Identity after the lapsed claim = %+v, %v, want i1 of u1", got, err)
	}
	if ttl := rdb.PTTL(ctx, akey).Val(); ttl != -1 {
		t.Fatalf("the new claim's TTL = %v, want none (permanent)", ttl)
	}
}

// A creator that stopped before its last step leaves a permanent claim
// and a record still being created: no reader returns it, and it expires
// with its lease, after which the account is free.
func TestIdentityCreationStoppedBeforeCommit(t *testing.T) {
	s, rdb := testStore(t)
	s.lease = 300 * time.Millisecond
	ctx := context.Background()
	ghost := newIdentity("ghost", "u0", "sub")
	akey, ikey := s.accountKey(ghost.Issuer, ghost.ProviderUID), s.identityKey("ghost")
	rdb.Set(ctx, akey, claimValue("ghost", "u0", newNonce()), 0)
	rdb.HSet(ctx, ikey, "u", "u0", "a", akey, "e", "", "f", encodeIdentityFixed(ghost), "m", encodeIdentityMutable(ghost), "s", "c")
	rdb.PExpire(ctx, ikey, s.lease)
	rdb.SAdd(ctx, s.userIdentitiesKey("u0"), "ghost")
	rdb.SAdd(ctx, s.emailKey(ghost.VerifiedEmail), "ghost")

	if _, err := s.Identity(ctx, ghost.Issuer, ghost.ProviderUID); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("Identity of an unfinished creation = %v, want ErrNotFound", err)
	}
	if ids := identityIDs(t)(s.UserIdentities(ctx, "u0")); len(ids) != 0 {
		t.Fatalf("UserIdentities lists an unfinished creation: %v", ids)
	}
	if ids := identityIDs(t)(s.IdentitiesByEmail(ctx, ghost.VerifiedEmail)); len(ids) != 0 {
		t.Fatalf("IdentitiesByEmail lists an unfinished creation: %v", ids)
	}
	if err := s.DeleteIdentity(ctx, "u0", "ghost"); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("DeleteIdentity of an unfinished creation = %v, want ErrNotFound", err)
	}
	mustCreate(t, s, newIdentity("i1", "u1", "sub"))
	if got, err := s.Identity(ctx, ghost.Issuer, ghost.ProviderUID); err != nil || got.ID != "i1" {
		t.Fatalf("Identity after the takeover = %+v, %v, want i1", got, err)
	}
}

// A permanent claim whose record is gone is taken over at once.
func TestIdentityClaimWithoutRecord(t *testing.T) {
	s, rdb := testStore(t)
	ctx := context.Background()
	v := newIdentity("i1", "u1", "sub")
	rdb.Set(ctx, s.accountKey(v.Issuer, v.ProviderUID), claimValue("ghost", "u0", newNonce()), 0)
	mustCreate(t, s, v)
	if got, err := s.Identity(ctx, v.Issuer, v.ProviderUID); err != nil || got.ID != "i1" {
		t.Fatalf("Identity = %+v, %v, want i1", got, err)
	}
}

// An unlink that stopped after it left the user's set (the step that
// checks it is not the last) leaves a record and a claim that no reader
// returns; a retried DeleteIdentity finishes it, and so does the next
// creation of that account.
func TestUnlinkStoppedHalfway(t *testing.T) {
	for _, finish := range []string{"retry", "login"} {
		t.Run(finish, func(t *testing.T) {
			s, rdb := testStore(t)
			ctx := context.Background()
			a, b := newIdentity("a", "u", "sub-a"), newIdentity("b", "u", "sub-b")
			mustCreate(t, s, a)
			mustCreate(t, s, b)
			rdb.SRem(ctx, s.userIdentitiesKey("u"), "a")

			if _, err := s.Identity(ctx, a.Issuer, a.ProviderUID); !errors.Is(err, oauthlogin.ErrNotFound) {
				t.Fatalf("Identity of a half-unlinked identity = %v, want ErrNotFound", err)
			}
			if ids := identityIDs(t)(s.UserIdentities(ctx, "u")); !slices.Equal(ids, []string{"b"}) {
				t.Fatalf("UserIdentities = %v, want [b]", ids)
			}
			if ids := identityIDs(t)(s.IdentitiesByEmail(ctx, a.VerifiedEmail)); len(ids) != 0 {
				t.Fatalf("IdentitiesByEmail lists a half-unlinked identity: %v", ids)
			}
			if err := s.DeleteIdentity(ctx, "u", "b"); !errors.Is(err, oauthlogin.ErrLastIdentity) {
				t.Fatalf("DeleteIdentity(b) = %v, want ErrLastIdentity: a half-unlinked identity is no way in", err)
			}
			switch finish {
			case "retry":
				if err := s.DeleteIdentity(ctx, "u", "a"); err != nil {
					t.Fatalf("retried DeleteIdentity(a) = %v", err)
				}
			case "login":
				mustCreate(t, s, newIdentity("a2", "u2", "sub-a"))
				if got, err := s.Identity(ctx, a.Issuer, a.ProviderUID); err != nil || got.ID != "a2" {
					t.Fatalf("Identity after a new login = %+v, %v, want a2", got, err)
				}
			}
			if n := rdb.Exists(ctx, s.identityKey("a")).Val(); n != 0 {
				t.Fatal("the half-unlinked record is still there")
			}
			if m := rdb.SIsMember(ctx, s.emailKey(a.VerifiedEmail), "a").Val(); m {
				t.Fatal("the half-unlinked identity is still in its email's set")
			}
		})
	}
}

// A claim written before claims named the user (the bare identity id)
// is read, and released by DeleteIdentity.
func TestOldClaimFormat(t *testing.T) {
	s, rdb := testStore(t)
	ctx := context.Background()
	a, b := newIdentity("a", "u", "sub-a"), newIdentity("b", "u", "sub-b")
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	akey := s.accountKey(a.Issuer, a.ProviderUID)
	rdb.Set(ctx, akey, "a", 0)
	if got, err := s.Identity(ctx, a.Issuer, a.ProviderUID); err != nil || got.ID != "a" || got.UserID != "u" {
		t.Fatalf("Identity through an old claim = %+v, %v", got, err)
	}
	if err := s.CreateIdentity(ctx, newIdentity("x", "u9", "sub-a")); !errors.Is(err, oauthlogin.ErrIdentityExists) {
		t.Fatalf("CreateIdentity of an account with an old claim = %v, want ErrIdentityExists", err)
	}
	if err := s.DeleteIdentity(ctx, "u", "a"); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, akey).Val(); n != 0 {
		t.Fatal("DeleteIdentity left the old claim")
	}
}

// An index entry whose record never came (a SaveSession that stopped
// halfway, or one still running) is no session, and no reader or
// deleter removes it: were it a save in progress, the session it is
// about to write must stay findable by the next DeleteUserSessions.
func TestSessionIndexEntryWithoutRecord(t *testing.T) {
	s, rdb := testStore(t)
	ctx := context.Background()
	now := time.Now()
	key := s.userSessionsKey("u")
	rdb.ZAdd(ctx, key, redis.Z{Score: float64(now.Add(time.Hour).UnixMilli()), Member: "pending"})
	if list, err := s.UserSessions(ctx, "u"); err != nil || len(list) != 0 {
		t.Fatalf("UserSessions = %v, %v, want none", list, err)
	}
	if err := s.DeleteUserSessions(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if m := rdb.ZRange(ctx, key, 0, -1).Val(); !slices.Equal(m, []string{"pending"}) {
		t.Fatalf("index after reads = %v, want the entry kept", m)
	}
	v := &oauthlogin.Session{ID: "pending", UserID: "u", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	if err := s.SaveSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUserSessions(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "pending"); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("Session after DeleteUserSessions = %v, want ErrNotFound", err)
	}
	if n := rdb.ZCard(ctx, key).Val(); n != 0 {
		t.Fatalf("index holds %d entries after its session ended", n)
	}
}

// A mark or lock sent again by a client that lost the connection (go-redis
// retries) finds its own write: not a reuse, not another holder.
func TestRetriedMarkIsOwn(t *testing.T) {
	s, _ := testStore(t)
	ctx := context.Background()
	key := []string{s.oneTimeKey("k")}
	exp := unixMilli(time.Now().Add(time.Minute))
	for i, c := range []struct {
		token string
		want  int
	}{{"t1", 1}, {"t1", 1}, {"t2", 0}} {
		n, err := markScript.Run(ctx, s.rdb, key, c.token, exp, "").Int()
		if err != nil || n != c.want {
			t.Fatalf("mark %d with token %s = %d, %v, want %d", i, c.token, n, err, c.want)
		}
	}
}

// A server that lost its script cache (a restart, a failover to a
// replica) answers NOSCRIPT; the batched writes send the scripts again.
func TestScriptsSentAgainAfterFlush(t *testing.T) {
	s, rdb := testStore(t)
	ctx := context.Background()
	now := time.Now()
	save := func(id string) {
		t.Helper()
		v := &oauthlogin.Session{ID: id, UserID: "u", Provider: "p", ProviderSID: "sid", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
		if err := s.SaveSession(ctx, v); err != nil {
			t.Fatalf("SaveSession after SCRIPT FLUSH: %v", err)
		}
	}
	save("s1")
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	save("s2")
	if list, err := s.UserSessions(ctx, "u"); err != nil || len(list) != 2 {
		t.Fatalf("UserSessions = %d sessions, %v, want 2", len(list), err)
	}
	rdb.ScriptFlush(ctx)
	if err := s.DeleteProviderSessions(ctx, "p", "sid"); err != nil {
		t.Fatalf("DeleteProviderSessions after SCRIPT FLUSH: %v", err)
	}
	if list, err := s.UserSessions(ctx, "u"); err != nil || len(list) != 0 {
		t.Fatalf("UserSessions after the delete = %d sessions, %v, want 0", len(list), err)
	}
}

// An index entry left by a replacement whose clean-up failed names a
// session that is now another user's (or another provider session's):
// ending the index's sessions must not end that one.
func TestStaleIndexEntryEndsNoOtherSession(t *testing.T) {
	s, rdb := testStore(t)
	ctx := context.Background()
	now := time.Now()
	v := &oauthlogin.Session{ID: "x", UserID: "b", Provider: "p", ProviderSID: "sid-b", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	if err := s.SaveSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	score := float64(now.Add(time.Hour).UnixMilli())
	rdb.ZAdd(ctx, s.userSessionsKey("a"), redis.Z{Score: score, Member: "x"})
	rdb.ZAdd(ctx, s.providerSessionsKey("p", "sid-a"), redis.Z{Score: score, Member: "x"})
	if err := s.DeleteUserSessions(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteProviderSessions(ctx, "p", "sid-a"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, "x"); err != nil || got.UserID != "b" {
		t.Fatalf("Session(x) = %+v, %v: user a's sign-out ended user b's session", got, err)
	}
	if list, err := s.UserSessions(ctx, "a"); err != nil || len(list) != 0 {
		t.Fatalf("UserSessions(a) = %d sessions, %v, want none", len(list), err)
	}
}
