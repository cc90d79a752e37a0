// Command centralauth-logout ends CentralAuth sessions by hand: CentralAuth's
// "manual integration", for operators and incident response.
//
//	centralauth-logout [flags] [FILE ...]
//	centralauth-logout outbox stats [-redis URL] [-prefix P]
//	centralauth-logout outbox drain [-redis URL] [-prefix P]
//
// It reads tokens, one per line, from the files or from stdin ("-" or no
// file): blank lines and "#" comments are skipped, CRLF endings and a UTF-8
// byte order mark are handled, and a line over 16 KiB is reported by its
// number and skipped. There is no flag for a token: a token in argv ends up
// in shell history and in ps. The input is streamed: memory stays flat
// whatever its size.
//
// Credentials come from CENTRALAUTH_CLIENT_ID, CENTRALAUTH_CLIENT_SECRET and
// CENTRALAUTH_BASE_URL (default https://centralauth.com). Each token is
// POSTed to {base}/api/v1/logout, retried on transport errors, 5xx and 429
// by the library's rules; a 429 or a Retry-After pauses every worker. A
// progress bar shows on stderr when stderr is a terminal, and a summary at
// the end. No token, nor any part of one, is ever printed: lines are named
// by file and number.
//
// Exit status: 0 when every token was ended or was already gone, 1 when
// any failed, 2 for a usage or configuration error (then nothing is sent).
// Ctrl-C stops taking new tokens, lets requests in flight finish within
// 10 s, and prints the summary of what was done.
//
// "outbox stats" prints the length of a Redis outbox of queued session-wide
// logouts, its oldest entry's age and how many entries are past their first
// attempt. "outbox drain" delivers what is due now, with the library's
// Outbox, and needs CENTRALAUTH_OUTBOX_KEY (the queue's encryption key, in
// base64) besides the credentials.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/centralauth-go/logout/outbox"
	"github.com/centralauth-go/logout/redisstore"
	"github.com/centralauth-go/logout/remote"
)

const (
	envClientID  = "CENTRALAUTH_CLIENT_ID"
	envSecret    = "CENTRALAUTH_CLIENT_SECRET"
	envBaseURL   = "CENTRALAUTH_BASE_URL"
	envOutboxKey = "CENTRALAUTH_OUTBOX_KEY"
	envRedisURL  = "REDIS_URL"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	// The heap stays small and flat (a few MiB whatever the input); a
	// laxer collector spends less of the CPU that the requests need.
	debug.SetGCPercent(400)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// env is how run reads the environment, so that tests give their own.
type env func(string) string

// usageError is a usage or configuration error: one line, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run is the command, with its inputs and outputs given.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv env) int {
	var err error
	code := exitOK
	if len(args) > 0 && args[0] == "outbox" {
		code, err = runOutbox(ctx, args[1:], stdout, stderr, getenv)
	} else {
		code, err = runEnd(ctx, args, stdin, stdout, stderr, getenv)
	}
	if err != nil {
		fmt.Fprintln(stderr, "centralauth-logout: "+err.Error())
		if errors.As(err, new(usageError)) {
			return exitUsage
		}
		return exitFailed
	}
	return code
}

// client builds the CentralAuth client from the environment. retries is
// how many times the client itself retries.
func client(getenv env, retries int) (*remote.Client, error) {
	id, secret := getenv(envClientID), getenv(envSecret)
	switch {
	case id == "":
		return nil, usagef("%s is not set", envClientID)
	case secret == "":
		return nil, usagef("%s is not set", envSecret)
	}
	opts := []remote.Option{remote.WithRetries(retries), remote.WithUserAgent("centralauth-logout")}
	if base := getenv(envBaseURL); base != "" {
		opts = append(opts, remote.WithBaseURL(base))
	}
	c, err := remote.NewClient(id, secret, opts...)
	if err != nil {
		// Only the base URL can be wrong here: the ID and the secret are
		// not empty. remote's errors never hold the secret, nor the URL.
		return nil, usagef("%s: %s", envBaseURL, strings.TrimPrefix(err.Error(), remote.ErrInvalidConfig.Error()+": "))
	}
	return c, nil
}

