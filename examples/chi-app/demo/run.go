// Package demo is the example app of centralauth-go/logout: two small chi
// apps, "App A" and "App B", that share one CentralAuth session the way
// CentralAuth's autologin shares a session across an organization's
// domains. Command chi-app (the directory above) runs it; the load test in
// internal/loadtest starts it in-process.
//
// With no configuration it starts an embedded CentralAuth, the fake of
// package centralauthtest, on a free loopback port (CENTRALAUTH_FAKE_ADDR
// pins it), and offers a demo login.
// App A mounts the logout handlers with r.Handle; App B wraps its whole
// router with h.Middleware.
//
// Settings come from the environment (see docs/example-app.md):
// CENTRALAUTH_BASE_URL, CENTRALAUTH_CLIENT_ID, CENTRALAUTH_CLIENT_SECRET,
// SESSION_HASH_KEY, SESSION_ENCRYPTION_KEY, REDIS_URL, ADDR (App A),
// ADDR_B (App B) and CENTRALAUTH_FAKE_ADDR (the embedded CentralAuth).
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/centralauth-go/logout/centralauthtest"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/session"
	"github.com/centralauth-go/logout/token"
)

// shutdownTimeout bounds how long Ctrl-C waits for requests in flight.
const shutdownTimeout = 5 * time.Second

// Running is the example, started.
type Running struct {
	// URLA and URLB are where App A and App B answer.
	URLA, URLB string
	// CentralAuth is the embedded CentralAuth, or nil when the apps talk to
	// the one CENTRALAUTH_BASE_URL names.
	CentralAuth *centralauthtest.Server

	cfg      config
	servers  []*http.Server
	workers  *workers
	stopWork context.CancelFunc
	serveErr chan error
	closers  []func()
}

// Start configures the example from lookup (os.LookupEnv, say) and starts
// serving in the background. A configuration error names its variable.
func Start(lookup func(string) (string, bool), logger *slog.Logger) (_ *Running, err error) {
	cfg, err := parseConfig(lookup)
	if err != nil {
		return nil, err
	}
	rn := &Running{cfg: cfg, stopWork: func() {}, workers: &workers{}}
	defer func() {
		if err != nil {
			rn.stopWork()
			rn.workers.wg.Wait()
			rn.close()
		}
	}()

	baseURL := cfg.BaseURL
	var lister sessionLister
	if cfg.Demo() {
		rn.CentralAuth, err = centralauthtest.NewServer(cfg.ClientID, cfg.ClientSecret, centralauthtest.WithAddr(cfg.FakeAddr))
		if err != nil {
			return nil, fmt.Errorf("%s=%s: starting the embedded CentralAuth: %w (set %s to another address)", envFakeAddr, cfg.FakeAddr, err, envFakeAddr)
		}
		rn.closers = append(rn.closers, rn.CentralAuth.Close)
		baseURL, lister = rn.CentralAuth.URL(), rn.CentralAuth
	}

	lnA, err := net.Listen("tcp", cfg.AddrA)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w (set %s to another address)", envAddr, cfg.AddrA, err, envAddr)
	}
	rn.closers = append(rn.closers, func() { lnA.Close() })
	lnB, err := net.Listen("tcp", cfg.AddrB)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w (set %s to another address)", envAddrB, cfg.AddrB, err, envAddrB)
	}
	rn.closers = append(rn.closers, func() { lnB.Close() })
	rn.URLA, rn.URLB = publicURL(cfg.AddrA, lnA.Addr()), publicURL(cfg.AddrB, lnB.Addr())

	apps, err := exampleApps(cfg, baseURL, lister, rn.URLA, rn.URLB, logger)
	if err != nil {
		return nil, err
	}
	if err := rn.serverSide(cfg, apps); err != nil {
		return nil, err
	}
	for _, c := range apps {
		h, err := newApp(c)
		if err != nil {
			return nil, err
		}
		rn.servers = append(rn.servers, newServer(h, logger))
	}
	rn.serveErr = make(chan error, len(rn.servers))
	for i, ln := range []net.Listener{lnA, lnB} {
		go func() { rn.serveErr <- rn.servers[i].Serve(ln) }()
	}
	return rn, nil
}

