package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/oauth2"
)

// refreshLockTTL bounds how long a crashed instance can hold an identity's
// refresh lock; a refresh itself is bounded by the HTTP client's timeout.
const refreshLockTTL = 30 * time.Second

// refreshBudget bounds a refresh's provider requests, so that they end
// well within refreshLockTTL.
const refreshBudget = refreshLockTTL - 5*time.Second

// maxTokenLifetime caps the expiry a provider may announce: an absurd
// expires_in becomes a year.
const maxTokenLifetime = 365 * 24 * time.Hour

// refreshReuse is how long a finished refresh is reused: Refresh, POST
// {prefix}refresh and the lazy refresh (TokenSource, ifExpiring=1) within
// refreshReuse of the identity's last refresh return its tokens without
// asking the provider, so that a client in a loop cannot hammer it, even
// with tokens that live shorter than RefreshMargin. It is measured on the
// identity's sealed tokens (when a refresh obtained them), so it holds
// across instances that share the store, and on this instance's own clock
// since it last refreshed the identity, so that instances whose clocks
// differ by more than refreshReuse (each finding the other's stamp out of
// the window) still ask the provider at most once each per window.
const refreshReuse = 10 * time.Second

// serveRefresh serves POST {prefix}refresh, Appwrite's "update OAuth
// session": it renews the current session's provider access token now
// (Refresh: concurrent calls share one provider request, and a refresh
// finished within the last 10 seconds is reused), and answers 200 with the
// session JSON, which carries the new providerAccessTokenExpiry. With
// ifExpiring=1 it renews the token only when it expires within
// Config.Sessions.RefreshMargin, like TokenSource, and then, too, reuses a
// refresh finished within the last 10 seconds. Other query parameters (such as
// the force=1 of earlier versions) are ignored.
//
// Errors: no refresh token, 400 no_refresh_token; the provider revoked the
// grant (invalid_grant), 409 provider_token_revoked, and the provider tokens
// are gone from the session and identity; the provider failed or timed out,
// 503 provider_unavailable with Retry-After (the tokens are kept); any other
// refusal, 502 refresh_failed. Cross-origin requests are refused.
func (m *Manager) serveRefresh(w http.ResponseWriter, r *http.Request) {
	if !m.sameOrigin(w, r) {
		return
	}
	s := m.answerSession(w, r)
	if s == nil {
		return
	}
	ifExpiring := r.URL.Query().Get("ifExpiring")
	refreshed, err := m.refreshSession(r.Context(), s, ifExpiring == "1" || ifExpiring == "true")
	// When the client holds the session, what refreshSession dropped from
	// a stored one must go from the client's copy too (reseal does nothing
	// for a stored session).
	switch {
	case errors.Is(err, ErrProviderTokenRevoked):
		c := *s
		c.ProviderTokens, c.ProviderAccessTokenExpiry = nil, time.Time{}
		m.reseal(w, r, &c)
	case errors.Is(err, ErrNoRefreshToken):
		if c, ok := m.withoutRefreshToken(s); ok {
			m.reseal(w, r, c)
		}
	}
	if err != nil {
		if errors.Is(err, ErrRefreshFailed) || errors.Is(err, ErrProviderTokenRevoked) || errors.Is(err, ErrProviderUnavailable) {
			m.emit(r, Event{Type: EventRefreshFailed, UserID: s.UserID, Provider: s.Provider, IdentityID: s.IdentityID, SessionID: s.ID, Code: Code(err)})
		}
		var ra retryAfter
		if errors.As(err, &ra) {
			w.Header().Set("Retry-After", strconv.Itoa(int((time.Duration(ra)+time.Second-1)/time.Second)))
		}
		m.writeError(w, r, err)
		return
	}
	if refreshed != s {
		token, err := m.reseal(w, r, refreshed)
		if err != nil {
			m.writeError(w, r, err)
			return
		}
		if _, isBearer := bearer(r); isBearer && token != "" {
			// A bearer client must carry the new sealed session from now on.
			m.writeSessionToken(w, r, refreshed, token, http.StatusOK)
			return
		}
	}
	m.writeSession(w, r, refreshed)
}

