package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/oauth2"
)

// Identity links one provider account (provider + provider user id) to a
// user. A user may have several identities, one per provider account.
type Identity struct {
	ID     string
	UserID string
	// Issuer identifies the provider's authorization server: the OpenID
	// issuer, or the origin of a plain OAuth 2.0 provider's authorization
	// URL. (Issuer, ProviderUID) is the identity's key: never the email,
	// never the subject alone.
	Issuer string
	// Provider is the registered provider name; ProviderUID its subject.
	Provider    string
	ProviderUID string
	// ProviderEmail is the email the provider reported at the last login.
	ProviderEmail string
	// VerifiedEmail is ProviderEmail normalized, set only when the provider
	// asserted it verified; linking by email matches on it.
	VerifiedEmail string
	// ProviderAccessTokenExpiry and ProviderTokens are as in Session: the
	// tokens of the latest login or refresh, sealed.
	ProviderAccessTokenExpiry time.Time
	ProviderTokens            []byte
	Created                   time.Time
	Updated                   time.Time
}

// signIn finds the identity of a provider account, or creates it and
// finds or makes its user, and records the new tokens on it. With linkUser
// set, the account is linked to that user instead: a new identity joins
// it, and one that belongs to anyone else is refused with
// ErrIdentityConflict, never moved. It reports what happened as an event
// type: EventSignUp, EventLogin or EventLink.
func (m *Manager) signIn(ctx context.Context, rp *registered, p *Profile, tok *oauth2.Token, linkUser string) (*Identity, EventType, error) {
	if m.cfg.Hooks.AllowLogin != nil {
		if err := m.cfg.Hooks.AllowLogin(ctx, rp.name, p); err != nil {
			return nil, "", wrap(ErrLoginDenied, err)
		}
	}
	verified := ""
	if p.EmailVerified {
		verified, _ = normalizeEmail(p.Email) // an unusable email links nothing
	}
	now := m.now()
	account := rp.issuer + "\x00" + p.Subject // knownIDs' key
	if linkUser == "" {
		// A returning account: lock the identity this Manager saw it
		// sign in with last, and read it under the lock, instead of
		// reading it once before too. A guess only: the read under the
		// lock decides (errGuessedWrong). Links read first: they
		// must refuse an identity of another user before locking it.
		if guess, ok := m.knownIDs.Get(account); ok {
			id, err := m.updateLocked(ctx, rp, p, tok, guess, "", verified, now, true)
			if !errors.Is(err, errGuessedWrong) {
				if err != nil {
					return nil, "", err
				}
				return id, EventLogin, nil
			}
			m.knownIDs.Forget(account)
		}
	}
	id, err := m.store.Identity(ctx, rp.issuer, p.Subject)
	if errors.Is(err, ErrNotFound) {
		event := EventLink
		userID := linkUser
		if userID == "" {
			userID, event, err = m.userFor(ctx, rp, p, verified)
			if err != nil {
				return nil, "", err
			}
		}
		id = &Identity{
			ID:            randomToken(15),
			UserID:        userID,
			Issuer:        rp.issuer,
			Provider:      rp.name,
			ProviderUID:   p.Subject,
			ProviderEmail: p.Email,
			VerifiedEmail: verified,
			Created:       now,
			Updated:       now,
		}
		if err := m.setIdentityTokens(id, tok); err != nil {
			return nil, "", err
		}
		err = m.store.CreateIdentity(ctx, id)
		if err == nil {
			m.knownIDs.Put(account, id.ID)
		}
		if !errors.Is(err, ErrIdentityExists) {
			return id, event, err
		}
		// A concurrent first login or link of the same account won: use
		// its identity, under the rules for an existing one.
		id, err = m.store.Identity(ctx, rp.issuer, p.Subject)
	}
	if err != nil {
		return nil, "", err
	}
	if linkUser != "" && id.UserID != linkUser {
		return nil, "", ErrIdentityConflict
	}
	if id, err = m.updateLocked(ctx, rp, p, tok, id.ID, linkUser, verified, now, false); err != nil {
		return nil, "", err
	}
	m.knownIDs.Put(account, id.ID)
	return id, EventLogin, nil
}

// errGuessedWrong: the identity a returning login guessed is not the
// account's (unlinked, or linked again as another record since), or its
// lock was not free at once.
var errGuessedWrong = errors.New("oauthlogin: the account's identity is not the one this Manager knew")

