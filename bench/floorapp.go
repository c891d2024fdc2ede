package bench

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// NewFloorApp is no library: the least a secure login must do, written
// out by hand as the yardstick the libraries are held to. Begin: three
// random values, S256, one sealed cookie, a redirect. Callback: the cookie
// opened, the state compared, the token POST, the RS256 signature and the
// iss, aud, exp, nonce and at_hash claims checked, the userinfo GET with
// its sub compared, and a server-side session (a random token, stored by
// its SHA-256). The key is the fake's, as if read from its JWKS once.
func NewFloorApp(f *Fake, back *http.Client) (*App, error) { return newFloorApp(f, back, nil) }

// floorSessions is the floor app's session store: subjects by the SHA-256
// of the session token, in memory.
type floorSessions struct {
	mu sync.Mutex
	m  map[[32]byte]string
}

// newFloorApp is NewFloorApp as one of the instances sh joins: the same
// client, the same flow cookie keys, and one in-process session map for
// all (what a shared session store would be, at no cost: the floor is the
// yardstick).
func newFloorApp(f *Fake, back *http.Client, sh *Shared) (*App, error) {
	a := newApp("floor", f, sh)
	id := sh.clientID("floor-app")
	c := &FakeClient{ID: id, Secret: "secret-" + id, RedirectURI: a.URL + "/auth/callback"}
	f.AddClient(c)
	pub := f.PublicKey()
	sealer := newSealer(sh, "floor-flow")
	sessions := sh.get("floor-sessions", func() any { return &floorSessions{m: map[[32]byte]string{}} }).(*floorSessions)
	authPrefix := f.URL + "/authorize?client_id=" + url.QueryEscape(c.ID) + "&redirect_uri=" + url.QueryEscape(c.RedirectURI) +
		"&response_type=code&scope=openid+email+profile&code_challenge_method=S256"
	a.BeginURL = a.URL + "/auth/login"
	a.SessionCookie = "session"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/login", func(w http.ResponseWriter, r *http.Request) {
		fl := flowValue{State: random43(), Verifier: random43(), Nonce: random43(), Success: a.SuccessURL, Failure: a.URL + "/failed",
			Expires: time.Now().Add(10 * time.Minute).Unix()}
		sum := sha256.Sum256([]byte(fl.Verifier))
		sealed, err := sealer.Encode("flow", fl)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "flow", Value: sealed, Path: "/auth/", MaxAge: 600, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Location", authPrefix+"&state="+fl.State+"&nonce="+fl.Nonce+"&code_challenge="+b64(sum[:]))
		w.WriteHeader(http.StatusFound)
	})
	mux.HandleFunc("GET /auth/callback", func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie("flow")
		var fl flowValue
		if err != nil || sealer.Decode("flow", ck.Value, &fl) != nil {
			http.Error(w, "no flow", http.StatusBadRequest)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "flow", Path: "/auth/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(fl.State)) != 1 || time.Now().Unix() >= fl.Expires || q.Get("iss") != f.URL {
			redirectTo(w, fl.Failure)
			return
		}
		sub, err := floorExchange(back, f.URL, c, pub, q.Get("code"), fl)
		if err != nil {
			redirectTo(w, fl.Failure)
			return
		}
		var raw [32]byte
		rand.Read(raw[:])
		token := b64(raw[:])
		sessions.mu.Lock()
		sessions.m[sha256.Sum256([]byte(token))] = sub
		sessions.mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "session", Value: token, Path: "/", MaxAge: 30 * 86400, HttpOnly: true, SameSite: http.SameSiteLaxMode})
		redirectTo(w, fl.Success)
	})
	a.Private = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ck, err := r.Cookie("session")
		if err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		sessions.mu.Lock()
		_, ok := sessions.m[sha256.Sum256([]byte(ck.Value))]
		sessions.mu.Unlock()
		if !ok {
			http.Error(w, "no session", http.StatusUnauthorized)
		}
	})
	mux.Handle("GET /private", a.Private)
	a.start(mux)
	return a, nil
}

// floorExchange redeems the code, verifies the ID token and reads userinfo;
// it returns the subject.
func floorExchange(back *http.Client, issuer string, c *FakeClient, pub *rsa.PublicKey, code string, fl flowValue) (string, error) {
	form := "grant_type=authorization_code&code=" + url.QueryEscape(code) + "&redirect_uri=" + url.QueryEscape(c.RedirectURI) + "&code_verifier=" + fl.Verifier
	req, err := http.NewRequest(http.MethodPost, issuer+"/token", strings.NewReader(form))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ID, c.Secret)
	var tok struct {
		AccessToken string `json:"access_token"`
		IDToken     string `json:"id_token"`
	}
	if err := doJSON(back, req, &tok); err != nil {
		return "", err
	}
	// The ID token: RS256 signature, then the claims.
	dot := strings.LastIndexByte(tok.IDToken, '.')
	first := strings.IndexByte(tok.IDToken, '.')
	if dot < 0 || first == dot {
		return "", errors.New("malformed ID token")
	}
	sig, err := base64.RawURLEncoding.DecodeString(tok.IDToken[dot+1:])
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(tok.IDToken[:dot]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return "", err
	}
	payload, err := base64.RawURLEncoding.DecodeString(tok.IDToken[first+1 : dot])
	if err != nil {
		return "", err
	}
	var claims struct {
		Iss    string `json:"iss"`
		Sub    string `json:"sub"`
		Aud    string `json:"aud"`
		Exp    int64  `json:"exp"`
		Nonce  string `json:"nonce"`
		AtHash string `json:"at_hash"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return "", err
	}
	if claims.Iss != issuer || claims.Aud != c.ID || claims.Sub == "" || time.Now().Unix() >= claims.Exp ||
		subtle.ConstantTimeCompare([]byte(claims.Nonce), []byte(fl.Nonce)) != 1 || claims.AtHash != atHash(tok.AccessToken) {
		return "", errors.New("ID token claims refused")
	}
	req, err = http.NewRequest(http.MethodGet, issuer+"/userinfo", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	var info struct {
		Sub string `json:"sub"`
	}
	if err := doJSON(back, req, &info); err != nil {
		return "", err
	}
	if info.Sub != claims.Sub {
		return "", errors.New("userinfo sub differs")
	}
	return claims.Sub, nil
}

func doJSON(c *http.Client, req *http.Request, v any) error {
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.Unmarshal(body, v)
}

func redirectTo(w http.ResponseWriter, to string) {
	w.Header().Set("Location", to)
	w.WriteHeader(http.StatusFound)
}

// random43 is 32 random bytes, base64url.
func random43() string {
	var b [32]byte
	rand.Read(b[:])
	return b64(b[:])
}

// flowValue is the floor app's sealed login state, of the size and shape
// of oauthlogin's.
type flowValue struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Verifier string `json:"v"`
	Nonce    string `json:"n"`
	Success  string `json:"ok"`
	Failure  string `json:"f"`
	Expires  int64  `json:"e"`
}
