package oauthlogin

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// DPoP (RFC 9449): for a provider whose DPoP method reports true, every
// token request (code exchange, refresh, device poll) carries a proof
// signed by a P-256 key made for the login, and so do the resource requests
// of Manager.Client. The key is made at the callback (or device poll),
// before the token request, and travels with the tokens: in the request's
// context to the back-channel transport, then in the tokens sealed with
// the identity and with each session (sealedToken.DPoPKey), so that a
// refresh on any instance signs with the key the refresh token is bound
// to. A provider without DPoP costs nothing: rp.dpop is nil and no key is
// ever made or looked for.

// dpopKey is a DPoP private key and its go-jose signer (ES256, the public
// key embedded as the jwk header, typ dpop+jwt: RFC 9449 §4.2).
type dpopKey struct {
	priv   *ecdsa.PrivateKey
	signer jose.Signer
}

// newDPoPKey makes a fresh P-256 key.
func newDPoPKey() (*dpopKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return dpopKeyOf(priv)
}

// parseDPoPKey reverses dpopKey.bytes.
func parseDPoPKey(raw []byte) (*dpopKey, error) {
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), raw)
	if err != nil {
		return nil, err
	}
	return dpopKeyOf(priv)
}

func dpopKeyOf(priv *ecdsa.PrivateKey) (*dpopKey, error) {
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv}, opts)
	if err != nil {
		return nil, err
	}
	return &dpopKey{priv: priv, signer: signer}, nil
}

// bytes is the key as sealed: the private scalar, 32 bytes.
func (k *dpopKey) bytes() []byte {
	b, err := k.priv.Bytes()
	if err != nil {
		return nil // never for a P-256 key
	}
	return b
}

