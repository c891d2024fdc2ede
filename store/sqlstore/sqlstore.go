// Package sqlstore is the SQL core of store/pgstore (PostgreSQL through
// pgx) and store/sqlitestore (SQLite through database/sql): it keeps
// oauthlogin's sessions, identities, one-time keys and the refresh lock:
// an oauthlogin.Store.
// Apps create a Store with pgstore.New or sqlitestore.New; this package
// imports no database driver, so an app links only the one it uses.
//
// One core serves both: the schema and the queries are written once,
// and differ only where the dialects do (column types, placeholders, how
// DeleteIdentity is made atomic).
//
// The schema is created and upgraded by Migrate, which records the
// versions it applied in oauthlogin_schema_migrations; run it at start-up
// (it is safe to run from several instances at once); version 2 adds the
// sessions' provider_sid, auth_time and acr columns to tables made by
// version 1, and a partial index on (provider, provider_sid); version 3
// adds oauthlogin_locks on PostgreSQL (SQLite has had it since version 1).
// Tables: oauthlogin_sessions, oauthlogin_identities (UNIQUE on issuer and
// subject, so that one provider account can never be linked twice, whatever
// the callers do), oauthlogin_one_time and oauthlogin_locks (Lock's lease
// rows). Expired sessions, one-time keys and locks are invisible at once
// but stay on disk until Purge removes them: call it every so often
// (hourly, say).
//
// Times are stored as Unix microseconds (BIGINT), as precise as
// PostgreSQL's own timestamps. Provider tokens arrive sealed (AES-GCM) from
// the Manager and are stored as opaque bytes; the session's own token is
// never stored, only its SHA-256 (Session.ID).
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oauthlogin/oauthlogin"
	"github.com/oauthlogin/oauthlogin/store/internal/sqldriver"
)

// Options configures a Store.
type Options struct {
	// Schema is the PostgreSQL schema that holds the tables; Migrate
	// creates it when missing. Empty means the connection's search_path.
	// Locks are rows of its tables, so stores in different schemas of one
	// database never share a lock. SQLite ignores it.
	Schema string
	// LockPoll is the longest pause between two attempts of Lock to take a
	// held lock; default 50ms. The first pauses are shorter, and each is
	// drawn at random from the upper half of its span, so that waiters do
	// not try again in lockstep when the lock frees.
	LockPoll time.Duration
	// DetachedTimeout bounds the single attempt that Lock makes with a
	// context that is already done (a try-lock) and the release that
	// unlock makes with one; default 2s.
	DetachedTimeout time.Duration
}

type dialect int

const (
	postgres dialect = iota
	sqlite
)

// Store is an oauthlogin.Store, with the SessionLister, SessionToucher and
// ProviderSessionDeleter capabilities, on PostgreSQL or SQLite. It is safe for concurrent use by any
// number of goroutines and, on PostgreSQL, app instances. Create it with
// pgstore.New or sqlitestore.New, then call Migrate.
type Store struct {
	dialect         dialect
	db              sqldriver.DB
	q               querier
	schema          string
	lockPoll        time.Duration
	detachedTimeout time.Duration
	now             func() time.Time
	sql             queries
	lost            lostRows // lock rows to release in the background (releaseLost)
}

var (
	_ oauthlogin.Store          = (*Store)(nil)
	_ oauthlogin.SessionLister  = (*Store)(nil)
	_ oauthlogin.SessionToucher = (*Store)(nil)

	_ oauthlogin.ProviderSessionDeleter = (*Store)(nil)
)

// New returns a Store on db, which store/pgstore (pgstore.New) or
// store/sqlitestore (sqlitestore.New) binds to its driver; db's type is
// internal to this module's store packages, so apps call those.
func New(db sqldriver.DB, opts Options) *Store {
	d := postgres
	if db.Dialect() == sqldriver.SQLite {
		d, opts.Schema = sqlite, ""
	}
	s := newStore(d, opts)
	s.db, s.q = db, dq{db}
	return s
}

// First returns the first of opts, or the defaults: the driver packages'
// New take their Options optionally.
func First(opts []Options) Options {
	if len(opts) > 0 {
		return opts[0]
	}
	return Options{}
}

