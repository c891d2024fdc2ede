package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