// dpopClaims is the payload of a proof (RFC 9449 §4.2).
type dpopClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// proof signs a proof for a request: a fresh jti (128 random bits), the
// method, the target URI without query and fragment, iat, and ath (the
// base64url SHA-256 of the access token) and nonce when given.
func (k *dpopKey) proof(method string, u *url.URL, accessToken, nonce string, now time.Time) (string, error) {
	c := dpopClaims{JTI: randomToken(16), HTM: method, HTU: htu(u), IAT: now.Unix(), Nonce: nonce}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c.ATH = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := k.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// htu is a request's URI as a proof names it: without query, fragment or
// user info (RFC 9449 §4.2).
func htu(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}

// dpopKeyCtx is the context key of the DPoP key of a token request.
type dpopKeyCtx struct{}

// withDPoPKey returns ctx carrying key to the back-channel transport.
func withDPoPKey(ctx context.Context, key *dpopKey) context.Context {
	return context.WithValue(ctx, dpopKeyCtx{}, key)
}

// ctxDPoPKey returns the DPoP key ctx carries, or nil.
func ctxDPoPKey(ctx context.Context) *dpopKey {
	key, _ := ctx.Value(dpopKeyCtx{}).(*dpopKey)
	return key
}

// tokenContext returns ctx carrying the DPoP key tok is bound to, if
// any, for requests that use tok (the user info request of a login).
func tokenContext(ctx context.Context, tok *oauth2.Token) context.Context {
	if key := tokenDPoPKey(tok); key != nil {
		return withDPoPKey(ctx, key)
	}
	return ctx
}

// dpopExtra names the DPoP key among a token's extras: the key travels
// with the tokens from the token response to every seal (identity,
// sessions) and from every open back to the requests that use them. Only
// this package puts a *dpopKey there; a provider's JSON cannot (its
// values decode to strings, numbers, maps and slices).
const dpopExtra = "oauthlogin.dpop_key"

// tokenDPoPKey returns the DPoP key the tokens are bound to, or nil.
func tokenDPoPKey(tok *oauth2.Token) *dpopKey {
	if tok == nil {
		return nil
	}
	k, _ := tok.Extra(dpopExtra).(*dpopKey)
	return k
}

// withTokenDPoPKey returns tok with key among its extras. A token
// response's extras that a seal keeps (the ID token) are kept.
func withTokenDPoPKey(tok *oauth2.Token, key *dpopKey) *oauth2.Token {
	id, _ := tok.Extra("id_token").(string)
	return withSealedExtras(tok, id, key)
}

// sameDPoPKey reports whether a and b are bound to the same DPoP key, or
// both to none.
func sameDPoPKey(a, b *oauth2.Token) bool {
	ka, kb := tokenDPoPKey(a), tokenDPoPKey(b)
	if ka == nil || kb == nil {
		return ka == kb
	}
	return ka.priv.Equal(kb.priv)
}

// dpopState is a DPoP provider's per-Manager state: the clock of proofs'
// iat and the last nonce each origin gave (RFC 9449 §8, §9).
type dpopState struct {
	now    func() time.Time
	mu     sync.Mutex
	nonces map[string]string
}

// maxDPoPNonces bounds the origins whose nonce is kept; maxDPoPNonce
// bounds a nonce.
const (
	maxDPoPNonces = 64
	maxDPoPNonce  = 512
)

func newDPoPState(now func() time.Time) *dpopState {
	return &dpopState{now: now, nonces: make(map[string]string)}
}

func (d *dpopState) nonce(origin string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nonces[origin]
}

// remember keeps the nonce of a DPoP-Nonce header, when it is one: 1 to
// maxDPoPNonce characters of NQCHAR (RFC 9449 §8.1).
func (d *dpopState) remember(origin, nonce string) {
	if nonce == "" || len(nonce) > maxDPoPNonce {
		return
	}
	if !nqchars(nonce) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.nonces[origin]; !ok && len(d.nonces) >= maxDPoPNonces {
		clear(d.nonces)
	}
	d.nonces[origin] = nonce
}

// roundTripDPoP sends req through base, with a DPoP proof when rp has
// DPoP on and the request's context carries a key (token requests), and
// retries once with the server's nonce when it asks for one.
func (rp *registered) roundTripDPoP(base http.RoundTripper, req *http.Request) (*http.Response, error) {
	if rp.dpop == nil {
		return base.RoundTrip(req)
	}
	key := ctxDPoPKey(req.Context())
	if key == nil {
		return base.RoundTrip(req)
	}
	return rp.dpop.roundTrip(base, req, key)
}

// roundTrip sends req with a proof by key. A request with an
// "Authorization: DPoP" header is a resource request: its proof carries
// ath. When the answer asks for a nonce (use_dpop_nonce: a 400 JSON error
// from a token endpoint, RFC 9449 §8; a 401 DPoP challenge from a
// resource server, §9) with a DPoP-Nonce header, the request is sent once
// more with that nonce, and never a third time.
func (d *dpopState) roundTrip(base http.RoundTripper, req *http.Request, key *dpopKey) (*http.Response, error) {
	accessToken := ""
	if scheme, tok, ok := strings.Cut(req.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "DPoP") {
		accessToken = tok
	}
	origin := req.URL.Scheme + "://" + req.URL.Host
	resend := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		sent := d.nonce(origin)
		proof, err := key.proof(req.Method, req.URL, accessToken, sent, d.now())
		if err != nil {
			if attempt == 0 && req.Body != nil {
				req.Body.Close() // a RoundTripper closes the body, even on error
			}
			return nil, fmt.Errorf("%w: %w", errDPoP, err)
		}
		r := req.Clone(req.Context())
		if attempt > 0 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		r.Header.Set("DPoP", proof)
		resp, err := base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		nonce := resp.Header.Get("DPoP-Nonce")
		if nonce == "" {
			return resp, nil
		}
		d.remember(origin, nonce)
		if attempt > 0 || !resend || nonce == sent || d.nonce(origin) != nonce || !askedForNonce(resp) {
			return resp, nil
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

// askedForNonce reports whether resp is a use_dpop_nonce answer: a 401
// whose WWW-Authenticate DPoP challenge has error="use_dpop_nonce"
// (RFC 9449 §9), or a 400 whose JSON error is use_dpop_nonce (§8). A
// 400's body is read (at most 64 KiB) and put back for the caller.
func askedForNonce(resp *http.Response) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		for _, v := range resp.Header.Values("WWW-Authenticate") {
			scheme, params, _ := strings.Cut(strings.TrimSpace(v), " ")
			if strings.EqualFold(scheme, "DPoP") && strings.Contains(params, `error="use_dpop_nonce"`) {
				return true
			}
		}
	case http.StatusBadRequest:
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(body), resp.Body), resp.Body}
		var e struct {
			Error string `json:"error"`
		}
		return err == nil && json.Unmarshal(body, &e) == nil && e.Error == "use_dpop_nonce"
	}
	return false
}

