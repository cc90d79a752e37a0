package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/session"
)

// BenchmarkLoad is target 7: Load with the memory revocation list (holding
// 10,000 other revoked sessions) against Load without one.
func BenchmarkLoad(b *testing.B) {
	list, err := session.NewMemoryRevocations(100_000)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10_000 {
		if err := list.Revoke(context.Background(), "other-"+strconv.Itoa(i), time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		opts []session.Option
	}{
		{"cookie=signed/revocations=off", []session.Option{session.WithRevocations(noRevocations{})}},
		{"cookie=signed/revocations=memory", []session.Option{session.WithRevocations(list)}},
		{"cookie=encrypted/revocations=off", []session.Option{session.WithEncryptionKey(blockKey), session.WithRevocations(noRevocations{})}},
		{"cookie=encrypted/revocations=memory", []session.Option{session.WithEncryptionKey(blockKey), session.WithRevocations(list)}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := session.NewStore(hashKey, bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			rec := httptest.NewRecorder()
			if err := s.Save(rec, &session.Session{AccessToken: strings.Repeat("t", 900)}); err != nil {
				b.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.AddCookie(rec.Result().Cookies()[0])
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Load(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// noRevocations is the baseline: a list that is never asked anything it
// has to look up.
type noRevocations struct{}

func (noRevocations) Revoke(context.Context, string, time.Time) error { return nil }
func (noRevocations) Revoked(context.Context, string) (bool, error)   { return false, nil }

// BenchmarkRevokeFullList is finding 4's cost: a Revoke on a full list,
// which evicts the entry that expires soonest. With a heap it grows with
// log n; the old full-list scan held the write lock for 764 µs at 100,000.
func BenchmarkRevokeFullList(b *testing.B) {
	for _, n := range []int{1_000, 100_000} {
		b.Run("entries="+strconv.Itoa(n), func(b *testing.B) {
			list, err := session.NewMemoryRevocations(n)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			base := time.Now().Add(time.Hour)
			for i := range n {
				if err := list.Revoke(ctx, "old-"+strconv.Itoa(i), base.Add(time.Duration(i)*time.Millisecond)); err != nil {
					b.Fatal(err)
				}
			}
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = "new-" + strconv.Itoa(i)
			}
			b.ResetTimer()
			for i := range b.N {
				if err := list.Revoke(ctx, ids[i], base.Add(time.Duration(n+i)*time.Millisecond)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