// reseal sends a changed client-held session back to a cookie client, and
// returns the new token for a bearer client; for a stored session it does
// nothing and returns "".
func (m *Manager) reseal(w http.ResponseWriter, r *http.Request, s *Session) (string, error) {
	token, err := m.codec.reissue(s)
	if err != nil || token == "" {
		return "", err
	}
	if _, isBearer := bearer(r); !isBearer {
		m.setSessionCookie(w, r, token, s.Expires)
	}
	return token, nil
}

// Refresh renews the provider access token of s now, whatever its
// expiry, and returns the session with the new tokens, saved. Calls for
// one identity coalesce: concurrent callers, in this process (single
// flight) and across instances (the store's lock), share one provider
// request, and a call within 10 seconds of the identity's last refresh
// returns that refresh's tokens without asking the provider again. To
// renew only a token about to expire, use TokenSource or Client.
//
// The session is only ever updated (SessionStore.UpdateSessionTokens),
// never saved whole: when it was deleted while the provider answered (a
// logout, signing out everywhere, an unlink), the refresh writes nothing
// to it and returns ErrNoSession. When the identity turns out to have no
// refresh token, or the provider revoked the grant, the session's own
// copy says so from then on: its refresh token (or, on a revoked grant,
// all its provider tokens) is dropped, so that hasProviderRefreshToken in
// the session JSON matches what the next refresh does.
//
// The identity holds the canonical tokens. Under the lock the identity is
// read again: when another caller has refreshed meanwhile, its tokens are
// used and the provider is not asked. A rotated refresh token is saved
// with its access token in one write; the old one is never sent again.
func (m *Manager) Refresh(ctx context.Context, s *Session) (*Session, error) {
	return m.refreshSession(ctx, s, false)
}

// refreshSession is Refresh, or with ifExpiring the lazy refresh of
// TokenSource and POST {prefix}refresh?ifExpiring=1: only a token that
// expires within Config.Sessions.RefreshMargin is renewed, else s is returned as is;
// either way a refresh within refreshReuse is reused.
func (m *Manager) refreshSession(ctx context.Context, s *Session, ifExpiring bool) (*Session, error) {
	rp, ok := m.lookup(s.Provider)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownProvider, s.Provider)
	}
	start := m.now()
	if ifExpiring {
		tok, err := m.ProviderToken(s)
		if err != nil && !errors.Is(err, errUnseal) { // unreadable: refresh from the identity
			return nil, err
		}
		if tok != nil && !m.expiring(tok.Expiry, start) {
			return s, nil
		}
	}
	key := refreshKey(rp.issuer, s.ProviderUID, s.IdentityID)
	// A lazy caller may find the tokens fresh and not refresh: one who
	// asked for a refresh must not take that answer, so the two kinds fly
	// apart (and meet at the identity's lock).
	flightKey := key
	if ifExpiring {
		flightKey += "\x00ifExpiring"
	}
	ch := m.flight.DoChan(flightKey, func() (any, error) {
		// The shared work must not end because its first caller left: a
		// deadline that ends it is one of ours (the lock's hold, the
		// refresh's budget).
		tok, err := m.refreshIdentity(context.WithoutCancel(ctx), rp, key, s, start, ifExpiring)
		return tok, ourDeadline(err)
	})
	var tok *oauth2.Token
	select {
	case res := <-ch:
		if res.Err != nil {
			switch {
			case errors.Is(res.Err, ErrProviderTokenRevoked):
				m.updateSessionTokens(ctx, s.ID, nil, time.Time{})
			case errors.Is(res.Err, ErrNoRefreshToken):
				if c, ok := m.withoutRefreshToken(s); ok {
					m.updateSessionTokens(ctx, c.ID, c.ProviderTokens, c.ProviderAccessTokenExpiry)
				}
			}
			return nil, res.Err
		}
		tok = res.Val.(*oauth2.Token)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c := *s
	// The session keeps its own login's ID token (see sessionAAD), not
	// one the refreshed grant has.
	sealed, err := m.keys.seal(withIDToken(tok, m.idTokenHint(ctx, s)), sessionAAD+c.ID)
	if err != nil {
		return nil, err
	}
	c.ProviderTokens, c.ProviderAccessTokenExpiry = sealed, tok.Expiry
	if err := m.codec.updateTokens(ctx, c.ID, sealed, tok.Expiry); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: the session ended during the refresh", ErrNoSession)
		}
		return nil, err
	}
	return &c, nil
}

