package revocationtest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/session/revocationtest"
)

// TestRunFailsOnBrokenLists runs the suite against a list with one bug
// each, and checks that the suite fails, in the check that the bug breaks.
// The first case, a list without a bug, passes: the bugs are the only
// reason for the failures.
func TestRunFailsOnBrokenLists(t *testing.T) {
	tests := []struct {
		bug       bug
		wantCheck string // "": the suite passes
	}{
		{none, ""},
		{overwrites, "an earlier until never shortens a revocation"},
		{keepsFirst, "a later until extends a revocation"},
		{expiresEarly, "a revocation holds until its time"},
		{matchesPrefixes, "a revocation is for its ID only"},
		{acceptsPast, "an until that has passed is an error"},
		{unknownIsError, "an ID never revoked is not revoked"},
		{errorIsNotRevoked, `a failure is never "not revoked"`},
		{dropsWhenCancelled, `a failure is never "not revoked"`},
		{forgetsAtOnce, "a revoked ID is revoked"},
		{failsToCreate, "creating a list: connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.bug.String(), func(t *testing.T) {
			t.Parallel() // each run waits on the clock for a second or so
			err := revocationtest.Run(func() (session.RevocationList, error) {
				if tt.bug == failsToCreate {
					return nil, errors.New("connection refused")
				}
				return &fakeList{bug: tt.bug, until: map[string]time.Time{}}, nil
			})
			switch {
			case tt.wantCheck == "" && err != nil:
				t.Fatalf("the suite failed a list without a bug:\n%v", err)
			case tt.wantCheck == "":
			case err == nil:
				t.Fatalf("the suite passed a list that %s", tt.bug)
			case !strings.Contains(err.Error(), "revocationtest: ") || !strings.Contains(err.Error(), tt.wantCheck):
				t.Fatalf("the suite failed, but not in %q:\n%v", tt.wantCheck, err)
			}
		})
	}
}

type bug int

const (
	none bug = iota
	overwrites
	keepsFirst
	expiresEarly
	matchesPrefixes
	acceptsPast
	unknownIsError
	errorIsNotRevoked
	dropsWhenCancelled
	forgetsAtOnce
	failsToCreate
)

func (b bug) String() string {
	return [...]string{"no bug", "shortens a revocation", "never extends a revocation", "expires 100 ms early",
		"matches IDs by prefix", "accepts an until that has passed", "fails for an unknown ID",
		"answers \"not revoked\" when it cannot ask", "drops a revocation it could not store",
		"forgets a revocation at once", "cannot be created"}[b]
}

// fakeList is a small session.RevocationList, correct but for its bug.
// With a cancelled context it fails, as a list with a backend would.
type fakeList struct {
	bug   bug
	mu    sync.Mutex
	until map[string]time.Time
}

var errNotFound = errors.New("not found")

func (l *fakeList) Revoke(ctx context.Context, id string, until time.Time) error {
	if !until.After(time.Now()) && l.bug != acceptsPast {
		return errors.New("until has passed")
	}
	if err := ctx.Err(); err != nil {
		if l.bug == dropsWhenCancelled {
			return nil
		}
		return err
	}
	if l.bug == expiresEarly {
		until = until.Add(-100 * time.Millisecond)
	}
	if l.bug == forgetsAtOnce {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur, ok := l.until[id]
	switch {
	case !ok, l.bug == overwrites, until.After(cur) && l.bug != keepsFirst:
		l.until[id] = until
	}
	return nil
}

func (l *fakeList) Revoked(ctx context.Context, id string) (bool, error) {
	if err := ctx.Err(); err != nil {
		if l.bug == errorIsNotRevoked {
			return false, nil
		}
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, until := range l.until {
		if (k == id || (l.bug == matchesPrefixes && strings.HasPrefix(k, id))) && until.After(time.Now()) {
			return true, nil
		}
	}
	if l.bug == unknownIsError {
		return false, errNotFound
	}
	return false, nil
}
