// Command loadtest drives the example app (examples/chi-app) the way many
// browsers would: each client logs in through the demo CentralAuth, logs
// out, then replays its old session cookie to check that it no longer
// works. It prints throughput, latency percentiles, errors, and how many
// sessions are still active afterwards, which must be 0.
//
// By default it starts the example in-process, with its embedded
// CentralAuth, on free loopback ports. With -url it drives an example that
// is already running there instead; the URL must be on loopback.
//
//	go run ./internal/loadtest -c 16 -d 10s -mode everywhere
//
// Every client stops at -d or after -n iterations, whichever comes first.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"time"

	"github.com/centralauth-go/logout/examples/chi-app/demo"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

type options struct {
	concurrency int
	duration    time.Duration
	iterations  int
	mode        string
	url         string
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.IntVar(&o.concurrency, "c", 16, "concurrent clients, each with its own cookie jar")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "how long to run")
	fs.IntVar(&o.iterations, "n", 100_000, "most iterations (log in, log out, check) per client")
	fs.StringVar(&o.mode, "mode", "local", `"local" (POST /logout) or "everywhere" (POST /logout/everywhere, session-wide)`)
	fs.StringVar(&o.url, "url", "", "an example app already running on loopback (default: start one in-process)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	switch {
	case o.concurrency < 1 || o.concurrency > 1024:
		return o, fmt.Errorf("-c %d: want 1 to 1024", o.concurrency)
	case o.duration <= 0 || o.duration > time.Hour:
		return o, fmt.Errorf("-d %v: want more than 0 and at most 1h", o.duration)
	case o.iterations < 1:
		return o, fmt.Errorf("-n %d: want at least 1", o.iterations)
	case o.mode != "local" && o.mode != "everywhere":
		return o, fmt.Errorf(`-mode %q: want "local" or "everywhere"`, o.mode)
	}
	if o.url != "" {
		if err := checkLoopback(o.url); err != nil {
			return o, fmt.Errorf("-url: %w", err)
		}
	}
	return o, nil
}

// checkLoopback keeps the load on this machine: load tests talk to
// 127.0.0.1 and nothing else.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("%q is not an http URL", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not on loopback", raw)
	}
	return nil
}

func run(args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	target := o.url
	var running *demo.Running
	if target == "" {
		env := map[string]string{"ADDR": "127.0.0.1:0", "ADDR_B": "127.0.0.1:0"}
		running, err = demo.Start(func(k string) (string, bool) { v, ok := env[k]; return v, ok },
			slog.New(slog.DiscardHandler))
		if err != nil {
			return err
		}
		defer running.Wait(cancelled())
		target = running.URLA
	}

	fmt.Fprintf(out, "loadtest: %d clients, %v (at most %d iterations each), %s logout, against %s\n",
		o.concurrency, o.duration, o.iterations, o.mode, target)
	res := drive(ctx, target, o)
	res.print(out)

	if running != nil && running.CentralAuth != nil {
		active := 0
		for s := range running.CentralAuth.Sessions() {
			if s.Active {
				active++
			}
		}
		if o.mode == "everywhere" {
			fmt.Fprintf(out, "CentralAuth sessions still active: %d\n", active)
			res.stillActive += active
		} else {
			fmt.Fprintf(out, "CentralAuth sessions still active: %d (a local logout leaves them, by design)\n", active)
		}
	}
	fmt.Fprintf(out, "sessions still active afterwards: %d\n", res.stillActive)
	switch {
	case res.stillActive != 0:
		return fmt.Errorf("%d sessions survived their logout", res.stillActive)
	case res.iterations == 0:
		return fmt.Errorf("no iteration completed (%d errors)", res.errorCount())
	}
	return nil
}

// cancelled is a context that has already ended, for a prompt shutdown.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
