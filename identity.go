package oauthlogin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"golang.org/x/oauth2"
)

// Identity links one provider account (provider + provider user id) to a
// user. A user may have several identities, one per provider account.
type Identity struct {
	ID     string
	UserID string
	// Provider is the registered provider name; ProviderUID its subject.
	Provider    string
	ProviderUID string
	// ProviderEmail is the email the provider reported at the last login.
	ProviderEmail string
	// ProviderAccessTokenExpiry and ProviderTokens are as in Session: the
	// tokens of the latest login or refresh, sealed.
	ProviderAccessTokenExpiry time.Time
	ProviderTokens            []byte
	Created                   time.Time
	Updated                   time.Time
}

// IdentityStore keeps identities. Implementations must be safe for
// concurrent use; (Provider, ProviderUID) is unique.
type IdentityStore interface {
	// Identity returns the identity of a provider account, or
	// (nil, ErrNotFound). The caller owns the returned value.
	Identity(ctx context.Context, provider, providerUID string) (*Identity, error)
	// CreateIdentity stores a new identity. If one with the same Provider and
	// ProviderUID exists it changes nothing and returns ErrIdentityExists:
	// of concurrent creators of one provider account, exactly one succeeds.
	CreateIdentity(ctx context.Context, id *Identity) error
	// UpdateIdentity replaces the stored identity with the same ID, or
	// returns ErrNotFound. Provider, ProviderUID and UserID do not change.
	UpdateIdentity(ctx context.Context, id *Identity) error
	// UserIdentities returns a user's identities, oldest first; none is an
	// empty slice, not an error.
	UserIdentities(ctx context.Context, userID string) ([]*Identity, error)
	// DeleteIdentity removes the identity with the given ID. Removing one
	// that does not exist is not an error.
	DeleteIdentity(ctx context.Context, id string) error
}

// ResolveUserFunc chooses the user a provider account signs in as, the
// first time that account is seen. It returns the host app's user id
// (creating the user if it needs to). The default makes a new random id.
type ResolveUserFunc func(ctx context.Context, provider string, p *Profile) (userID string, err error)

// signIn finds the identity of a provider account, or creates it and its
// user, and records the new tokens on it. With linkUser set, the account
// is linked to that user instead: new identities join it, and one that
// belongs to anyone else is refused with ErrIdentityConflict, never moved.
func (m *Manager) signIn(ctx context.Context, provider string, p *Profile, tok *oauth2.Token, linkUser string) (*Identity, error) {
	now := m.now()
	id, err := m.identities.Identity(ctx, provider, p.Subject)
	if errors.Is(err, ErrNotFound) {
		id, err = m.createIdentity(ctx, provider, p, tok, now, linkUser)
		if !errors.Is(err, ErrIdentityExists) {
			return id, err
		}
		// A concurrent first login of the same account won: use its identity.
		id, err = m.identities.Identity(ctx, provider, p.Subject)
	}
	if err != nil {
		return nil, err
	}
	if linkUser != "" && id.UserID != linkUser {
		return nil, ErrIdentityConflict
	}
	id.ProviderEmail = p.Email
	id.Updated = now
	if err := m.setIdentityTokens(id, tok); err != nil {
		return nil, err
	}
	if err := m.identities.UpdateIdentity(ctx, id); err != nil {
		return nil, err
	}
	return id, nil
}

