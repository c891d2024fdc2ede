package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
	"github.com/redis/go-redis/v9"
)

// A session written before the tokens had fields of their own keeps them
// in its record: it still reads with them, and UpdateSessionTokens
// replaces them without touching the rest.
func TestSessionRecordWithoutTokenFields(t *testing.T) {
	addr := scenario.Env(t, "OAUTHLOGIN_TEST_REDIS", "Redis")
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	var b [8]byte
	rand.Read(b[:])
	s := New(rdb, Options{Prefix: "oauthlogintest:" + hex.EncodeToString(b[:]) + ":"})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	old := &oauthlogin.Session{ID: "old", UserID: "u", ProviderTokens: []byte("sealed-old"), ProviderAccessTokenExpiry: now.Add(time.Hour),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	key := s.sessionKey("old")
	t.Cleanup(func() { rdb.Del(ctx, key, s.userSessionsKey("u")) })
	if err := rdb.HSet(ctx, key, "u", "u", "v", encodeSession(old), "l", encodeTime(old.LastSeen)).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.PExpireAt(ctx, key, old.Expires)
	rdb.ZAdd(ctx, s.userSessionsKey("u"), redis.Z{Score: float64(old.Expires.UnixMilli()), Member: "old"})
	got, err := s.Session(ctx, "old")
	if err != nil || string(got.ProviderTokens) != "sealed-old" || !got.ProviderAccessTokenExpiry.Equal(old.ProviderAccessTokenExpiry) {
		t.Fatalf("an earlier record = %+v, %v", got, err)
	}
	if err := s.UpdateSessionTokens(ctx, "old", []byte("sealed-new"), now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	list, err := s.UserSessions(ctx, "u")
	if err != nil || len(list) != 1 || string(list[0].ProviderTokens) != "sealed-new" || !list[0].ProviderAccessTokenExpiry.Equal(now.Add(2*time.Hour)) || list[0].UserID != "u" || !list[0].Created.Equal(now) {
		t.Fatalf("after the update: %+v, %v", list, err)
	}
}

// A pending token-mode record written before v1 (flagged, under the hash
// of its secret like a session) is no session after the upgrade: the
// store reads it as missing, so its secret sent as a session token finds
// nothing, and lists leave it out.
func TestOldPendingRecordIsNoSession(t *testing.T) {
	addr := scenario.Env(t, "OAUTHLOGIN_TEST_REDIS", "Redis")
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	var b [8]byte
	rand.Read(b[:])
	s := New(rdb, Options{Prefix: "oauthlogintest:" + hex.EncodeToString(b[:]) + ":"})
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	old := &oauthlogin.Session{ID: "hash-of-secret", UserID: "u", Provider: "p", ProviderUID: "sub", Created: now, LastSeen: now, Expires: now.Add(5 * time.Minute)}
	key := s.sessionKey(old.ID)
	t.Cleanup(func() { rdb.Del(ctx, key, s.userSessionsKey("u")) })
	if err := rdb.HSet(ctx, key, "u", "u", "v", encodeRecord(old, true), "l", encodeTime(old.LastSeen)).Err(); err != nil {
		t.Fatal(err)
	}
	rdb.PExpireAt(ctx, key, old.Expires)
	rdb.ZAdd(ctx, s.userSessionsKey("u"), redis.Z{Score: float64(old.Expires.UnixMilli()), Member: old.ID})
	if got, err := s.Session(ctx, old.ID); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("an old pending record read as %+v, %v; want ErrNotFound", got, err)
	}
	if list, err := s.UserSessions(ctx, "u"); err != nil || len(list) != 0 {
		t.Fatalf("UserSessions with an old pending record = %d, %v; want none", len(list), err)
	}
	if err := s.DeleteUserSessions(ctx, "u"); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("DeleteUserSessions left the old pending record: %d, %v", n, err)
	}
}

// A session record written by the version before the login facts (no f
// or p field) still reads, with empty facts, is in no provider session's
// index, and ends cleanly: alone, with its user's sessions, or replaced
// by a record with a sid.
func TestSessionRecordWithoutLoginFacts(t *testing.T) {
	s, rdb := testStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	write := func(id, user string) *oauthlogin.Session {
		t.Helper()
		v := &oauthlogin.Session{ID: id, UserID: user, IdentityID: "i", Provider: "idp", ProviderUID: "sub", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
		key := s.sessionKey(id)
		// The fields and the index as the version before wrote them.
		if err := rdb.HSet(ctx, key, "u", user, "v", encodeSession(v), "l", encodeTime(v.LastSeen),
			"t", "sealed", "x", encodeTime(now.Add(time.Hour)), "e", unixMilli(v.Expires)).Err(); err != nil {
			t.Fatal(err)
		}
		rdb.PExpireAt(ctx, key, v.Expires)
		rdb.ZAdd(ctx, s.userSessionsKey(user), redis.Z{Score: float64(v.Expires.UnixMilli()), Member: id})
		return v
	}
	write("old1", "u")
	write("old2", "u")
	write("old3", "w")
	got, err := s.Session(ctx, "old1")
	if err != nil || got.ProviderSID != "" || !got.AuthTime.IsZero() || got.ACR != "" || got.UserID != "u" || string(got.ProviderTokens) != "sealed" {
		t.Fatalf("a record without login facts = %+v, %v", got, err)
	}
	if list, err := s.UserSessions(ctx, "u"); err != nil || len(list) != 2 || list[0].ProviderSID != "" || !list[0].AuthTime.IsZero() {
		t.Fatalf("UserSessions = %+v, %v", list, err)
	}
	if err := s.DeleteProviderSessions(ctx, "idp", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "old1"); err != nil {
		t.Fatalf("a record without a sid was ended by a provider session: %v", err)
	}
	if err := s.DeleteSession(ctx, "old1"); err != nil {
		t.Fatal(err)
	}
	if got := rdb.ZRange(ctx, s.userSessionsKey("u"), 0, -1).Val(); !slices.Equal(got, []string{"old2"}) {
		t.Fatalf("the user index after DeleteSession = %v, want [old2]", got)
	}
	// Replaced by a session with a sid (the same ID: never in practice,
	// but the store allows it), it joins that index.
	v := write("old2", "u")
	v.ProviderSID, v.ACR = "x", "urn:mfa"
	if err := s.SaveSession(ctx, v); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, "old2"); err != nil || got.ProviderSID != "x" || got.ACR != "urn:mfa" {
		t.Fatalf("after the replacement: %+v, %v", got, err)
	}
	if err := s.DeleteProviderSessions(ctx, "idp", "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "old2"); !errors.Is(err, oauthlogin.ErrNotFound) {
		t.Fatalf("after DeleteProviderSessions: %v, want ErrNotFound", err)
	}
	if err := s.DeleteUserSessions(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, s.sessionKey("old3"), s.userSessionsKey("w"), s.userSessionsKey("u")).Val(); n != 0 {
		t.Fatalf("%d keys left after the deletes", n)
	}
}
