package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// result collects latencies and errors from every client.
type result struct {
	mu          sync.Mutex
	latencies   map[string][]time.Duration
	errors      map[string]int
	samples     []string // the first few error messages
	iterations  int
	requests    atomic.Int64 // HTTP requests, counted by the transport
	stillActive int
	elapsed     time.Duration
}

const maxSamples = 5

func newResult() *result {
	return &result{latencies: map[string][]time.Duration{}, errors: map[string]int{}}
}

func (r *result) record(op string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// A request cut short by the end of the run is not a failure.
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		return
	}
	r.latencies[op] = append(r.latencies[op], d)
	if err != nil {
		r.errors[op]++
		if len(r.samples) < maxSamples {
			r.samples = append(r.samples, op+": "+err.Error())
		}
	}
}

func (r *result) iterated() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.iterations++
}

func (r *result) survivor() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stillActive++
}

func (r *result) errorCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.errors {
		n += e
	}
	return n
}

func (r *result) print(out io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := r.elapsed.Seconds()
	total := 0
	fmt.Fprintf(out, "%-8s %9s %9s %9s %9s %9s %7s\n", "step", "count", "per sec", "p50", "p99", "max", "errors")
	for _, op := range ops {
		l := slices.Clone(r.latencies[op])
		slices.Sort(l)
		total += len(l)
		fmt.Fprintf(out, "%-8s %9d %9.0f %9s %9s %9s %7d\n", op, len(l), float64(len(l))/secs,
			round(percentile(l, 0.50)), round(percentile(l, 0.99)), round(percentile(l, 1)), r.errors[op])
	}
	fmt.Fprintf(out, "iterations: %d in %.1fs (%.0f/s); steps: %.0f/s; HTTP requests: %d (%.0f/s)\n",
		r.iterations, secs, float64(r.iterations)/secs, float64(total)/secs, r.requests.Load(), float64(r.requests.Load())/secs)
	for _, s := range r.samples {
		fmt.Fprintf(out, "error: %s\n", s)
	}
}

// percentile of sorted latencies, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func round(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Millisecond:
		return d.Round(100 * time.Microsecond)
	case d > 100*time.Microsecond:
		return d.Round(time.Microsecond)
	}
	return d
}