func (m *Manager) createIdentity(ctx context.Context, provider string, p *Profile, tok *oauth2.Token, now time.Time, userID string) (*Identity, error) {
	switch {
	case userID != "":
	case m.cfg.ResolveUser != nil:
		var err error
		userID, err = m.cfg.ResolveUser(ctx, provider, p)
		if err != nil {
			return nil, fmt.Errorf("oauthlogin: resolve user: %w", err)
		}
		if userID == "" {
			return nil, errors.New("oauthlogin: resolve user: empty user id")
		}
	default:
		userID = randomToken(15)
	}
	id := &Identity{
		ID:            randomToken(15),
		UserID:        userID,
		Provider:      provider,
		ProviderUID:   p.Subject,
		ProviderEmail: p.Email,
		Created:       now,
		Updated:       now,
	}
	if err := m.setIdentityTokens(id, tok); err != nil {
		return nil, err
	}
	if err := m.identities.CreateIdentity(ctx, id); err != nil {
		return nil, err
	}
	return id, nil
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

// identityJSON is the browser-facing form of an Identity: no tokens.
type identityJSON struct {
	ID                        string    `json:"id"`
	CreatedAt                 time.Time `json:"createdAt"`
	UpdatedAt                 time.Time `json:"updatedAt"`
	UserID                    string    `json:"userId"`
	Provider                  string    `json:"provider"`
	ProviderUID               string    `json:"providerUid"`
	ProviderEmail             string    `json:"providerEmail"`
	ProviderAccessTokenExpiry string    `json:"providerAccessTokenExpiry"`
}

// Identities serves GET {prefix}identities: the current user's identities as
// JSON {"total": n, "identities": [...]}, or 401.
func (m *Manager) Identities(w http.ResponseWriter, r *http.Request) {
	s, err := m.requestSession(r)
	if err != nil {
		m.writeError(w, r, statusFor(err), err)
		return
	}
	ids, err := m.identities.UserIdentities(r.Context(), s.UserID)
	if err != nil {
		m.writeError(w, r, http.StatusInternalServerError, err)
		return
	}
	out := struct {
		Total      int            `json:"total"`
		Identities []identityJSON `json:"identities"`
	}{Total: len(ids), Identities: make([]identityJSON, 0, len(ids))}
	for _, id := range ids {
		out.Identities = append(out.Identities, identityJSON{
			ID:                        id.ID,
			CreatedAt:                 id.Created.UTC().Truncate(time.Second),
			UpdatedAt:                 id.Updated.UTC().Truncate(time.Second),
			UserID:                    id.UserID,
			Provider:                  id.Provider,
			ProviderUID:               id.ProviderUID,
			ProviderEmail:             id.ProviderEmail,
			ProviderAccessTokenExpiry: rfc3339(id.ProviderAccessTokenExpiry),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// Unlink serves DELETE {prefix}identities/{id}: it removes one identity of
// the signed-in user and answers 204, after asking the provider to revoke
// its tokens (RFC 7009) where it can. An identity that is not the user's is
// a 404; the user's last identity, their last way to sign in, is refused
// with 409 last_identity. Cross-origin requests are refused.
func (m *Manager) Unlink(w http.ResponseWriter, r *http.Request) {
	if !m.sameOrigin(w, r) {
		return
	}
	s, err := m.requestSession(r)
	if err != nil {
		m.writeError(w, r, statusFor(err), err)
		return
	}
	ids, err := m.identities.UserIdentities(r.Context(), s.UserID)
	if err != nil {
		m.writeError(w, r, http.StatusInternalServerError, err)
		return
	}
	i := slices.IndexFunc(ids, func(id *Identity) bool { return id.ID == r.PathValue("id") })
	switch {
	case i < 0:
		m.writeError(w, r, http.StatusNotFound, fmt.Errorf("%w: no such identity", ErrNotFound))
		return
	case len(ids) == 1:
		m.writeError(w, r, http.StatusConflict, ErrLastIdentity)
		return
	}
	id := ids[i]
	if err := m.identities.DeleteIdentity(r.Context(), id.ID); err != nil {
		m.writeError(w, r, http.StatusInternalServerError, err)
		return
	}
	if tok, err := m.keys.open(id.ProviderTokens, "identity:"+id.ID); err == nil && tok != nil {
		m.revokeToken(r.Context(), id.Provider, tok)
	}
	w.WriteHeader(http.StatusNoContent)
}
