package oauthlogin

import "time"

// SetClock sets the Manager's clock, for the package's external tests. It
// must be set before the Manager serves a request.
func SetClock(m *Manager, now func() time.Time) { m.now = now }

// RefreshReuse is refreshReuse, for the external tests.
const RefreshReuse = refreshReuse

// NormalizeEmailForTest is normalizeEmail, for the external tests.
var NormalizeEmailForTest = normalizeEmail
