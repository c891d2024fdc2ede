package oauthlogintest

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DPoP (RFC 9449). The token endpoint (every grant) and the userinfo
// endpoint verify a DPoP proof when one is sent, as §4.3 lists: one DPoP
// header, a compact JWS with typ dpop+jwt and alg ES256 signed by the
// public jwk of its header, htm and htu of this request (the issuer's
// URL, query and fragment ignored), iat within dpopWindow of the
// server's clock, a jti never seen before, and with [Behavior.DPoPNonce]
// the server's current nonce. A token request with a valid proof gets
// token_type DPoP and tokens bound to the key's RFC 7638 thumbprint (the
// jkt); a refresh token so bound is redeemed only with a proof by the
// same key (§5). At userinfo a bound access token must come as
// "Authorization: DPoP" with a proof by its key whose ath is the token's
// hash (§7); as Bearer it is refused.

// dpopWindow is how far a proof's iat may be from the server's clock.
const dpopWindow = 5 * time.Minute

// dpopError is a refused proof: invalid_dpop_proof, or use_dpop_nonce
// when the proof lacks the server's current nonce.
type dpopError struct {
	code        string
	description string
}

// writeToken answers a token request with the error (RFC 9449 §5, §8).
func (e *dpopError) writeToken(w http.ResponseWriter) {
	writeError(w, http.StatusBadRequest, e.code, e.description)
}

// writeResource answers a userinfo request with the error and a DPoP
// challenge (RFC 9449 §7.1, §9).
func (e *dpopError) writeResource(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `DPoP algs="ES256", error="`+e.code+`"`)
	writeError(w, http.StatusUnauthorized, e.code, e.description)
}

func invalidProof(description string) *dpopError {
	return &dpopError{"invalid_dpop_proof", description}
}