// refreshIdentity refreshes an identity's tokens under its lock, unless
// they are fresh already (refreshed recently, or with ifExpiring, not
// expiring), and returns the tokens to use. This process's last refresh
// of the identity, on its own clock, counts as recent too (refreshTimes):
// another instance whose clock differs by more than refreshReuse stamps
// its refreshes out of this one's window, and without the floor two such
// instances called alternately would each refresh every time.
func (m *Manager) refreshIdentity(ctx context.Context, rp *registered, key string, s *Session, start time.Time, ifExpiring bool) (*oauth2.Token, error) {
	if wait := m.backoff.wait(key, m.now()); wait > 0 {
		return nil, fmt.Errorf("%w: backing off after failures: %w", ErrProviderUnavailable, retryAfter(wait))
	}
	unlock, err := m.store.Lock(ctx, "oauthlogin:refresh:"+key, m.lockTTL)
	if err != nil {
		return nil, lockWaitError(ctx, err)
	}
	ctx, release := m.holdLock(ctx, unlock)
	defer release()
	id, err := m.sameIdentity(ctx, rp.issuer, s.ProviderUID, s.IdentityID, s.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoRefreshToken // unlinked meanwhile, or since signed in again as another record
	}
	if err != nil {
		return nil, err
	}
	cur, refreshed, err := m.openRefreshed(ctx, id.ProviderTokens, "identity:"+id.ID)
	if err != nil && !errors.Is(err, errUnseal) {
		return nil, err
	}
	if cur == nil || cur.RefreshToken == "" { // none, or sealed under a dropped key
		return nil, ErrNoRefreshToken
	}
	cur.Expiry = id.ProviderAccessTokenExpiry
	now := m.now()
	if ifExpiring && !m.expiring(cur.Expiry, now) {
		return cur, nil // refreshed by another caller meanwhile
	}
	// Just refreshed (by any instance, or by this one on its own clock):
	// fresh enough for any caller, even when the provider's tokens live
	// shorter than RefreshMargin and so are "expiring" from the start.
	// Only tokens a refresh obtained (stamped) count: this process's own
	// last refresh says nothing of tokens a login has put there since,
	// which a caller who asks for a refresh gets renewed.
	if !refreshed.IsZero() && (recentlyRefreshed(refreshed, start, now) || recentlyRefreshed(m.refreshes.last(key), start, now)) {
		return cur, nil
	}
	// The refresh must end while the lock is ours, whatever the HTTP
	// client's timeout: another instance takes an expired lock and would
	// send the same refresh token again, which a provider that detects
	// reuse answers by revoking the grant (RFC 9700 §4.14.2).
	pctx, cancel := context.WithTimeout(ctx, m.refreshBudget)
	defer cancel()
	rctx, _, err := rp.dpopContext(rp.clientContext(pctx), tokenDPoPKey(cur)) // the key the refresh token is bound to
	if err != nil {
		return nil, err
	}
	tok, err := rp.refresh(rctx, cur.RefreshToken)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
			// The grant is gone: so are its tokens, here and in every
			// session that signed in with this identity.
			m.backoff.reset(key)
			if uerr := m.dropGrant(ctx, key, id); uerr != nil {
				return nil, uerr
			}
			return nil, ErrProviderTokenRevoked
		}
		wait := m.backoff.fail(key, m.now())
		switch {
		case errors.Is(err, ErrRefreshFailed): // an answer refused here (checkTokenType)
			return nil, fmt.Errorf("%w: %w", err, retryAfter(wait))
		case dpopRefused(err): // the proof refused (RFC 9449 §5)
			return nil, fmt.Errorf("%w: %w: %w: %w", errDPoP, ErrRefreshFailed, retryAfter(wait), err)
		case re != nil && re.Response != nil && re.Response.StatusCode < 500:
			return nil, wrap(ErrRefreshFailed, err)
		}
		return nil, fmt.Errorf("%w: %w: %w", ErrProviderUnavailable, retryAfter(wait), err)
	}
	if tok.RefreshToken == "" {
		tok.RefreshToken = cur.RefreshToken // not rotated: keep the one we have
	}
	if raw, _ := tok.Extra("id_token").(string); raw != "" {
		if rp.oidc != nil {
			if err := rp.oidc.VerifyRefreshIDToken(pctx, raw, s.ProviderUID); err != nil {
				// Keep nothing of this response. A failed ID token check
				// answers id_token_invalid, and is still ErrRefreshFailed.
				if errors.Is(err, ErrInvalidIDToken) {
					return nil, fmt.Errorf("%w: %w", err, ErrRefreshFailed)
				}
				return nil, wrap(ErrRefreshFailed, err)
			}
		}
	}
	tok.Expiry = m.clampExpiry(tok.Expiry)
	now = m.now()
	sealed, err := m.keys.sealRefreshed(tok, now, "identity:"+id.ID)
	if err != nil {
		return nil, err
	}
	id.ProviderTokens, id.ProviderAccessTokenExpiry, id.Updated = sealed, tok.Expiry, now
	if err := m.saveRefreshed(ctx, id); err != nil {
		return nil, err
	}
	m.refreshes.note(key, now)
	m.backoff.reset(key)
	return tok, nil
}

