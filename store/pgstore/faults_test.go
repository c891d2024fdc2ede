package pgstore_test

import (
	"context"
	"testing"

	"github.com/oauthlogin/oauthlogin/store/internal/scenario"
	"github.com/oauthlogin/oauthlogin/store/pgstore"
)

// The PostgreSQL server crashes under load from two instances (an
// immediate shutdown) and starts again, as pg_ctl restart -m immediate
// does: only 503s meanwhile, service back by itself, nothing acknowledged
// lost, no refresh token sent twice.
func TestPostgresFaultsRestart(t *testing.T) {
	t.Parallel()
	pool(t) // the same skip rule as the other tests
	srv := scenario.StartPostgres(t)
	p := connect(t, srv.URL)
	s := pgstore.New(p, pgstore.Options{})
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	scenario.FaultsUnderLoad(t, s, scenario.Fault{Server: srv, Close: p.Close})
}
