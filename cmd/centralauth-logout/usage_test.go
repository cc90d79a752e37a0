package main

import (
	"net"
	"strings"
	"testing"
)

// TestUsageHidesRedisPassword: the usage text, on -h or on a mistyped
// flag, names $REDIS_URL instead of showing its value.
func TestUsageHidesRedisPassword(t *testing.T) {
	const password = "hunter2-redis-password"
	env := map[string]string{envRedisURL: "redis://:" + password + "@127.0.0.1:1"}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"stats -h", []string{"outbox", "stats", "-h"}, exitOK},
		{"drain -h", []string{"outbox", "drain", "-h"}, exitOK},
		{"a mistyped flag", []string{"outbox", "stats", "-prefx", "p"}, exitUsage},
		{"a flag without its value", []string{"outbox", "drain", "-prefix"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runInProcess(t, env, "", tt.args...)
			if strings.Contains(stdout+stderr, password) {
				t.Fatalf("the usage text shows the Redis password:\n%s", stderr)
			}
			if code != tt.want || !strings.Contains(stderr, "$"+envRedisURL) {
				t.Fatalf("exit status %d, want %d and a usage naming $%s:\n%s", code, tt.want, envRedisURL, stderr)
			}
		})
	}
}

// TestHelpNamesEnvironmentAndExitCodes: -h lists the environment variables
// and the exit statuses, for both the command and its outbox subcommands.
func TestHelpNamesEnvironmentAndExitCodes(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"outbox", "stats", "-h"}, {"outbox", "drain", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := runInProcess(t, nil, "", args...)
			if code != exitOK {
				t.Fatalf("exit status %d for -h, want 0", code)
			}
			for _, want := range []string{envClientID, envSecret, envBaseURL, envOutboxKey, envRedisURL,
				"exit status", "\n  0 ", "\n  1 ", "\n  2 "} {
				if !strings.Contains(stderr, want) {
					t.Fatalf("-h does not say %q:\n%s", want, stderr)
				}
			}
		})
	}
}

// TestOutboxUnreachableRedis: a Redis that cannot be reached is one clean
// error line, without go-redis's own log lines.
func TestOutboxUnreachableRedis(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "redis://" + l.Addr().String() // nothing listens there once closed
	_ = l.Close()
	ca := newFake(t)
	env := fakeEnv(ca)
	env[envRedisURL] = closed
	env[envOutboxKey] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	for _, verb := range []string{"stats", "drain"} {
		t.Run(verb, func(t *testing.T) {
			code, _, stderr := runProcess(t, env, "", "outbox", verb)
			msg := strings.TrimSpace(stderr)
			if code != exitUsage || strings.Count(msg, "\n") != 0 || !strings.HasPrefix(msg, "centralauth-logout: ") {
				t.Fatalf("exit status %d, stderr:\n%s\nwant 2 and one line", code, stderr)
			}
		})
	}
}