// saveRefreshed writes the identity's refreshed tokens. The provider has
// spent the refresh token it was given when it rotates them: a write that
// the store fails would leave the identity with the spent token, which the
// next refresh would send again, and a provider that detects reuse
// answers that by revoking the grant (RFC 9700 §4.14.2). So a write that
// fails with ErrStoreUnavailable (the store's server restarting, failing
// over) is tried again after short jittered pauses while ctx, the lock's
// hold (see holdLock), lasts: no attempt starts once the lock may have
// passed to another instance.
func (m *Manager) saveRefreshed(ctx context.Context, id *Identity) error {
	for {
		err := m.store.UpdateIdentity(ctx, id)
		if err == nil || !errors.Is(err, ErrStoreUnavailable) {
			return err
		}
		timer := time.NewTimer(25*time.Millisecond + rand.N(75*time.Millisecond))
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return err
		}
	}
}

// defaultLockMargin is how long before an identity's refresh lock expires
// its holder stops starting work under it: the store's clock, or a
// competitor's, may run ahead of ours by that much.
const defaultLockMargin = 3 * time.Second

// holdLock returns the context for work under an identity's refresh lock,
// just taken: ctx, ending the lock margin before the lock's ttl (so that no
// store write or provider request starts once another instance may hold
// the lock), and the function that releases the lock.
//
// The release goes on when the store fails it (it is down, or
// restarting), since a lock that a store keeps across a restart (Redis
// with an append-only file, a Redis Cluster replica) would hold off every
// refresh and login of the identity until its ttl: it is tried again in
// the background, after jittered pauses that double from 50ms to 2s, until
// it succeeds or the lock would have expired anyway, each attempt bounded
// by that. At most maxReleases releases retry at once, per Manager; past
// that, the lock is left to expire. A release only ever ends the caller's
// own hold (Store.Lock's contract), so a late one is harmless.
func (m *Manager) holdLock(ctx context.Context, unlock func(context.Context) error) (context.Context, func()) {
	return m.holdLockUntil(ctx, unlock, time.Now().Add(m.lockTTL))
}

