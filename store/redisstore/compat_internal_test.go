package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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
