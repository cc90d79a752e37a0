// Package endedset writes the list of ended CentralAuth sessions that
// sessioncheck reads and middleware and sessioncheck write, so that both
// keep an entry equally long.
package endedset

import (
	"context"
	"time"

	"github.com/centralauth-go/logout/session"
)

// MinLifetime is how long an entry lasts at least: the lifetime of
// session.Store's cookies by default. CentralAuth does not say how long
// the tokens of a session can live, and the apps of an organization can
// get theirs at different times, so an entry outlives the token of the
// session that wrote it too (Mark). Past it, an app falls back to asking
// CentralAuth at its check interval, which still says the session ended:
// the list makes an ending fast, never possible.
const MinLifetime = 24 * time.Hour

// skew is the margin for clocks that disagree, as session.Store keeps.
const skew = time.Minute

// Mark records that the CentralAuth session sessionID ended, for
// MinLifetime or until the token that named it expires, whichever is
// later. A zero expires means the token's expiry is unknown.
func Mark(ctx context.Context, list session.RevocationList, sessionID string, expires time.Time) error {
	until := time.Now().Add(MinLifetime)
	if e := expires.Add(skew); e.After(until) {
		until = e
	}
	return list.Revoke(ctx, sessionID, until)
}
