package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/redistest"
	"github.com/centralauth-go/logout/redisstore"
)

func TestConnect(t *testing.T) {
	srv := redistest.Start(t)
	rdb, err := redisstore.Connect(t.Context(), srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	list := newRevocations(t, rdb, stdPrefix)
	if err := list.Revoke(t.Context(), "id", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ok, err := srv.Client(t).Exists(t.Context(), "centralauth:revoked:id").Result(); err != nil || ok != 1 {
		t.Fatalf("revocation not in the server Connect reached: %v, %v", ok, err)
	}
}

func TestConnectErrorsHideThePassword(t *testing.T) {
	const password = "pa55-w0rd-XYZ"
	srv := redistest.Start(t)
	// The test server has no password: AUTH with one fails.
	authURL := strings.Replace(srv.URL(), "redis://", "redis://app:"+password+"@", 1)
	tests := []struct {
		name string
		url  string
	}{
		{"bad escape in the password", "redis://app:" + password + "%zz@127.0.0.1:1/0"},
		{"bad port", "redis://app:" + password + "@127.0.0.1:port/0"},
		{"bad scheme", "http://app:" + password + "@127.0.0.1:1/0"},
		{"bad database", "redis://app:" + password + "@127.0.0.1:1/db"},
		{"unreachable", "redis://app:" + password + "@127.0.0.1:1/0?dial_timeout=100ms&max_retries=0"},
		{"wrong password", authURL},
		{"password in the query", "redis://127.0.0.1:1/0?password=" + password + "&max_retries=0&dial_timeout=100ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			rdb, err := redisstore.Connect(ctx, tt.url)
			if err == nil {
				rdb.Close()
				t.Fatal("Connect succeeded")
			}
			for e := error(err); e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), password) {
					t.Fatalf("error chain shows the password: %v", e)
				}
			}
			if !strings.HasPrefix(err.Error(), "redisstore: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
}