// serverSide gives the apps their revocation lists and outbox queues: in
// memory (each app its own), or with REDIS_URL in Redis, under one key
// prefix per app, as two instances of one app would share them. With
// REDIS_URL, the list of ended CentralAuth sessions that both apps share
// moves to Redis too, under a prefix of the organization's, as apps in
// other processes would share it. It also starts the outbox workers, which
// Wait stops.
func (rn *Running) serverSide(cfg config, apps []appConfig) error {
	ctx, cancel := context.WithCancel(context.Background())
	rn.workers, rn.stopWork = &workers{ctx: ctx}, cancel
	for i := range apps {
		apps[i].Workers = rn.workers
	}
	if cfg.RedisURL == "" {
		return nil
	}
	cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
	defer ccancel()
	rdb, err := redisstore.Connect(cctx, cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("%s: %w", envRedisURL, err)
	}
	rn.closers = append(rn.closers, func() { rdb.Close() })
	for i := range apps {
		prefix := "centralauth-example:" + apps[i].CookieName + ":"
		// Each instance keeps the revocations in memory too, kept true
		// through Redis pub/sub: checks cost no round trip.
		revocations, err := redisstore.NewRevocations(rdb, prefix, redisstore.WithLocalCache(100_000), redisstore.WithLogger(apps[i].Logger))
		if err != nil {
			return err
		}
		apps[i].Revocations = revocations
		// Closers run last first: this one before the client's.
		rn.closers = append(rn.closers, func() { _ = revocations.Close() })
		if apps[i].Queue, err = redisstore.NewQueue(rdb, prefix); err != nil {
			return err
		}
	}
	if apps[0].Ended == nil {
		return nil // the client secret cannot read tokens: exampleApps said so
	}
	ended, err := redisstore.NewRevocations(rdb, endedPrefix, redisstore.WithLocalCache(100_000), redisstore.WithLogger(apps[0].Logger))
	if err != nil {
		return err
	}
	rn.closers = append(rn.closers, func() { _ = ended.Close() })
	for i := range apps {
		apps[i].Ended = ended
	}
	return nil
}

// endedPrefix is the Redis key prefix of the list of ended CentralAuth
// sessions: the organization's, not an app's, since every app of the
// organization writes and reads the same list.
const endedPrefix = "centralauth-example:ended:"

// Wait serves until ctx ends or a server stops by itself, then shuts
// everything down gracefully, waiting up to shutdownTimeout for requests in
// flight.
func (rn *Running) Wait(ctx context.Context) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-rn.serveErr: // a server stopped by itself: shut the other down too
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, s := range rn.servers {
		if serr := s.Shutdown(sctx); serr != nil {
			err = errors.Join(err, fmt.Errorf("shutting down: %w", serr))
		}
	}
	rn.stopWork()
	rn.workers.wg.Wait()
	rn.close()
	return err
}

func (rn *Running) close() {
	for i := len(rn.closers) - 1; i >= 0; i-- {
		rn.closers[i]()
	}
	rn.closers = nil
}

// Run starts the example, prints the URLs to open on out, and serves until
// ctx ends; then it shuts down gracefully.
func Run(ctx context.Context, lookup func(string) (string, bool), out io.Writer, logger *slog.Logger) error {
	rn, err := Start(lookup, logger)
	if err != nil {
		return err
	}
	baseURL := rn.cfg.BaseURL
	if rn.CentralAuth != nil {
		baseURL = rn.CentralAuth.URL()
	}
	printBanner(out, rn.cfg, rn.URLA, rn.URLB, baseURL)
	err = rn.Wait(ctx)
	fmt.Fprintln(out, "Stopped.")
	return err
}

