package main

import (
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"everything set", []string{"-c", "64", "-d", "5s", "-n", "10", "-mode", "everywhere", "-url", "http://127.0.0.1:8080"}, ""},
		{"localhost", []string{"-url", "http://localhost:8080"}, ""},
		{"IPv6 loopback", []string{"-url", "http://[::1]:8080"}, ""},
		{"remote host", []string{"-url", "http://example.com"}, "not on loopback"},
		{"LAN address", []string{"-url", "http://192.168.1.5:8080"}, "not on loopback"},
		{"not http", []string{"-url", "ftp://127.0.0.1"}, "not an http URL"},
		{"no clients", []string{"-c", "0"}, "-c 0"},
		{"unbounded time", []string{"-d", "0s"}, "-d 0s"},
		{"unknown mode", []string{"-mode", "sideways"}, "-mode"},
		{"no iterations", []string{"-n", "0"}, "-n 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args)
			if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("parseFlags(%q) = %v, want an error containing %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

// TestLoadTestLeavesNoSessionActive runs a short load against the example
// started in-process, in both modes: every logout must hold.
func TestLoadTestLeavesNoSessionActive(t *testing.T) {
	for _, mode := range []string{"local", "everywhere"} {
		t.Run(mode, func(t *testing.T) {
			var out strings.Builder
			if err := run([]string{"-c", "4", "-d", "2s", "-n", "25", "-mode", mode}, &out); err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "sessions still active afterwards: 0") {
				t.Fatalf("output:\n%s", out.String())
			}
		})
	}
}
