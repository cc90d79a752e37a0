package main

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestPauseHoldsEveryWorker: a 429 seen by one worker holds back every
// worker until its Retry-After has passed, and a later, longer one extends
// the pause; a shorter one never shortens it.
func TestPauseHoldsEveryWorker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var p pause
		start := time.Now()
		p.extend(start.Add(time.Second))
		p.extend(start.Add(3 * time.Second))
		p.extend(start.Add(2 * time.Second)) // shorter: ignored
		var wg sync.WaitGroup
		released := make([]time.Duration, 8)
		for i := range released {
			wg.Go(func() {
				if err := p.wait(t.Context()); err != nil {
					t.Error(err)
				}
				released[i] = time.Since(start)
			})
		}
		wg.Wait()
		for i, d := range released {
			if d != 3*time.Second {
				t.Errorf("worker %d went on after %v, want 3s", i, d)
			}
		}
		// Once passed, a pause holds nobody.
		before := time.Now()
		if err := p.wait(t.Context()); err != nil || time.Since(before) != 0 {
			t.Fatalf("wait after the pause: %v after %v", err, time.Since(before))
		}
	})
}
