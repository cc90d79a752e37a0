package redisstore_test

import (
	"context"
	"errors"
	"go/build"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/internal/testutil"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/session"
	"github.com/redis/go-redis/v9"
)

func TestRevocations(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := t.Context()
	list := newRevocations(t, rdb, stdPrefix)
	// Whole milliseconds plus a bit, to check rounding up.
	soon := time.Now().Add(time.Hour).Truncate(time.Millisecond).Add(300 * time.Microsecond)
	soonMS := soon.UnixMilli() + 1

	tests := []struct {
		name        string
		revoke      []time.Time // Revoke calls, in order
		wantErr     bool        // from the last Revoke
		wantRevoked bool
		wantExpire  int64 // PEXPIRETIME in ms; 0: no key
	}{
		{name: "never revoked"},
		{name: "revoked until a future time", revoke: []time.Time{soon}, wantRevoked: true, wantExpire: soonMS},
		{name: "until in the past is an error, not a silent no-op", revoke: []time.Time{time.Now().Add(-time.Second)}, wantErr: true},
		{name: "a later until extends", revoke: []time.Time{soon, soon.Add(time.Hour)}, wantRevoked: true, wantExpire: soonMS + time.Hour.Milliseconds()},
		{name: "an earlier until never shortens", revoke: []time.Time{soon.Add(time.Hour), soon}, wantRevoked: true, wantExpire: soonMS + time.Hour.Milliseconds()},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "session-" + strconv.Itoa(i)
			for j, until := range tt.revoke {
				err := list.Revoke(ctx, id, until)
				if last := j == len(tt.revoke)-1; (err != nil) != (last && tt.wantErr) {
					t.Fatalf("Revoke until %v = %v, want an error %v", until, err, last && tt.wantErr)
				}
			}
			got, err := list.Revoked(ctx, id)
			if err != nil || got != tt.wantRevoked {
				t.Fatalf("Revoked = %v, %v; want %v", got, err, tt.wantRevoked)
			}
			key := "centralauth:revoked:" + id
			exp, err := rdb.Do(ctx, "PEXPIRETIME", key).Int64()
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantExpire == 0 {
				if exp != -2 {
					t.Fatalf("PEXPIRETIME %s = %d, want no key (-2)", key, exp)
				}
				return
			}
			if exp != tt.wantExpire {
				t.Fatalf("PEXPIRETIME %s = %d, want %d (the until, rounded up to the ms)", key, exp, tt.wantExpire)
			}
		})
	}
}

