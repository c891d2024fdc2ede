package oauthlogin

import (
	"testing"
	"time"
)

// The "old pending record" rule refuses a stored session whose Expires -
// Created is at most 6 minutes whenever Sessions.Lifetime is longer than
// 6 minutes, with no margin on the Lifetime side although the 6 minutes
// themselves already allow "for a store that keeps times coarsely". A
// Lifetime just over 6 minutes (here 6m0.5s) with a store that keeps
// whole seconds (as the redis codec writes Unix seconds plus nanos, a
// custom store may keep seconds only) stores Created 12:00:00.2 as
// 12:00:00 and Expires 12:06:00.7 as 12:06:00: a span of exactly 6
// minutes, and the new, legitimate session is refused as a pre-v1
// pending record (signed out at once, about half of all logins).
// Enforces store.go's SessionStore upgrade note: the rule is on only from
// a Lifetime of oldPendingRuleFrom (8 minutes), 2 minutes over the span.
func TestAttackV2CoarseStoreRefusesShortLifetimeSessions(t *testing.T) {
	lifetime := oldPendingSpan + 500*time.Millisecond
	now := time.Date(2026, 1, 1, 12, 0, 0, 200_000_000, time.UTC)
	codec, _, err := newSessionCodec(newStoreCalls(NewMemoryStore(), defaultStoreTimeout), lifetime, now)
	if err != nil {
		t.Fatal(err)
	}
	c := codec.(storedSessions)
	s := &Session{ID: "x", Created: now.Truncate(time.Second), Expires: now.Add(lifetime).Truncate(time.Second)}
	if c.wasPending(s) {
		t.Fatalf("a session of Lifetime %v, stored to the second (span %v), is refused as an old pending record", lifetime, s.Expires.Sub(s.Created))
	}
}

// With the Lifetime well over 6 minutes, a stored session is never taken
// for an old pending record, whatever the coarseness of its times.
func TestAttackV2DefaultLifetimeNeverLooksPending(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 999_999_999, time.UTC)
	for _, lifetime := range []time.Duration{7 * time.Minute, time.Hour, 30 * 24 * time.Hour} {
		codec, _, err := newSessionCodec(newStoreCalls(NewMemoryStore(), defaultStoreTimeout), lifetime, now)
		if err != nil {
			t.Fatal(err)
		}
		s := &Session{ID: "x", Created: now.Truncate(time.Second), Expires: now.Add(lifetime).Truncate(time.Second)}
		if codec.(storedSessions).wasPending(s) {
			t.Fatalf("Lifetime %v: a session is refused as an old pending record", lifetime)
		}
	}
}