// runEnd ends the sessions of the tokens in the files given.
func runEnd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv env) (int, error) {
	fs := flag.NewFlagSet("centralauth-logout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workers := fs.Int("c", 8, "`workers`: how many tokens are sent at once")
	rate := fs.Float64("rate", 0, "a ceiling in `requests` per second; 0 for none")
	asJSON := fs.Bool("json", false, "write one JSON object per token line to stdout")
	dryRun := fs.Bool("dry-run", false, "check the input and the settings; send nothing")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: centralauth-logout [flags] [FILE ...]   (tokens, one per line; stdin without FILE or with -)")
		fmt.Fprintln(stderr, "       centralauth-logout outbox stats|drain [-redis URL] [-prefix P]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, nil
		}
		return 0, usageError{err.Error()}
	}
	switch {
	case *workers < 1 || *workers > 1024:
		return 0, usagef("-c %d: want 1 to 1024 workers", *workers)
	case *rate < 0:
		return 0, usagef("-rate %v: want 0 (no ceiling) or more", *rate)
	}
	c, err := client(getenv, 0)
	if err != nil {
		return 0, err
	}
	inputs, closeAll, err := openInputs(fs.Args(), stdin)
	if err != nil {
		return 0, err
	}
	defer closeAll()

	var sum summary
	out := jsonLines{}
	if *asJSON {
		out.enc = json.NewEncoder(stdout)
	}
	bar := newBar(stderr, inputs)
	report := func(r result) {
		sum.add(r)
		out.write(r)
		_ = bar.Add(1)
	}
	skipped := func(l line) {
		sum.skipped = append(sum.skipped, l)
	}
	lines := allLines(inputs)
	if *dryRun {
		for l := range lines {
			if l.token == "" {
				skipped(l)
				continue
			}
			sum.tokens++
			_ = bar.Add(1)
		}
	} else {
		e := &ender{client: c, workers: *workers, rate: *rate}
		sum.untried = e.run(ctx, lines, skipped, report)
	}
	_ = bar.Finish()
	sum.write(stderr, *dryRun)
	if sum.failures() > 0 || sum.untried > 0 {
		return exitFailed, nil
	}
	return exitOK, nil
}

// input is one file to read, or stdin.
type input struct {
	name string
	r    io.Reader
	size int64 // -1 when unknown (stdin, a pipe)
	path string
}

// openInputs opens every file before anything is sent, so that a typo is a
// usage error rather than a half-done run.
func openInputs(names []string, stdin io.Reader) ([]input, func(), error) {
	if len(names) == 0 {
		names = []string{"-"}
	}
	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			_ = f.Close()
		}
	}
	var inputs []input
	for _, name := range names {
		if name == "-" {
			inputs = append(inputs, input{name: "-", r: stdin, size: -1})
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			closeAll()
			return nil, nil, usagef("%v", err) // names the file, which holds no token
		}
		files = append(files, f)
		in := input{name: name, r: f, size: -1, path: name}
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			in.size = st.Size()
		}
		inputs = append(inputs, in)
	}
	return inputs, closeAll, nil
}

// allLines yields the token lines of every input in turn.
func allLines(inputs []input) iter.Seq[line] {
	return func(yield func(line) bool) {
		for _, in := range inputs {
			for l := range tokenLines(in.name, in.r) {
				if !yield(l) {
					return
				}
			}
		}
	}
}

