package session

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestFullMemoryListWarnsOncePerSpell: the list warns when it starts
// refusing sessions by issue time, not on every eviction or request, and
// again when it starts anew after the refusing ended.
func TestFullMemoryListWarnsOncePerSpell(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out bytes.Buffer
		m, err := NewMemoryRevocations(1)
		if err != nil {
			t.Fatal(err)
		}
		m.log = slog.New(slog.NewTextHandler(&out, nil))
		warnings := func() int { return strings.Count(out.String(), "level=WARN") }
		revoke := func(id string) {
			t.Helper()
			if err := m.Revoke(t.Context(), id, time.Now().Add(10*time.Minute)); err != nil {
				t.Fatal(err)
			}
		}

		revoke("s0")
		if n := warnings(); n != 0 {
			t.Fatalf("%d warnings before the list was full", n)
		}
		revoke("s1") // evicts s0: refusing until 10 minutes
		time.Sleep(time.Minute)
		revoke("s2") // evicts s1: still refusing, now until 11 minutes
		for range 3 {
			m.refusal("s0", 0)
		}
		if n := warnings(); n != 1 {
			t.Fatalf("%d warnings for one spell of refusing, want 1:\n%s", n, &out)
		}
		if strings.Contains(out.String(), "s0") || strings.Contains(out.String(), "s1") {
			t.Fatalf("the warning names a session: %s", &out)
		}

		time.Sleep(10 * time.Minute) // s1 and s2 have expired
		if err := m.refusal("x", 0); err != nil {
			t.Fatalf("refusal after the spell = %v, want nil", err)
		}
		revoke("s3")
		revoke("s4") // evicts s3: a new spell
		if n := warnings(); n != 2 {
			t.Fatalf("%d warnings after a second spell began, want 2:\n%s", n, &out)
		}
	})
}
