// Command sessionserver serves an empty page behind oauthlogin's
// RequireSession on a loopback port, with a MemoryStore holding -sessions
// sessions, for a load generator (wrk): GET /private needs the cookie it
// prints, GET /empty is the same empty handler without the middleware.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/bench"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	n := flag.Int("sessions", 100_000, "sessions in the store")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	store := oauthlogin.NewMemoryStore()
	for i := range *n {
		if err := store.SaveSession(context.Background(), bench.SampleSession(i)); err != nil {
			log.Fatal(err)
		}
	}
	m, err := oauthlogin.New(oauthlogin.Config{
		BaseURL: "http://" + ln.Addr().String(),
		Keys:    oauthlogin.Keys{Cookie: []oauthlogin.CookieKey{oauthlogin.GenerateCookieKey()}},
		Store:   store,
	})
	if err != nil {
		log.Fatal(err)
	}
	empty := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("GET /private", m.RequireSession(empty))
	mux.Handle("GET /empty", empty)
	// The first line is for scripts: the URL, then the cookie.
	fmt.Printf("http://%s oauthlogin_session=%s\n", ln.Addr(), bench.SampleToken(*n/2))
	log.Fatal(http.Serve(ln, mux))
}