// exampleApps configures App A and App B: two cookie names, since
// browsers share cookies across the ports of one host, and the two ways of
// mounting the logout handlers. demo is the embedded CentralAuth, or nil.
// Both apps read tokens with the client secret and share one list of ended
// CentralAuth sessions, in memory (serverSide moves it to Redis), unless
// the secret cannot decrypt tokens: then they notice a logout made in the
// other app at their check interval, which a Warn line says once.
func exampleApps(cfg config, baseURL string, demo sessionLister, urlA, urlB string, logger *slog.Logger) ([]appConfig, error) {
	apps := []appConfig{
		{Name: "App A", CookieName: "app_a_session", Mount: mountRoute, PublicURL: urlA, OtherName: "App B", OtherURL: urlB},
		{Name: "App B", CookieName: "app_b_session", Mount: mountMiddleware, PublicURL: urlB, OtherName: "App A", OtherURL: urlA},
	}
	for i := range apps {
		c := &apps[i]
		c.BaseURL, c.ClientID, c.ClientSecret = baseURL, cfg.ClientID, cfg.ClientSecret
		c.HashKey, c.EncryptionKey = cfg.HashKey, cfg.EncryptionKey
		c.Demo, c.Logger = demo, logger
		c.CheckInterval, c.MaxStale = cfg.CheckInterval, exampleMaxStale
	}
	tokens, err := token.NewDecrypter(cfg.ClientSecret)
	if err != nil {
		// A real organization's secret may have a length that no
		// accepted algorithm takes: the example runs all the same.
		logger.Warn("chi-app: the client secret cannot decrypt CentralAuth's tokens, so the apps share no list of ended sessions: a \"Log out everywhere\" in one app reaches the other at its check interval",
			slog.Duration("check_interval", cfg.CheckInterval), slog.Any("error", err))
		return apps, nil
	}
	ended, err := session.NewMemoryRevocations(maxEndedInMemory)
	if err != nil {
		return nil, err
	}
	for i := range apps {
		apps[i].Tokens, apps[i].Ended = tokens, ended
	}
	return apps, nil
}

// maxEndedInMemory bounds the list of ended CentralAuth sessions without
// REDIS_URL, as the library's own default does.
const maxEndedInMemory = 100_000

// The example asks CentralAuth often, so that a logout that the list of
// ended sessions does not carry (see exampleApps), or all of them without
// the list, shows in the other app within seconds, unless
// CENTRALAUTH_CHECK_INTERVAL says otherwise. The library's defaults are 30s and 10m.
const (
	exampleCheckInterval = 2 * time.Second
	exampleMaxStale      = time.Minute
)

// newServer serves h with timeouts that a slow client cannot hold open
// forever.
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// publicURL is the URL a browser uses for the app listening on addr: the
// configured host (127.0.0.1 for an unspecified one) and the port that
// the listener got, which matters for port 0.
func publicURL(addr string, bound net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	_, port, _ := net.SplitHostPort(bound.String())
	return "http://" + net.JoinHostPort(host, port)
}

// printBanner says what runs where, and what to do first.
func printBanner(out io.Writer, cfg config, urlA, urlB, baseURL string) {
	fmt.Fprintf(out, "centralauth-go/logout example: two apps, one CentralAuth session\n\n")
	fmt.Fprintf(out, "  App A  %s   (chi, logout mounted with r.Handle)\n", urlA)
	fmt.Fprintf(out, "  App B  %s   (chi, router wrapped with h.Middleware)\n", urlB)
	if cfg.Demo() {
		// The fake's own credentials, printed so that another app can log
		// in against it: they open nothing but this demo.
		fmt.Fprintf(out, "  CentralAuth (embedded fake)  %s\n", baseURL)
		fmt.Fprintf(out, "    client ID      %s\n", cfg.ClientID)
		fmt.Fprintf(out, "    client secret  %s\n\n", cfg.ClientSecret)
		fmt.Fprintf(out, "Open App A, log in, then log in on App B: CentralAuth's autologin\n")
		fmt.Fprintf(out, "reuses the session. Then try \"Log out everywhere\".\n")
		fmt.Fprintf(out, "\nAn app of your own can log in against the embedded CentralAuth with the\n")
		fmt.Fprintf(out, "base URL, client ID and secret above, and a callback on a loopback host.\n")
		fmt.Fprintf(out, "Set %s and %s to keep them across restarts.\n", envFakeAddr, envClientSecret)
	} else {
		fmt.Fprintf(out, "  CentralAuth  %s (your organization)\n\n", baseURL)
		fmt.Fprintf(out, "Whitelist these callback URLs there, and turn autologin on for\n")
		fmt.Fprintf(out, "\"Log out everywhere\" to reach the other app:\n  %s%s\n  %s%s\n", urlA, callbackPath, urlB, callbackPath)
	}
	if cfg.GeneratedKeys {
		fmt.Fprintf(out, "\nNote: the session keys are random for this run; set %s and\n%s to keep sessions across restarts.\n",
			envHashKey, envEncryptionKey)
	}
	fmt.Fprintf(out, "\nPress Ctrl-C to stop.\n")
}
