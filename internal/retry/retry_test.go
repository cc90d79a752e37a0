package retry

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		name     string
		n        int
		min, max time.Duration
	}{
		{"first retry", 0, 50 * time.Millisecond, 100 * time.Millisecond},
		{"third retry doubles twice", 2, 200 * time.Millisecond, 400 * time.Millisecond},
		{"capped at the limit", 20, 5 * time.Second, 10 * time.Second},
		{"beyond the shift's range", 1 << 20, 5 * time.Second, 10 * time.Second},
		{"a negative count is the first retry", -5, 50 * time.Millisecond, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 1000 {
				if d := Backoff(100*time.Millisecond, tt.n, 10*time.Second); d < tt.min || d > tt.max {
					t.Fatalf("Backoff = %v, want within [%v, %v]", d, tt.min, tt.max)
				}
			}
		})
	}
}

func TestSystemSleep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if err := System.Sleep(t.Context(), time.Minute); err != nil || time.Since(start) != time.Minute {
			t.Fatalf("Sleep = %v after %v, want nil after 1m", err, time.Since(start))
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := System.Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Minute+time.Second {
			t.Fatalf("Sleep = %v, want the context's error after its 1s", err)
		}
	})
}