// holdLockUntil is holdLock for a lock that expires at expires.
func (m *Manager) holdLockUntil(ctx context.Context, unlock func(context.Context) error, expires time.Time) (context.Context, func()) {
	held, cancel := context.WithDeadline(ctx, expires.Add(-m.lockMargin))
	return held, func() {
		cancel()
		rctx, rcancel := context.WithDeadline(context.WithoutCancel(ctx), expires)
		if unlock(rctx) == nil || rctx.Err() != nil {
			rcancel()
			return
		}
		select {
		case m.releases <- struct{}{}:
		default:
			rcancel()
			return // enough retrying already: this lock expires by itself
		}
		go func() {
			defer func() { <-m.releases }()
			defer rcancel()
			for wait := 50 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
				timer := time.NewTimer(wait/2 + rand.N(wait/2))
				select {
				case <-rctx.Done():
					timer.Stop()
					return
				case <-timer.C:
				}
				if unlock(rctx) == nil {
					return
				}
			}
		}()
	}
}

// maxReleases bounds the lock releases that retry in the background at
// once (holdLock).
const maxReleases = 16

// ourDeadline is the error of work that no caller can cancel (it runs
// under context.WithoutCancel) and that a deadline of ours ended (a
// lock's hold, a budget): the store was too slow to let it finish, which
// is ErrStoreUnavailable (503), not a failure of ours. An error already
// classified (the provider's, the store's) stays as it is.
func ourDeadline(err error) error {
	if errors.Is(err, context.DeadlineExceeded) && asError(err) == nil && !errors.Is(err, ErrStoreUnavailable) {
		return fmt.Errorf("%w: %w", ErrStoreUnavailable, err)
	}
	return err
}

// lockWaitError is the error of a wait for an identity's refresh lock
// that ended: the caller's own cancellation stays as it is; a bound of
// ours (the lock held elsewhere for its whole ttl, a store that did not
// answer) is ErrStoreUnavailable.
func lockWaitError(ctx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, ErrStoreUnavailable) {
		return fmt.Errorf("%w: waiting for the identity's refresh lock: %w", ErrStoreUnavailable, err)
	}
	return err
}

// refreshKey names the refresh of an identity: its flight, lock,
// backoff and the time this process last refreshed it. Keyed on the
// identity record too: a session of an identity unlinked since, whose
// provider account signed in again as a new identity (maybe another
// user's), shares nothing with that identity's refresh.
func refreshKey(issuer, subject, identityID string) string {
	return issuer + "\x00" + subject + "\x00" + identityID
}

// dropGrant removes identity id's provider tokens, whose grant is gone
// (the provider answered invalid_grant, or a logout revoked them), from it
// and from every session that signed in with it, so that no refresh hands
// them out again. The caller holds the identity's refresh lock.
func (m *Manager) dropGrant(ctx context.Context, key string, id *Identity) error {
	m.refreshes.forget(key)
	revoked := m.now()
	id.ProviderTokens, id.ProviderAccessTokenExpiry, id.Updated = nil, time.Time{}, revoked
	if err := m.store.UpdateIdentity(ctx, id); err != nil {
		return err
	}
	m.dropIdentitySessionTokens(ctx, id, revoked)
	return nil
}

