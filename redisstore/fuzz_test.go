package redisstore

import (
	"testing"
	"time"
)

// FuzzParseClaimed feeds parseClaimed the fields of an entry as anyone with
// write access to Redis could leave them. It must never panic, and what it
// accepts must be in range, so that no later arithmetic can overflow or
// shift by a negative count.
func FuzzParseClaimed(f *testing.F) {
	f.Add("0123456789abcdef01234567", "sealed", "1764400000000", "0")
	f.Add("id", "", "-1", "-1")
	f.Add("", "x", "9223372036854775807", "9223372036854775807")
	f.Add("id", "x", "1", "1000000")
	f.Add("id", "x", " 12", "+3")
	f.Fuzz(func(t *testing.T, id, sealed, enq, att string) {
		e, err := parseClaimed([]any{id, sealed, enq, att})
		if err != nil {
			return
		}
		if e.ID != id || string(e.Sealed) != sealed {
			t.Fatalf("parseClaimed changed the ID or the sealed token")
		}
		if e.Attempts < 0 || e.Attempts > maxAttempts {
			t.Fatalf("accepted attempts %d", e.Attempts)
		}
		if ms := e.EnqueuedAt.UnixMilli(); ms <= 0 || ms > maxUnixMS || e.EnqueuedAt.After(time.UnixMilli(maxUnixMS)) {
			t.Fatalf("accepted enqueued-at %v", e.EnqueuedAt)
		}
	})
}