// dpopContext returns ctx with a DPoP key for a token request of rp: key
// when given (the key a refresh token is bound to), else a fresh one (a
// login; a refresh token from before DPoP was turned on); and the key.
// For a provider without DPoP it returns ctx and nil.
func (rp *registered) dpopContext(ctx context.Context, key *dpopKey) (context.Context, *dpopKey, error) {
	if rp.dpop == nil {
		return ctx, nil, nil
	}
	if key == nil {
		var err error
		if key, err = newDPoPKey(); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errDPoP, err)
		}
	}
	return withDPoPKey(ctx, key), key, nil
}

// errNotDPoP is the cause of a token response refused because a DPoP
// request was answered with another token_type.
var errNotDPoP = errors.New("oauthlogin: the provider answered a DPoP token request with a token_type other than DPoP")

// checkBoundTokenType is checkTokenType for a token request sent with a
// proof by key (nil: none): then only token_type DPoP is accepted (RFC
// 9449 §5). The caller binds the tokens to key (withTokenDPoPKey) once
// nothing needs the token response's other extras.
func checkBoundTokenType(tok *oauth2.Token, key *dpopKey) error {
	if key == nil {
		return checkTokenType(tok)
	}
	if !strings.EqualFold(tok.TokenType, "DPoP") {
		return fmt.Errorf("%w: %w", errDPoP, errNotDPoP)
	}
	return nil
}

// dpopRefused reports whether a token endpoint error is about the proof
// (invalid_dpop_proof, or use_dpop_nonce after the one retry).
func dpopRefused(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && (re.ErrorCode == "invalid_dpop_proof" || re.ErrorCode == "use_dpop_nonce")
}

// exchangeError is the error of a failed code exchange: ErrTokenExchange,
// and dpop_failed when the proof was refused or the answer not DPoP.
func exchangeError(err error) error {
	if errors.Is(err, errDPoP) || dpopRefused(err) {
		return fmt.Errorf("%w: %w: %w", errDPoP, ErrTokenExchange, err)
	}
	return wrap(ErrTokenExchange, err)
}

// dpopClient returns Manager.Client's client for a session of a provider
// with DPoP on (dpopTransport), or nil for any other.
func (m *Manager) dpopClient(ctx context.Context, s *Session) *http.Client {
	rp, ok := m.lookup(s.Provider)
	if !ok || rp.dpop == nil {
		return nil
	}
	base := m.client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	src := oauth2.ReuseTokenSource(nil, m.TokenSource(ctx, s))
	// A copy of the Manager's client, as oauth2.NewClient makes for the
	// Bearer one: its timeout, and its refusal to follow redirects, which
	// would carry the token and a fresh proof to another origin (RFC 9449
	// §7, RFC 9700 §4.11).
	c := *m.client
	c.Transport = &dpopTransport{src: src, base: base, state: rp.dpop}
	return &c
}

// dpopTransport sends a session's resource requests (Manager.Client) for
// a provider with DPoP on: a DPoP-bound access token as "Authorization:
// DPoP" with a proof carrying ath, a Bearer one as before.
type dpopTransport struct {
	src   oauth2.TokenSource
	base  http.RoundTripper
	state *dpopState
}

// RoundTrip implements http.RoundTripper.
func (t *dpopTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := t.src.Token()
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = req.Body
	key := tokenDPoPKey(tok)
	if key == nil || !strings.EqualFold(tok.TokenType, "DPoP") {
		tok.SetAuthHeader(r)
		return t.base.RoundTrip(r)
	}
	r.Header.Set("Authorization", "DPoP "+tok.AccessToken)
	return t.state.roundTrip(t.base, r, key)
}
