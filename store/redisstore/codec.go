package redisstore

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/oauthlogin/oauthlogin"
)

// Records are stored in a small binary form: a version byte, then each
// field in a fixed order, strings and byte slices as a uvarint length and
// the bytes, times as a varint of Unix seconds and a uvarint of
// nanoseconds (exact, zero time included). No reflection, no gob.
const codecVersion = 1

var errCorrupt = errors.New("redisstore: corrupt record")

// errOldPending is a token-mode pending record written before v1, which
// marked such records with a flag (now always false) and kept them under
// IDs like a session's. Such a record is no session and cannot be
// redeemed either: reads take it as missing.
var errOldPending = errors.New("redisstore: pending record of an older version")

type writer []byte

func (w *writer) str(s string) {
	*w = binary.AppendUvarint(*w, uint64(len(s)))
	*w = append(*w, s...)
}

func (w *writer) bytes(b []byte) {
	*w = binary.AppendUvarint(*w, uint64(len(b)))
	*w = append(*w, b...)
}

func (w *writer) bool(b bool) {
	if b {
		*w = append(*w, 1)
	} else {
		*w = append(*w, 0)
	}
}

func (w *writer) time(t time.Time) {
	*w = binary.AppendVarint(*w, t.Unix())
	*w = binary.AppendUvarint(*w, uint64(t.Nanosecond()))
}

type reader struct {
	b   []byte
	bad bool
}

func newReader(b string) *reader {
	r := &reader{b: []byte(b)}
	if len(r.b) == 0 || r.b[0] != codecVersion {
		r.bad = true
		return r
	}
	r.b = r.b[1:]
	return r
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) raw() []byte {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) str() string { return string(r.raw()) }

func (r *reader) bytes() []byte {
	v := r.raw()
	if len(v) == 0 {
		return nil
	}
	return v // r.b is the reader's own copy of the record
}

func (r *reader) bool() bool {
	if len(r.b) == 0 || r.b[0] > 1 {
		r.bad = true
		return false
	}
	v := r.b[0] == 1
	r.b = r.b[1:]
	return v
}

func (r *reader) time() time.Time {
	sec, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return time.Time{}
	}
	r.b = r.b[n:]
	nsec := r.uvarint()
	if nsec >= 1e9 {
		r.bad = true
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (r *reader) done() error {
	if r.bad || len(r.b) != 0 {
		return errCorrupt
	}
	return nil
}

// encodeSession encodes every field of v but ID (the key) and LastSeen
// (a hash field of its own, so that TouchSession changes nothing else).
// Where earlier versions wrote a pending flag, it writes false.
func encodeSession(v *oauthlogin.Session) []byte { return encodeRecord(v, false) }

// encodeRecord encodes v with the pending flag of earlier versions.
func encodeRecord(v *oauthlogin.Session, oldPending bool) []byte {
	w := make(writer, 0, 96+len(v.UserID)+len(v.IdentityID)+len(v.ProviderUID)+len(v.ProviderTokens)+len(v.UserAgent))
	w = append(w, codecVersion)
	w.str(v.UserID)
	w.str(v.IdentityID)
	w.str(v.Provider)
	w.str(v.ProviderUID)
	w.time(v.ProviderAccessTokenExpiry)
	w.bytes(v.ProviderTokens)
	w.time(v.Created)
	w.bool(oldPending)
	w.time(v.Expires)
	w.str(v.IP)
	w.str(v.UserAgent)
	return w
}

func decodeSession(id, data string, lastSeen time.Time) (*oauthlogin.Session, error) {
	r := newReader(data)
	v := &oauthlogin.Session{ID: id, LastSeen: lastSeen}
	v.UserID = r.str()
	v.IdentityID = r.str()
	v.Provider = r.str()
	v.ProviderUID = r.str()
	v.ProviderAccessTokenExpiry = r.time()
	v.ProviderTokens = r.bytes()
	v.Created = r.time()
	oldPending := r.bool()
	v.Expires = r.time()
	v.IP = r.str()
	v.UserAgent = r.str()
	if err := r.done(); err != nil {
		return nil, err
	}
	if oldPending {
		return nil, errOldPending
	}
	return v, nil
}

// encodeFacts encodes the facts of a session's login (ProviderSID,
// AuthTime, ACR), a hash field of their own, so that records written
// before them still decode and instances of the version before, during
// an upgrade, still read the records this one writes. A login without
// any is nil: no field.
func encodeFacts(v *oauthlogin.Session) []byte {
	if v.ProviderSID == "" && v.AuthTime.IsZero() && v.ACR == "" {
		return nil
	}
	w := make(writer, 0, 16+len(v.ProviderSID)+len(v.ACR))
	w = append(w, codecVersion)
	w.str(v.ProviderSID)
	w.time(v.AuthTime)
	w.str(v.ACR)
	return w
}

// decodeFacts sets v's login facts from encodeFacts' data.
func decodeFacts(data string, v *oauthlogin.Session) error {
	r := newReader(data)
	v.ProviderSID = r.str()
	v.AuthTime = r.time()
	v.ACR = r.str()
	return r.done()
}

// encodeTime is a hash field holding one time (a session's LastSeen).
func encodeTime(t time.Time) []byte {
	w := writer{codecVersion}
	w.time(t)
	return w
}

func decodeTime(data string) (time.Time, error) {
	r := newReader(data)
	t := r.time()
	return t, r.done()
}

// An identity is two records: the fields that never change after
// CreateIdentity, and those UpdateIdentity replaces, so that an update is
// one write that cannot touch the fixed ones.
func encodeIdentityFixed(v *oauthlogin.Identity) []byte {
	w := make(writer, 0, 32+len(v.UserID)+len(v.Issuer)+len(v.Provider)+len(v.ProviderUID))
	w = append(w, codecVersion)
	w.str(v.UserID)
	w.str(v.Issuer)
	w.str(v.Provider)
	w.str(v.ProviderUID)
	w.time(v.Created)
	return w
}

func encodeIdentityMutable(v *oauthlogin.Identity) []byte {
	w := make(writer, 0, 48+len(v.ProviderEmail)+len(v.VerifiedEmail)+len(v.ProviderTokens))
	w = append(w, codecVersion)
	w.str(v.ProviderEmail)
	w.str(v.VerifiedEmail)
	w.time(v.ProviderAccessTokenExpiry)
	w.bytes(v.ProviderTokens)
	w.time(v.Updated)
	return w
}

func decodeIdentity(id, fixed, mutable string) (*oauthlogin.Identity, error) {
	v := &oauthlogin.Identity{ID: id}
	r := newReader(fixed)
	v.UserID = r.str()
	v.Issuer = r.str()
	v.Provider = r.str()
	v.ProviderUID = r.str()
	v.Created = r.time()
	if err := r.done(); err != nil {
		return nil, err
	}
	r = newReader(mutable)
	v.ProviderEmail = r.str()
	v.VerifiedEmail = r.str()
	v.ProviderAccessTokenExpiry = r.time()
	v.ProviderTokens = r.bytes()
	v.Updated = r.time()
	if err := r.done(); err != nil {
		return nil, err
	}
	return v, nil
}
