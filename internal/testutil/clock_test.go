package testutil

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// fixedStart is a whole second, so HTTP dates (which have no fractions)
// round-trip exactly.
var fixedStart = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func TestClock(t *testing.T) {
	t.Run("stands still", func(t *testing.T) {
		c := NewClock(fixedStart)
		first, second := c.Now(), c.Now()
		if !first.Equal(fixedStart) || !second.Equal(fixedStart) {
			t.Errorf("Now = %v, then %v; want %v both times", first, second, fixedStart)
		}
	})
	t.Run("Advance", func(t *testing.T) {
		c := NewClock(fixedStart)
		c.Advance(time.Hour)
		if want := fixedStart.Add(time.Hour); !c.Now().Equal(want) {
			t.Errorf("Now = %v, want %v", c.Now(), want)
		}
		if len(c.Sleeps()) != 0 {
			t.Error("Advance recorded a sleep")
		}
	})
	t.Run("Sleep records and advances", func(t *testing.T) {
		c := NewClock(fixedStart)
		for _, d := range []time.Duration{time.Second, 0, 2 * time.Second, -time.Second} {
			if err := c.Sleep(t.Context(), d); err != nil {
				t.Fatalf("Sleep(%v) = %v", d, err)
			}
		}
		if want := fixedStart.Add(3 * time.Second); !c.Now().Equal(want) {
			t.Errorf("Now = %v, want %v", c.Now(), want)
		}
		if got, want := c.Sleeps(), []time.Duration{time.Second, 0, 2 * time.Second, -time.Second}; !slices.Equal(got, want) {
			t.Errorf("Sleeps = %v, want %v", got, want)
		}
	})
	t.Run("Sleep with a done context", func(t *testing.T) {
		c := NewClock(fixedStart)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := c.Sleep(ctx, time.Second); !errors.Is(err, context.Canceled) {
			t.Errorf("Sleep = %v, want context.Canceled", err)
		}
		if !c.Now().Equal(fixedStart) {
			t.Errorf("Now = %v, want the time unmoved", c.Now())
		}
		if got := c.Sleeps(); !slices.Equal(got, []time.Duration{time.Second}) {
			t.Errorf("Sleeps = %v, want the attempted wait", got)
		}
	})
	t.Run("concurrent use", func(t *testing.T) {
		c := NewClock(fixedStart)
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				_ = c.Sleep(context.Background(), time.Millisecond)
				c.Advance(time.Millisecond)
				_ = c.Now()
			})
		}
		wg.Wait()
		if want := fixedStart.Add(100 * time.Millisecond); !c.Now().Equal(want) {
			t.Errorf("Now = %v, want %v", c.Now(), want)
		}
		if n := len(c.Sleeps()); n != 50 {
			t.Errorf("%d sleeps recorded, want 50", n)
		}
	})
}