// forgetRevoked runs after a logout revoked tok, session s's provider
// tokens, at the provider (RFC 7009). When they are its identity's tokens
// (the same refresh token, or the same access token), the identity's
// canonical tokens are the revoked ones, and revoking a refresh token
// ends the grant's access tokens too (RFC 7009 §2.1): they go from the
// identity and from its other sessions (dropGrant), so that neither the
// reuse of a recent refresh nor a session's copy hands them out. Tokens
// the identity has replaced since (a rotated refresh token, a new login)
// are left to the provider's answer at their next refresh.
func (m *Manager) forgetRevoked(ctx context.Context, s *Session, tok *oauth2.Token) {
	rp, ok := m.lookup(s.Provider)
	if !ok {
		return
	}
	key := refreshKey(rp.issuer, s.ProviderUID, s.IdentityID)
	m.refreshes.forget(key)
	unlock, err := m.store.Lock(ctx, "oauthlogin:refresh:"+key, m.lockTTL)
	if err != nil {
		m.log.WarnContext(ctx, "oauthlogin: could not drop revoked provider tokens from the identity", "err", err)
		return
	}
	ctx, release := m.holdLock(ctx, unlock)
	defer release()
	id, err := m.sameIdentity(ctx, rp.issuer, s.ProviderUID, s.IdentityID, s.UserID)
	if err != nil {
		return // unlinked: nothing of it is left to reuse
	}
	cur, err := m.openTokens(ctx, id.ProviderTokens, "identity:"+id.ID)
	if err != nil || cur == nil {
		return
	}
	same := tok.RefreshToken != "" && cur.RefreshToken == tok.RefreshToken ||
		tok.AccessToken != "" && cur.AccessToken == tok.AccessToken
	if !same {
		return
	}
	if err := m.dropGrant(ctx, key, id); err != nil {
		m.log.WarnContext(ctx, "oauthlogin: could not drop revoked provider tokens from the identity", "err", err)
	}
}

// updateSessionTokens sets the provider tokens of a session that still
// exists, after a refresh found them gone; the app session itself stays.
// A session deleted meanwhile stays deleted (the update creates nothing).
func (m *Manager) updateSessionTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) {
	err := m.codec.updateTokens(ctx, id, tokens, expiry)
	if err != nil && !errors.Is(err, ErrNotFound) {
		m.log.WarnContext(ctx, "oauthlogin: could not drop provider tokens from a session", "session", id, "err", err)
	}
}

// withoutRefreshToken returns a copy of s whose sealed provider tokens
// keep the access token but not the refresh token, and true, when s has a
// refresh token; else s and false.
func (m *Manager) withoutRefreshToken(s *Session) (*Session, bool) {
	tok, err := m.ProviderToken(s)
	if err != nil || tok == nil || tok.RefreshToken == "" {
		return s, false
	}
	tok.RefreshToken = ""
	sealed, err := m.keys.seal(tok, sessionAAD+s.ID)
	if err != nil {
		return s, false
	}
	c := *s
	c.ProviderTokens = sealed
	return &c, true
}

// dropIdentitySessionTokens removes the provider tokens of every session
// that signed in with identity id before its grant was found revoked at
// revoked (sessions made later carry the tokens of a new login). Each is
// a conditional update, so no session comes back. Sessions kept in the
// client, or in a store that cannot list them, cannot be reached: their
// copies (revoked at the provider, so worthless) go at their own next
// refresh.
func (m *Manager) dropIdentitySessionTokens(ctx context.Context, id *Identity, revoked time.Time) {
	list, _, err := m.codec.identitySessions(ctx, id.UserID, id.ID)
	if err != nil {
		m.log.WarnContext(ctx, "oauthlogin: could not list sessions to drop revoked provider tokens", "err", err)
		return
	}
	for _, v := range list {
		if len(v.ProviderTokens) > 0 && !v.Created.After(revoked) {
			m.updateSessionTokens(ctx, v.ID, nil, time.Time{})
		}
	}
}

// expiring reports whether a token expiring at exp needs a refresh now.
// An unknown expiry (zero) does not: such tokens refresh only through
// Refresh (or POST {prefix}refresh without ifExpiring).
func (m *Manager) expiring(exp, now time.Time) bool {
	return !exp.IsZero() && !now.Add(m.cfg.Sessions.RefreshMargin).Before(exp)
}

// clampExpiry gives a provider's announced expiry a defined meaning: none
// (expires_in missing or zero) stays unknown; in the past (a negative
// expires_in) means expired now; beyond a year is a year.
func (m *Manager) clampExpiry(exp time.Time) time.Time {
	now := m.now()
	switch {
	case exp.IsZero():
		return exp
	case exp.Before(now):
		return now
	case exp.After(now.Add(maxTokenLifetime)):
		return now.Add(maxTokenLifetime)
	}
	return exp
}
