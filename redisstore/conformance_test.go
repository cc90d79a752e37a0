package redisstore_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/outbox/queuetest"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/session/revocationtest"
)

func TestQueueConformance(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	n := 0
	err := queuetest.Run(func(limit int) (outbox.Queue, error) {
		n++
		return redisstore.NewQueue(rdb, fmt.Sprintf("{q%d}:", n), redisstore.WithMaxEntries(limit))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRevocationsConformance(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	tests := []struct {
		name string
		opts []redisstore.RevocationsOption
	}{
		{"asking Redis", nil},
		{"with a local cache", []redisstore.RevocationsOption{
			redisstore.WithLocalCache(1000), redisstore.WithLogger(slog.New(slog.DiscardHandler))}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := 0
			err := revocationtest.Run(func() (session.RevocationList, error) {
				n++
				r, err := redisstore.NewRevocations(rdb, fmt.Sprintf("{c%d-%d}:", i, n), tt.opts...)
				if err != nil {
					return nil, err
				}
				t.Cleanup(func() { _ = r.Close() })
				if tt.opts != nil { // answer from memory, as soon as the copy has loaded
					testutil.WaitFor(t, 10*time.Second, "the local cache to load", func() bool { return r.Health().Healthy })
				}
				return r, nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}