// updateLocked records a login's email and tokens on identity identityID
// of the account (rp's issuer, p's subject), under the identity's refresh
// lock, as a refresh's and a revoking logout's writes are: read again
// under it, so that neither writes back what the other replaced (a spent
// refresh token, a previous grant's tokens, an old email). When the
// account's identity is another by then, or belongs to another user than
// linkUser, the login fails with ErrIdentityConflict (it may be retried);
// with guessed set (identityID known from an earlier login, not read by
// this one), the lock is only tried, and a lock not free, or a missing or
// other identity, is errGuessedWrong instead, for the caller to read the
// account again.
func (m *Manager) updateLocked(ctx context.Context, rp *registered, p *Profile, tok *oauth2.Token, identityID, linkUser, verified string, now time.Time, guessed bool) (*Identity, error) {
	lctx, cancel := context.WithTimeout(ctx, m.lockTTL)
	defer cancel()
	if guessed {
		// A guess's lock is only tried, never waited for: a stale guess
		// names another record's lock, which a crashed instance may hold
		// until its ttl while the account's own lock is free.
		cancel()
	}
	unlock, err := m.store.Lock(lctx, "oauthlogin:refresh:"+refreshKey(rp.issuer, p.Subject, identityID), m.lockTTL)
	if err != nil {
		if guessed {
			return nil, errGuessedWrong
		}
		return nil, lockWaitError(ctx, err)
	}
	ctx, release := m.holdLock(ctx, unlock)
	defer release()
	id, err := m.store.Identity(ctx, rp.issuer, p.Subject)
	if guessed && (errors.Is(err, ErrNotFound) || err == nil && id.ID != identityID) {
		return nil, errGuessedWrong
	}
	if err != nil {
		return nil, err
	}
	if id.ID != identityID || linkUser != "" && id.UserID != linkUser {
		// Unlinked and signed in again meanwhile: another identity,
		// whose lock this is not. The login fails; it may be retried.
		return nil, fmt.Errorf("%w: the identity changed during the login", ErrIdentityConflict)
	}
	id.ProviderEmail, id.VerifiedEmail, id.Updated = p.Email, verified, now
	if tok != nil && tok.RefreshToken == "" {
		// Providers that issue a refresh token only at first consent
		// (Google without prompt=consent) answer a later login without
		// one: the grant's refresh token stands, so keep it, for this
		// login's session too, as a refresh that does not rotate does.
		// A DPoP-bound refresh token is kept only with its key, which a
		// new login does not have (dpop.go).
		if old, err := m.openTokens(ctx, id.ProviderTokens, "identity:"+id.ID); err == nil && old != nil && sameDPoPKey(old, tok) {
			tok.RefreshToken = old.RefreshToken
		}
	}
	if err := m.setIdentityTokens(id, tok); err != nil {
		return nil, err
	}
	if err := m.store.UpdateIdentity(ctx, id); err != nil {
		return nil, err
	}
	return id, nil
}

// userFor picks the user of a provider account seen for the first time:
// the user who already has the same verified email, when linking by email
// is on for this provider and for the provider that verified it before;
// else the host's ResolveUser; else a new user.
func (m *Manager) userFor(ctx context.Context, rp *registered, p *Profile, verified string) (string, EventType, error) {
	if verified != "" && slices.Contains(m.cfg.EmailLinkProviders, rp.name) {
		ids, err := m.store.IdentitiesByEmail(ctx, verified)
		if err != nil {
			return "", "", err
		}
		for _, id := range ids {
			// The stored form may predate normalizeEmail's rules (an NFKC
			// fold, say): the address the provider reported must still
			// normalize to it.
			if slices.Contains(m.cfg.EmailLinkProviders, id.Provider) && sameVerifiedEmail(id.ProviderEmail, verified) {
				return id.UserID, EventLink, nil
			}
		}
	}
	if m.cfg.Hooks.ResolveUser == nil {
		return randomToken(15), EventSignUp, nil
	}
	userID, err := m.cfg.Hooks.ResolveUser(ctx, rp.name, p)
	if err != nil {
		return "", "", fmt.Errorf("oauthlogin: resolve user: %w", err)
	}
	if userID == "" {
		return "", "", errors.New("oauthlogin: resolve user: empty user id")
	}
	return userID, EventSignUp, nil
}

func (m *Manager) setIdentityTokens(id *Identity, tok *oauth2.Token) error {
	sealed, err := m.keys.seal(tok, "identity:"+id.ID)
	if err != nil {
		return err
	}
	id.ProviderTokens = sealed
	id.ProviderAccessTokenExpiry = tok.Expiry
	return nil
}

// endIdentitySessions deletes every session of user userID that signed in
// with identity identityID, pending token-mode records included; with a
// sid, only those of that provider session. A store that cannot list
// sessions cannot find them: then every session of the user ends, since
// one left standing could outlive the identity it signed in with (an
// unlink after an account takeover, say), and all is true.
func (m *Manager) endIdentitySessions(ctx context.Context, userID, identityID, sid string) (all bool, err error) {
	list, all, err := m.codec.identitySessions(ctx, userID, identityID)
	if err != nil {
		return false, err
	}
	if all {
		return true, m.codec.endUser(ctx, userID)
	}
	for _, v := range list {
		if sid != "" && v.ProviderSID != sid {
			continue
		}
		if err := m.codec.end(ctx, v.ID); err != nil {
			return false, err
		}
	}
	return false, nil
}