// TestRevocationsExpire checks that Redis itself forgets an entry at its
// until, without anyone sweeping.
func TestRevocationsExpire(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	list := newRevocations(t, rdb, stdPrefix)
	ctx := t.Context()
	if err := list.Revoke(ctx, "short", time.Now().Add(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if ok, err := list.Revoked(ctx, "short"); err != nil || !ok {
		t.Fatalf("Revoked right after Revoke = %v, %v", ok, err)
	}
	testutil.WaitFor(t, 5*time.Second, "Redis to expire the revocation", func() bool {
		ok, err := list.Revoked(ctx, "short")
		return err == nil && !ok
	})
	if n := rdb.Exists(ctx, "centralauth:revoked:short").Val(); n != 0 {
		t.Fatalf("expired entry still in Redis")
	}
}

func TestRevocationsPrefix(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	ctx := t.Context()
	a := newRevocations(t, rdb, "{app-a}:")
	b := newRevocations(t, rdb, "{app-b}:")
	if err := a.Revoke(ctx, "id1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		list *redisstore.Revocations
		want bool
	}{
		{"same prefix", a, true},
		{"other prefix", b, false},
		{"default prefix", newRevocations(t, rdb, stdPrefix), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := tt.list.Revoked(ctx, "id1"); err != nil || got != tt.want {
				t.Fatalf("Revoked = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	keys := rdb.Keys(ctx, "*").Val()
	if len(keys) != 1 || keys[0] != "{app-a}:revoked:id1" {
		t.Fatalf("keys %q, want only {app-a}:revoked:id1", keys)
	}
}

// TestRevocationsWithStore runs the list behind a real session.Store.
func TestRevocationsWithStore(t *testing.T) {
	srv := redistest.Start(t)
	list := newRevocations(t, srv.Client(t), stdPrefix)
	store, err := session.NewStore(make([]byte, 32), session.WithRevocations(list))
	if err != nil {
		t.Fatal(err)
	}
	sess := &session.Session{AccessToken: "tok"}
	rec := httptest.NewRecorder()
	if err := store.Save(rec, sess); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", strings.Split(rec.Header().Get("Set-Cookie"), ";")[0])
	if _, err := store.Load(r); err != nil {
		t.Fatalf("Load before logout: %v", err)
	}
	if err := store.Revoke(t.Context(), sess); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(r); !errors.Is(err, session.ErrRevoked) {
		t.Fatalf("Load after Revoke: %v, want ErrRevoked", err)
	}
	// The entry lasts as long as the cookie could: MaxAge (24h) from now,
	// plus the minute of clock skew that Load tolerates.
	ttl := srv.Client(t).PTTL(t.Context(), "centralauth:revoked:"+sess.ID).Val()
	if ttl < 24*time.Hour || ttl > 24*time.Hour+time.Minute+time.Second {
		t.Fatalf("revocation TTL %v, want about the cookie's 24h MaxAge", ttl)
	}
}

func TestRevocationsRedisDown(t *testing.T) {
	srv := redistest.Start(t)
	list := newRevocations(t, srv.Client(t), stdPrefix)
	store, err := session.NewStore(make([]byte, 32), session.WithRevocations(list))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	sess := &session.Session{AccessToken: "tok"}
	if err := store.Save(rec, sess); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", strings.Split(rec.Header().Get("Set-Cookie"), ";")[0])
	srv.Stop()

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := list.Revoked(ctx, "x"); err == nil || !strings.HasPrefix(err.Error(), "redisstore: ") {
		t.Fatalf("Revoked with Redis down: %v, want a redisstore error", err)
	}
	if err := list.Revoke(ctx, "x", time.Now().Add(time.Hour)); err == nil || !strings.HasPrefix(err.Error(), "redisstore: ") {
		t.Fatalf("Revoke with Redis down: %v, want a redisstore error", err)
	}
	if _, err := store.Load(r); !errors.Is(err, session.ErrRevocationUnavailable) || errors.Is(err, session.ErrInvalidSession) {
		t.Fatalf("Load with Redis down: %v, want ErrRevocationUnavailable only", err)
	}
}

func TestNewRevocationsErrors(t *testing.T) {
	tests := []struct {
		name string
		rdb  redis.UniversalClient
		opts []redisstore.RevocationsOption
	}{
		{"nil client", nil, nil},
		{"nil option", unusedClient(t), []redisstore.RevocationsOption{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := redisstore.NewRevocations(tt.rdb, stdPrefix, tt.opts...)
			if list != nil || !errors.Is(err, redisstore.ErrInvalidConfig) {
				t.Fatalf("NewRevocations = %v, %v; want nil, ErrInvalidConfig", list, err)
			}
		})
	}
}

// TestNoRemoteImport: redisstore stores what the outbox sealed and knows
// nothing of CentralAuth's client; it imported package remote for one
// error.
func TestNoRemoteImport(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if imp == "github.com/centralauth-go/logout/remote" {
			t.Fatalf("redisstore imports %s", imp)
		}
	}
}

// TestOptionsFitTheirConstructorsOnly: each constructor has its own option
// type, so an option of one given to the other does not compile (it used
// to be an error at run time).
func TestOptionsFitTheirConstructorsOnly(t *testing.T) {
	revocations := reflect.TypeFor[redisstore.RevocationsOption]()
	queue := reflect.TypeFor[redisstore.QueueOption]()
	tests := []struct {
		name string
		opt  any
		want reflect.Type
	}{
		{"WithMaxEntries", redisstore.WithMaxEntries(1), queue},
		{"WithLocalCache", redisstore.WithLocalCache(1), revocations},
		{"WithLogger", redisstore.WithLogger(slog.Default()), revocations},
		{"WithOnCacheHealth", redisstore.WithOnCacheHealth(func(redisstore.CacheHealth) {}), revocations},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := reflect.TypeOf(tt.opt); got != tt.want || revocations.ConvertibleTo(queue) {
				t.Fatalf("a %v, want a %v only", got, tt.want)
			}
		})
	}
}