func newStore(d dialect, opts Options) *Store {
	s := &Store{
		dialect:         d,
		schema:          opts.Schema,
		lockPoll:        opts.LockPoll,
		detachedTimeout: opts.DetachedTimeout,
		now:             time.Now,
	}
	if s.lockPoll <= 0 {
		s.lockPoll = 50 * time.Millisecond
	}
	if s.detachedTimeout <= 0 {
		s.detachedTimeout = 2 * time.Second
	}
	s.sql = s.buildQueries()
	return s
}

// table returns the quoted, schema-qualified name of one of the store's
// tables.
func (s *Store) table(name string) string {
	name = "oauthlogin_" + name
	if s.schema != "" {
		return quoteIdent(s.schema, name)
	}
	return quoteIdent(name)
}

// rewrite fills in the table names of a query written with {table}
// markers and PostgreSQL's $n placeholders, and for SQLite turns $n into
// its ?n.
func (s *Store) rewrite(q string) string {
	for _, t := range []string{"sessions", "identities", "one_time", "locks", "schema_migrations"} {
		q = strings.ReplaceAll(q, "{"+t+"}", s.table(t))
	}
	if s.dialect == sqlite {
		q = strings.ReplaceAll(q, "$", "?")
	}
	return q
}

// The pending column is what versions before v1 marked a token-mode
// pending record with (under an ID like a session's). Such a record is no
// session and can no longer be redeemed: the store writes false and reads
// only rows where it is false, so an old pending row is missing to it
// until it expires (minutes after it was written) or DeleteUserSessions
// removes it. The column stays, so that no migration is needed.
const (
	sessionColumns  = "user_id, identity_id, provider, provider_uid, provider_sid, auth_time, acr, provider_access_token_expiry, provider_tokens, created, last_seen, expires, ip, user_agent"
	identityColumns = "id, user_id, issuer, provider, subject, provider_email, verified_email, provider_access_token_expiry, provider_tokens, created, updated"
)

// queries are the store's statements, rewritten once for its dialect and
// tables.
type queries struct {
	session, saveSession, deleteSession, touchSession, userSessions, deleteUserSessions string
	updateSessionTokens, deleteProviderSessions, consume                                string
	identity, createIdentity, updateIdentity, userIdentities, identitiesByEmail         string
	lockIdentities, deleteIdentity, deleteLastSafe, identityOwned                       string
	lock, unlock                                                                        string
}

func (s *Store) buildQueries() queries {
	r := s.rewrite
	return queries{
		session: r(`SELECT ` + sessionColumns + ` FROM {sessions} WHERE id = $1 AND expires > $2 AND NOT pending`),
		saveSession: r(`INSERT INTO {sessions} (id, ` + sessionColumns + `, pending)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
			ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, identity_id = excluded.identity_id,
				provider = excluded.provider, provider_uid = excluded.provider_uid,
				provider_sid = excluded.provider_sid, auth_time = excluded.auth_time, acr = excluded.acr,
				provider_access_token_expiry = excluded.provider_access_token_expiry,
				provider_tokens = excluded.provider_tokens, created = excluded.created,
				last_seen = excluded.last_seen, pending = excluded.pending, expires = excluded.expires,
				ip = excluded.ip, user_agent = excluded.user_agent`),
		deleteSession: r(`DELETE FROM {sessions} WHERE id = $1`),
		touchSession:  r(`UPDATE {sessions} SET last_seen = $2 WHERE id = $1 AND expires > $3`),
		// Never an upsert: a session deleted meanwhile stays deleted.
		updateSessionTokens: r(`UPDATE {sessions} SET provider_tokens = $2, provider_access_token_expiry = $3
			WHERE id = $1 AND expires > $4`),
		userSessions:       r(`SELECT id, ` + sessionColumns + ` FROM {sessions} WHERE user_id = $1 AND expires > $2 AND NOT pending ORDER BY created, id`),
		deleteUserSessions: r(`DELETE FROM {sessions} WHERE user_id = $1`),
		// The partial index on (provider, provider_sid) serves it: sid is
		// never '' here.
		deleteProviderSessions: r(`DELETE FROM {sessions} WHERE provider = $1 AND provider_sid = $2 AND provider_sid <> ''`),

		// A mark that has expired is replaced; one that has not makes the
		// statement change nothing (0 rows): already used.
		consume: r(`INSERT INTO {one_time} AS o (key, expires) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET expires = excluded.expires WHERE o.expires <= $3`),

		identity: r(`SELECT ` + identityColumns + ` FROM {identities} WHERE issuer = $1 AND subject = $2`),
		createIdentity: r(`INSERT INTO {identities} (` + identityColumns + `)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`),
		updateIdentity: r(`UPDATE {identities} SET provider_email = $2, verified_email = $3,
			provider_access_token_expiry = $4, provider_tokens = $5, updated = $6 WHERE id = $1`),
		userIdentities:    r(`SELECT ` + identityColumns + ` FROM {identities} WHERE user_id = $1 ORDER BY created, id`),
		identitiesByEmail: r(`SELECT ` + identityColumns + ` FROM {identities} WHERE verified_email = $1 ORDER BY created, id`),

		// PostgreSQL: lock the user's identities (in id order, so that
		// concurrent deleters cannot deadlock), count, delete.
		lockIdentities: r(`SELECT id FROM {identities} WHERE user_id = $1 ORDER BY id FOR UPDATE`),
		deleteIdentity: r(`DELETE FROM {identities} WHERE id = $1 AND user_id = $2`),
		// SQLite: one statement, atomic since SQLite runs one writer at a
		// time; when it deletes nothing, identityOwned tells why.
		deleteLastSafe: r(`DELETE FROM {identities} WHERE id = $1 AND user_id = $2
			AND (SELECT count(*) FROM {identities} WHERE user_id = $2) > 1`),
		identityOwned: r(`SELECT count(*) FROM {identities} WHERE id = $1 AND user_id = $2`),

		lock: r(`INSERT INTO {locks} AS l (name, token, expires) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET token = excluded.token, expires = excluded.expires WHERE l.expires <= $4`),
		unlock: r(`DELETE FROM {locks} WHERE name = $1 AND token = $2`),
	}
}

