package faultproxy_test

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/centralauth-go/logout/internal/faultproxy"
)

// TestStallHoldsBytesAndResumeDeliversThem: while stalled, a connection
// stays open and nothing crosses; after Resume, what waited arrives.
func TestStallHoldsBytesAndResumeDeliversThem(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() { // an echo server, a line at a time
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	p := faultproxy.Start(t, ln.Addr().String())
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	roundTrip := func(line string, deadline time.Duration) (string, error) {
		if _, err := c.Write([]byte(line)); err != nil {
			return "", err
		}
		_ = c.SetReadDeadline(time.Now().Add(deadline))
		return r.ReadString('\n')
	}
	if got, err := roundTrip("one\n", 10*time.Second); err != nil || got != "one\n" {
		t.Fatalf("before the stall: %q, %v", got, err)
	}
	p.Stall()
	// A read that times out proves nothing crossed, whatever the delay.
	if got, err := roundTrip("two\n", 200*time.Millisecond); err == nil {
		t.Fatalf("while stalled, the echo came back: %q", got)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("while stalled, the connection failed instead of hanging: %v", err)
	}
	p.Resume()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "two\n" {
		t.Fatalf("after Resume: %q, %v", got, err)
	}
}