// newBar is a progress bar on w when w is a terminal, and nothing
// otherwise. When every input is a regular file, the token lines are
// counted first, in a streaming pass, so that the bar knows its total.
func newBar(w io.Writer, inputs []input) *progressbar.ProgressBar {
	f, ok := w.(*os.File)
	if !ok || !isTerminal(f) {
		return progressbar.NewOptions(-1, progressbar.OptionSetVisibility(false))
	}
	total := 0
	for _, in := range inputs {
		if in.path == "" {
			total = -1
			break
		}
		cf, err := os.Open(in.path)
		if err != nil {
			total = -1
			break
		}
		for l := range tokenLines(in.name, cf) {
			if l.token != "" {
				total++
			}
		}
		_ = cf.Close()
	}
	return progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("ending sessions"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("tokens"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// runOutbox is "outbox stats" and "outbox drain".
func runOutbox(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) (int, error) {
	if len(args) == 0 || (args[0] != "stats" && args[0] != "drain") {
		return 0, usagef("outbox: want \"outbox stats\" or \"outbox drain\"")
	}
	verb := args[0]
	fs := flag.NewFlagSet("centralauth-logout outbox "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	redisURL := fs.String("redis", getenv(envRedisURL), "the Redis `URL`, redis:// or rediss://; default $"+envRedisURL)
	prefix := fs.String("prefix", "centralauth:", "the outbox's key `prefix`, as the app passes to redisstore.NewQueue")
	if err := fs.Parse(args[1:]); err != nil {
		return 0, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return 0, usagef("outbox %s takes no arguments", verb)
	}
	if *redisURL == "" {
		return 0, usagef("outbox %s needs -redis or %s", verb, envRedisURL)
	}
	// Checked before connecting: a missing setting sends nothing.
	var key []byte // stats reads no token
	var c *remote.Client
	if verb == "drain" {
		var err error
		if key, err = outboxKey(getenv); err != nil {
			return 0, err
		}
		if c, err = client(getenv, 2); err != nil {
			return 0, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rdb, err := redisstore.Connect(cctx, *redisURL)
	if err != nil {
		return 0, usagef("-redis: %v", err) // redisstore never puts the password in an error
	}
	defer rdb.Close()
	q, err := redisstore.NewQueue(rdb, *prefix)
	if err != nil {
		return 0, usageError{err.Error()}
	}
	if verb == "stats" {
		st, err := q.Stats(ctx)
		if err != nil {
			return 0, err
		}
		writeQueueStats(stdout, st)
		return exitOK, nil
	}

	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	o, err := outbox.New(c, q, outbox.WithEncryptionKey(key), outbox.WithLogger(logger))
	if err != nil {
		return 0, err
	}
	derr := o.Drain(ctx)
	st, _ := o.Stats(context.WithoutCancel(ctx))
	fmt.Fprintf(stderr, "outbox drain: %d delivered, %d dropped, %d retries scheduled; %d left in the queue\n",
		st.Delivered, st.Dropped, st.Retries, st.Pending)
	switch {
	case derr != nil && !errors.Is(derr, context.Canceled):
		return 0, derr
	case st.Dropped > 0 || st.Retries > 0 || derr != nil:
		return exitFailed, nil
	}
	return exitOK, nil
}

func writeQueueStats(w io.Writer, st outbox.Stats) {
	age := "none"
	if !st.Oldest.IsZero() {
		age = time.Since(st.Oldest).Round(time.Second).String()
	}
	fmt.Fprintf(w, "pending: %d\noldest: %s\npast first attempt: %d\n", st.Pending, age, st.Attempted)
}

// outboxKey reads the queue's encryption key, base64 (standard or URL
// alphabet, padded or not), from the environment, never from a flag.
func outboxKey(getenv env) ([]byte, error) {
	raw := strings.TrimSpace(getenv(envOutboxKey))
	if raw == "" {
		return nil, usagef("%s is not set (the outbox's encryption key, base64)", envOutboxKey)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(raw); err == nil {
			switch len(key) {
			case 16, 24, 32:
				return key, nil
			}
			return nil, usagef("%s decodes to %d bytes; want 16, 24 or 32", envOutboxKey, len(key))
		}
	}
	return nil, usagef("%s is not base64", envOutboxKey)
}