// micros is t as stored: Unix microseconds. The zero time fits.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// authMicros is a session's AuthTime as stored: Unix microseconds, but 0
// for the zero time (no auth_time), the value of the rows from before the
// column. (The instant of the Unix epoch itself is no login time.) A
// small value also costs the drivers no allocation.
func authMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func fromAuthMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMicros(v)
}

// storeError wraps a database failure in oauthlogin.ErrStoreUnavailable (a
// 503 for the Manager); context errors stay visible to errors.Is.
func storeError(op string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqlstore: %s: %w", op, err)
	}
	return fmt.Errorf("sqlstore: %s: %w: %w", op, oauthlogin.ErrStoreUnavailable, err)
}

// Session implements oauthlogin.SessionStore: a session that does not
// exist or whose Expires has passed is (nil, ErrNotFound); the caller owns
// the result.
func (s *Store) Session(ctx context.Context, id string) (*oauthlogin.Session, error) {
	v, err := scanSession(s.q.queryRow(ctx, s.sql.session, id, micros(s.now())), id)
	if errNoRows(err) {
		return nil, oauthlogin.ErrNotFound
	}
	if err != nil {
		return nil, storeError("get session", err)
	}
	return v, nil
}

// scanSession reads sessionColumns, or "id, " and sessionColumns when id
// is "".
func scanSession(row scanner, id string) (*oauthlogin.Session, error) {
	v := &oauthlogin.Session{ID: id}
	// The times in one array: one allocation for the five, as Scan's
	// destinations escape.
	var t [5]int64 // auth_time, token expiry, created, last_seen, expires
	dest := []any{&v.UserID, &v.IdentityID, &v.Provider, &v.ProviderUID, &v.ProviderSID, &t[0], &v.ACR,
		&t[1], &v.ProviderTokens, &t[2], &t[3], &t[4], &v.IP, &v.UserAgent}
	if id == "" {
		dest = append([]any{&v.ID}, dest...)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	v.AuthTime = fromAuthMicros(t[0])
	v.ProviderAccessTokenExpiry, v.Created, v.LastSeen, v.Expires = fromMicros(t[1]), fromMicros(t[2]), fromMicros(t[3]), fromMicros(t[4])
	return v, nil
}

// SaveSession implements oauthlogin.SessionStore: it creates or replaces
// the session with v.ID in one upsert, keeping no reference to v.
func (s *Store) SaveSession(ctx context.Context, v *oauthlogin.Session) error {
	_, err := s.q.exec(ctx, s.sql.saveSession, v.ID, v.UserID, v.IdentityID, v.Provider, v.ProviderUID,
		v.ProviderSID, authMicros(v.AuthTime), v.ACR,
		micros(v.ProviderAccessTokenExpiry), v.ProviderTokens, micros(v.Created), micros(v.LastSeen),
		micros(v.Expires), v.IP, v.UserAgent, false)
	if err != nil {
		return storeError("save session", err)
	}
	return nil
}

// DeleteSession implements oauthlogin.SessionStore; a missing session is
// not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.q.exec(ctx, s.sql.deleteSession, id); err != nil {
		return storeError("delete session", err)
	}
	return nil
}

