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