// checkDPoP verifies the request's DPoP proof, if any, and returns the
// thumbprint of its key ("" without a proof). accessToken is the token
// the request presents to a resource ("" at the token endpoint): the
// proof's ath must be its hash. With Behavior.DPoPNonce the answer
// carries the server's nonce, a new one after each accepted proof.
func (s *Server) checkDPoP(w http.ResponseWriter, r *http.Request, accessToken string, b Behavior) (string, *dpopError) {
	values := r.Header["Dpop"] // the canonical form of DPoP, looked up without allocating
	if b.DPoPNonce {
		defer func() { w.Header().Set("DPoP-Nonce", s.currentDPoPNonce()) }()
	}
	switch {
	case len(values) == 0:
		if accessToken != "" {
			return "", invalidProof("a DPoP-bound token needs a DPoP proof")
		}
		return "", nil
	case len(values) > 1:
		return "", invalidProof("more than one DPoP header")
	}
	jws, err := jose.ParseSignedCompact(values[0], []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return "", invalidProof("not a compact JWS in ES256")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return "", invalidProof("typ is not dpop+jwt")
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return "", invalidProof("no public jwk in the header")
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return "", invalidProof("bad signature")
	}
	var c struct {
		JTI   string      `json:"jti"`
		HTM   string      `json:"htm"`
		HTU   string      `json:"htu"`
		IAT   json.Number `json:"iat"`
		ATH   *string     `json:"ath"`
		Nonce string      `json:"nonce"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", invalidProof("claims are not a JSON object")
	}
	iat, err := c.IAT.Int64()
	now := time.Now()
	switch {
	case c.JTI == "" || len(c.JTI) > 256:
		return "", invalidProof("no jti")
	case c.HTM != r.Method:
		return "", invalidProof("htm is not the request's method")
	case !sameURI(c.HTU, s.issuer+r.URL.Path):
		return "", invalidProof("htu is not the request's URI")
	case err != nil:
		return "", invalidProof("no iat")
	case time.Unix(iat, 0).Before(now.Add(-dpopWindow)) || time.Unix(iat, 0).After(now.Add(dpopWindow)):
		return "", invalidProof("iat is outside the accepted window")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if c.ATH == nil || subtle.ConstantTimeCompare([]byte(*c.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
			return "", invalidProof("ath is not the access token's hash")
		}
	}
	thumb, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", invalidProof("cannot compute the jwk thumbprint")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.DPoPNonce && (s.dpopNonce == "" || c.Nonce != s.dpopNonce) {
		if s.dpopNonce == "" {
			s.dpopNonce = randomString()
		}
		return "", &dpopError{"use_dpop_nonce", "the proof must carry the server's nonce"}
	}
	if s.dpopJTIs == nil {
		s.dpopJTIs = make(map[string]time.Time)
	}
	if _, seen := s.dpopJTIs[c.JTI]; seen {
		return "", invalidProof("jti already used")
	}
	if len(s.dpopJTIs) > 10000 {
		for k, t := range s.dpopJTIs {
			if now.Sub(t) > 2*dpopWindow {
				delete(s.dpopJTIs, k)
			}
		}
	}
	s.dpopJTIs[c.JTI] = now
	if b.DPoPNonce {
		s.dpopNonce = randomString() // rotated: the answer carries the next one
	}
	s.dpopProofs++
	return base64.RawURLEncoding.EncodeToString(thumb), nil
}

// currentDPoPNonce returns the nonce proofs must carry under
// Behavior.DPoPNonce, making the first one.
func (s *Server) currentDPoPNonce() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dpopNonce == "" {
		s.dpopNonce = randomString()
	}
	return s.dpopNonce
}

// sameURI compares a proof's htu with the request's URI after RFC 3986
// §6.2.2 and §6.2.3 normalization (case of scheme and host, default
// port), ignoring query and fragment (RFC 9449 §4.3, check 9).
func sameURI(htu, want string) bool {
	a, err := url.Parse(htu)
	if err != nil {
		return false
	}
	b, err := url.Parse(want)
	if err != nil {
		return false
	}
	norm := func(u *url.URL) string {
		host := strings.ToLower(u.Host)
		scheme := strings.ToLower(u.Scheme)
		if scheme == "http" {
			host = strings.TrimSuffix(host, ":80")
		} else if scheme == "https" {
			host = strings.TrimSuffix(host, ":443")
		}
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		return scheme + "://" + host + path
	}
	return a.User == nil && norm(a) == norm(b)
}

// checkRefreshBinding refuses a refresh token bound to a key unless jkt,
// the thumbprint of the request's proof, is that key's (RFC 9449 §5).
func (s *Server) checkRefreshBinding(refreshToken, jkt string) *dpopError {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.refresh[refreshToken]
	switch {
	case t == nil || t.jkt == "":
		return nil
	case jkt == "":
		return invalidProof("the refresh token is DPoP-bound: a proof by its key is required")
	case subtle.ConstantTimeCompare([]byte(jkt), []byte(t.jkt)) != 1:
		return invalidProof("the refresh token is bound to another key")
	}
	return nil
}

// bindDPoP binds the tokens of a response to jkt (none when jkt is "",
// or with Behavior.IgnoreDPoP) and answers token_type DPoP.
func (s *Server) bindDPoP(resp *tokenResponse, jkt string, b Behavior) {
	if jkt == "" || b.IgnoreDPoP {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.access[resp.AccessToken]; t != nil {
		t.jkt = jkt
	}
	if t := s.refresh[resp.RefreshToken]; t != nil && t.jkt == "" {
		t.jkt = jkt
	}
	resp.TokenType = "DPoP"
}

// dpopToken returns the access token of an "Authorization: DPoP" header
// and the thumbprint of the request's proof, which must be valid for it.
func (s *Server) dpopToken(w http.ResponseWriter, r *http.Request, b Behavior) (string, string, *dpopError) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "DPoP") || token == "" {
		return "", "", nil
	}
	jkt, e := s.checkDPoP(w, r, token, b)
	return token, jkt, e
}

// DPoPProofs reports how many DPoP proofs the server has verified (at the
// token and userinfo endpoints): each is valid and was sent once, though
// the request may still have been refused for another reason (a token
// bound to another key, say).
func (s *Server) DPoPProofs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dpopProofs
}