// TouchSession implements oauthlogin.SessionToucher: it updates last_seen
// alone, so a concurrent SaveSession's tokens stay; a missing or expired
// session is ErrNotFound.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	n, err := s.q.exec(ctx, s.sql.touchSession, id, micros(lastSeen), micros(s.now()))
	if err != nil {
		return storeError("touch session", err)
	}
	if n == 0 {
		return oauthlogin.ErrNotFound
	}
	return nil
}

// UpdateSessionTokens implements oauthlogin.SessionStore with one UPDATE
// of the tokens columns alone, conditional on the session existing and not
// having expired: no row changed is ErrNotFound, and nothing is inserted.
func (s *Store) UpdateSessionTokens(ctx context.Context, id string, tokens []byte, expiry time.Time) error {
	n, err := s.q.exec(ctx, s.sql.updateSessionTokens, id, tokens, micros(expiry), micros(s.now()))
	if err != nil {
		return storeError("update session tokens", err)
	}
	if n == 0 {
		return oauthlogin.ErrNotFound
	}
	return nil
}

// UserSessions implements oauthlogin.SessionLister: the user's unexpired
// sessions, oldest first (by Created, then ID), an empty slice for none.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]*oauthlogin.Session, error) {
	rows, err := s.q.query(ctx, s.sql.userSessions, userID, micros(s.now()))
	if err != nil {
		return nil, storeError("user sessions", err)
	}
	defer rows.Close()
	out := []*oauthlogin.Session{}
	for rows.Next() {
		v, err := scanSession(rows, "")
		if err != nil {
			return nil, storeError("user sessions", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError("user sessions", err)
	}
	return out, nil
}

// DeleteUserSessions implements oauthlogin.SessionStore: one DELETE of
// every session of the user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	if _, err := s.q.exec(ctx, s.sql.deleteUserSessions, userID); err != nil {
		return storeError("delete user sessions", err)
	}
	return nil
}

// DeleteProviderSessions implements oauthlogin.ProviderSessionDeleter:
// one DELETE of the sessions (and pending records) of the provider session
// (provider, sid), through the index on those columns. A session has no
// other index row to remove: the user's list is a query on user_id.
func (s *Store) DeleteProviderSessions(ctx context.Context, provider, sid string) error {
	if _, err := s.q.exec(ctx, s.sql.deleteProviderSessions, provider, sid); err != nil {
		return storeError("delete provider sessions", err)
	}
	return nil
}

// Consume implements oauthlogin.Store with one INSERT ... ON
// CONFLICT that replaces only an expired mark.
func (s *Store) Consume(ctx context.Context, key string, expires time.Time) error {
	n, err := s.q.exec(ctx, s.sql.consume, key, micros(expires), micros(s.now()))
	if err != nil {
		return storeError("consume", err)
	}
	if n == 0 {
		return oauthlogin.ErrAlreadyUsed
	}
	return nil
}

func scanIdentity(row scanner) (*oauthlogin.Identity, error) {
	v := &oauthlogin.Identity{}
	var expiry, created, updated int64
	if err := row.Scan(&v.ID, &v.UserID, &v.Issuer, &v.Provider, &v.ProviderUID, &v.ProviderEmail, &v.VerifiedEmail,
		&expiry, &v.ProviderTokens, &created, &updated); err != nil {
		return nil, err
	}
	v.ProviderAccessTokenExpiry, v.Created, v.Updated = fromMicros(expiry), fromMicros(created), fromMicros(updated)
	return v, nil
}

// Identity implements oauthlogin.IdentityStore: the identity of the
// provider account (issuer, subject), or (nil, ErrNotFound).
func (s *Store) Identity(ctx context.Context, issuer, subject string) (*oauthlogin.Identity, error) {
	v, err := scanIdentity(s.q.queryRow(ctx, s.sql.identity, issuer, subject))
	if errNoRows(err) {
		return nil, oauthlogin.ErrNotFound
	}
	if err != nil {
		return nil, storeError("get identity", err)
	}
	return v, nil
}

