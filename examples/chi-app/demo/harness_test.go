package demo

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/internal/testutil"
)

// demo is the example running in the test process, as `make run` starts
// it: an embedded CentralAuth and App A and App B on loopback ports that
// the test picked.
type demo struct {
	ca   *centralauthtest.Server
	a, b string           // the apps' URLs
	logs *testutil.Buffer // every log line of both apps
}

// startDemo starts the example's CentralAuth and apps, all stopped when
// the test ends, which fails if an app broke CentralAuth's contract. edit,
// if given, changes an app's configuration first.
func startDemo(t *testing.T, edit ...func(*appConfig)) *demo {
	t.Helper()
	return newDemo(t, true, edit...)
}

// newDemo is startDemo, with strict false for a test that makes an app
// break CentralAuth's contract on purpose, such as by replaying a code.
func newDemo(t *testing.T, strict bool, edit ...func(*appConfig)) *demo {
	t.Helper()
	cfg, err := parseConfig(env(nil)) // the defaults: demo mode, random keys
	if err != nil {
		t.Fatal(err)
	}
	var ca *centralauthtest.Server
	if strict {
		ca = centralauthtest.Start(t, cfg.ClientID, cfg.ClientSecret)
	} else {
		if ca, err = centralauthtest.NewServer(cfg.ClientID, cfg.ClientSecret); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ca.Close)
	}
	d := &demo{ca: ca, logs: &testutil.Buffer{}}
	logger := slog.New(slog.NewTextHandler(io.MultiWriter(t.Output(), d.logs), nil))
	lnA, lnB := listen(t), listen(t)
	d.a, d.b = "http://"+lnA.Addr().String(), "http://"+lnB.Addr().String()
	apps, err := exampleApps(cfg, ca.URL(), ca, d.a, d.b, logger)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range apps {
		for _, e := range edit {
			e(&c)
		}
		h, err := newApp(c)
		if err != nil {
			t.Fatal(err)
		}
		serve(t, h, []net.Listener{lnA, lnB}[i])
	}
	return d
}

// listen picks a free loopback port.
func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// serve serves h on ln until the test ends.
func serve(t testing.TB, h http.Handler, ln net.Listener) {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
}

// tokens returns every token the embedded CentralAuth issued, for checks
// that none is ever shown or logged whole.
func (d *demo) tokens() []string {
	var out []string
	for s := range d.ca.Sessions() {
		out = append(out, s.AccessToken, s.IDToken)
	}
	return out
}

// sessionStates describes the embedded CentralAuth's sessions for a test
// message, without their tokens.
func (d *demo) sessionStates() string {
	var out []string
	for s := range d.ca.Sessions() {
		state := "active"
		if !s.Active {
			state = "ended"
		}
		out = append(out, s.ID+" of "+s.Email+" "+state)
	}
	if out == nil {
		return "none"
	}
	return strings.Join(out, ", ")
}

// checkNoWholeToken fails if text holds a whole token of the demo.
func (d *demo) checkNoWholeToken(t *testing.T, where, text string) {
	t.Helper()
	for _, tok := range d.tokens() {
		if strings.Contains(text, tok) {
			t.Errorf("%s holds a whole token", where)
		}
		// Any long piece of a token is as bad; the JWE header is shared
		// by every token and public, so it does not count.
		for _, part := range strings.Split(tok, ".")[1:] {
			if len(part) >= 16 && strings.Contains(text, part) {
				t.Errorf("%s holds a part of a token", where)
			}
		}
	}
}