// CreateIdentity implements oauthlogin.IdentityStore. The table's UNIQUE
// (issuer, subject) constraint decides between concurrent creators; an ID
// already in use is ErrIdentityExists too.
func (s *Store) CreateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	n, err := s.q.exec(ctx, s.sql.createIdentity, v.ID, v.UserID, v.Issuer, v.Provider, v.ProviderUID,
		v.ProviderEmail, v.VerifiedEmail, micros(v.ProviderAccessTokenExpiry), v.ProviderTokens,
		micros(v.Created), micros(v.Updated))
	if err != nil {
		return storeError("create identity", err)
	}
	if n == 0 {
		return oauthlogin.ErrIdentityExists
	}
	return nil
}

// UpdateIdentity implements oauthlogin.IdentityStore: it writes only the
// emails, the tokens, their expiry and Updated.
func (s *Store) UpdateIdentity(ctx context.Context, v *oauthlogin.Identity) error {
	n, err := s.q.exec(ctx, s.sql.updateIdentity, v.ID, v.ProviderEmail, v.VerifiedEmail,
		micros(v.ProviderAccessTokenExpiry), v.ProviderTokens, micros(v.Updated))
	if err != nil {
		return storeError("update identity", err)
	}
	if n == 0 {
		return oauthlogin.ErrNotFound
	}
	return nil
}

func (s *Store) identities(ctx context.Context, op, q, arg string) ([]*oauthlogin.Identity, error) {
	rows, err := s.q.query(ctx, q, arg)
	if err != nil {
		return nil, storeError(op, err)
	}
	defer rows.Close()
	out := []*oauthlogin.Identity{}
	for rows.Next() {
		v, err := scanIdentity(rows)
		if err != nil {
			return nil, storeError(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(op, err)
	}
	return out, nil
}

// UserIdentities implements oauthlogin.IdentityStore: the user's
// identities, oldest first (by Created, then ID); an empty slice for none.
func (s *Store) UserIdentities(ctx context.Context, userID string) ([]*oauthlogin.Identity, error) {
	return s.identities(ctx, "user identities", s.sql.userIdentities, userID)
}

// IdentitiesByEmail implements oauthlogin.IdentityStore: the identities
// whose VerifiedEmail is exactly email, oldest first; an empty slice for
// none (and for "").
func (s *Store) IdentitiesByEmail(ctx context.Context, email string) ([]*oauthlogin.Identity, error) {
	if email == "" {
		return []*oauthlogin.Identity{}, nil
	}
	return s.identities(ctx, "identities by email", s.sql.identitiesByEmail, email)
}

// DeleteIdentity implements oauthlogin.IdentityStore. On PostgreSQL it is
// a transaction that first locks all the user's identity rows, so that
// concurrent deletes of one user's identities run one after the other; on
// SQLite it is one conditional DELETE.
func (s *Store) DeleteIdentity(ctx context.Context, userID, id string) error {
	if s.dialect == sqlite {
		return s.deleteIdentitySQLite(ctx, userID, id)
	}
	err := s.db.Tx(ctx, func(tx sqldriver.Querier) error {
		rows, err := tx.Query(ctx, s.sql.lockIdentities, userID)
		if err != nil {
			return err
		}
		ids, err := collectStrings(rows)
		if err != nil {
			return err
		}
		found := false
		for _, x := range ids {
			found = found || x == id
		}
		switch {
		case !found:
			return oauthlogin.ErrNotFound
		case len(ids) == 1:
			return oauthlogin.ErrLastIdentity
		}
		_, err = tx.Exec(ctx, s.sql.deleteIdentity, id, userID)
		return err
	})
	if errors.Is(err, oauthlogin.ErrNotFound) || errors.Is(err, oauthlogin.ErrLastIdentity) {
		return err
	}
	if err != nil {
		return storeError("delete identity", err)
	}
	return nil
}

func (s *Store) deleteIdentitySQLite(ctx context.Context, userID, id string) error {
	n, err := s.q.exec(ctx, s.sql.deleteLastSafe, id, userID)
	if err != nil {
		return storeError("delete identity", err)
	}
	if n == 1 {
		return nil
	}
	var owned int
	if err := s.q.queryRow(ctx, s.sql.identityOwned, id, userID).Scan(&owned); err != nil {
		return storeError("delete identity", err)
	}
	if owned == 0 {
		return oauthlogin.ErrNotFound
	}
	return oauthlogin.ErrLastIdentity
}
