// Command centralauth-logout ends CentralAuth sessions by hand: CentralAuth's
// "manual integration", for operators and incident response.
//
//	centralauth-logout [flags] [FILE ...]
//	centralauth-logout outbox stats [-redis URL] [-prefix P]
//	centralauth-logout outbox drain [-redis URL] [-prefix P]
//
// It reads tokens, one per line, from the files or from stdin ("-" or no
// file; on a terminal it says so, and Ctrl-D ends the input): blank lines
// and "#" comments are ignored, CRLF endings and a UTF-8 byte order mark
// are handled. There is no flag for a token: a token in argv ends up in
// shell history and in ps. The input is read once, streamed: memory stays
// flat whatever its size.
//
// Credentials come from CENTRALAUTH_CLIENT_ID, CENTRALAUTH_CLIENT_SECRET and
// CENTRALAUTH_BASE_URL (default https://centralauth.com). Each token is
// POSTed to {base}/api/v1/logout, retried on transport errors, 5xx and 429
// by the library's rules; a 429 or a Retry-After pauses every worker. A
// progress bar shows on stderr when stderr is a terminal, and a summary at
// the end. No token, nor any part of one, is ever printed: lines are named
// by file and number.
//
// Every line that is neither blank nor a comment is accounted for exactly
// once, in the summary and, with -json, as one object of kind "line" with
// its file, line and outcome:
//
//   - ended: CentralAuth ended the session;
//   - alreadyEnded: CentralAuth answered sessionMissing, sessionExpired or
//     sessionInactive: the session had already ended;
//   - invalid: CentralAuth answered tokenInvalid, tokenMissing,
//     sessionInvalid or sessionNotVerified: it does not accept the token (one
//     of another organization, say), which is worth a look at the input;
//   - failed: any other answer, a 5xx or 429 whatever its body says
//     included, after the retries, or no answer (errorCode "interrupted"
//     for a request a second signal cut short, "graceExpired" for one
//     still unanswered after the grace period);
//   - skipped: not a token (a line over 16 KiB, a space, a quote), with a
//     reason that never quotes the line, and never sent;
//   - not tried: the run stopped first. Only counted, not listed: the
//     summary names the first such line, to resume from with tail -n +N.
//
// The last object of -json, of kind "summary", repeats the counts, which
// add up to the lines read.
//
// The first SIGINT or SIGTERM stops new requests, even while a read of
// stdin blocks; the requests in flight have 10 s to finish, the rest of the
// input is counted as not tried when every input is a regular file (a pipe
// or a terminal is not read further), and the summary says "interrupted".
// A second signal stops at once. A noPermission or domainInvalid answer
// stops the run the same way: the credentials or the base URL are wrong,
// and every other token would meet the same answer.
//
// Exit status:
//
//   - 0: every token line was ended, already ended or invalid at
//     CentralAuth, and no line was skipped or left untried;
//   - 1: a token failed, a line was skipped, or the run was interrupted;
//   - 2: a usage or configuration error, such as a FILE that is a directory
//     or cannot be read (then nothing is sent), or CentralAuth refusing the
//     credentials (then the run stops).
//
// "outbox stats" prints the length of a Redis outbox of queued session-wide
// logouts, its oldest entry's age and how many entries are past their first
// attempt. "outbox drain" delivers what is due now, with the library's
// Outbox, and needs CENTRALAUTH_OUTBOX_KEY (the outbox's encryption key, in
// base64) besides the credentials. Both read the Redis URL from -redis, or
// else from REDIS_URL; they exit 0 when done, 1 when drain dropped entries,
// scheduled retries or was interrupted, and 2 for a usage or configuration
// error or a Redis they cannot reach.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

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
	first, second := signals()
	os.Exit(run(first, second, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// signals returns a context that ends at the first SIGINT or SIGTERM, and
// one that ends at the second. A third has the default effect: the
// process dies.
func signals() (first, second context.Context) {
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	first, stop := context.WithCancel(context.Background())
	second, stopNow := context.WithCancel(context.Background())
	go func() {
		<-ch
		stop()
		<-ch
		stopNow()
		signal.Reset(os.Interrupt, syscall.SIGTERM)
	}()
	return first, second
}

// env is how run reads the environment, so that tests give their own.
type env func(string) string

// usageError is a usage or configuration error: one line, exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// run is the command, with its inputs and outputs given. first ends at
// the first interrupt, second at the second one.
func run(first, second context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv env) int {
	var err error
	code := exitOK
	if len(args) > 0 && args[0] == "outbox" {
		code, err = runOutbox(first, args[1:], stdout, stderr, getenv)
	} else {
		code, err = runEnd(first, second, args, stdin, stdout, stderr, getenv)
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

// The environment and the exit statuses, for -h.
var (
	envHelp = fmt.Sprintf(`environment:
  %-26s the organization's client ID
  %-26s its client secret
  %-26s CentralAuth's base URL; default https://centralauth.com
  %-26s outbox drain: the outbox's encryption key (outbox.WithEncryptionKey), base64
  %-26s outbox stats and drain: the Redis URL, when -redis is not given
`, envClientID, envSecret, envBaseURL, envOutboxKey, envRedisURL)
	endExitHelp = `exit status:
  0  every token line was ended, already ended or invalid at CentralAuth
  1  a token failed, a line was skipped, or the run was interrupted
  2  a usage or configuration error, such as a FILE that is a directory or
     cannot be read (nothing is sent), or CentralAuth refusing the
     credentials (the run stops)
`
	outboxExitHelp = `exit status:
  0  done
  1  drain dropped entries, scheduled retries, or was interrupted
  2  a usage or configuration error, or a Redis that cannot be reached
`
)

// runEnd ends the sessions of the tokens in the files given.
func runEnd(first, second context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv env) (int, error) {
	fs := flag.NewFlagSet("centralauth-logout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	workers := fs.Int("c", 8, "`workers`: how many tokens are sent at once")
	rate := fs.Float64("rate", 0, "a ceiling in `requests` per second; 0 for none")
	asJSON := fs.Bool("json", false, "write one JSON object per line to stdout, then a summary object")
	dryRun := fs.Bool("dry-run", false, "check the input and the settings; send nothing")
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: centralauth-logout [flags] [FILE ...]
       centralauth-logout outbox stats|drain [-redis URL] [-prefix P]

Ends the CentralAuth session of every token in the FILEs, one per line
(stdin without FILE or with -), and says what became of every line.

flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\n"+envHelp+"\n"+endExitHelp)
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
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		for _, in := range inputs {
			if in.name == "-" {
				fmt.Fprintln(stderr, "centralauth-logout: reading tokens from the terminal, one per line; end the input with Ctrl-D")
				break
			}
		}
	}

	sum := summary{dryRun: *dryRun}
	out := jsonLines{}
	if *asJSON {
		out.enc = json.NewEncoder(stdout)
	}
	bar := newBar(stderr)
	report := func(r result) {
		sum.add(r)
		if r.Outcome != outcomeNotTried {
			out.write(r)
		}
		_ = bar.Add(1)
	}
	e := &ender{workers: *workers, rate: *rate, grace: lastWait, interrupted: func() {
		fmt.Fprintf(stderr, "centralauth-logout: interrupted: no new requests; those in flight have %v to finish; interrupt again to stop at once\n", lastWait)
	}}
	if !*dryRun {
		e.client = c
	}
	st := e.run(first, second, inputs, report)
	_ = bar.Finish()
	sum.write(stderr, st, inputs)
	out.write(sum.object(st))
	if re, ok := errors.AsType[*refusedError](st.cause); ok {
		return 0, usageError{re.Error()}
	}
	if sum.failed > 0 || sum.skipped > 0 || st.cause != nil {
		return exitFailed, nil
	}
	return exitOK, nil
}

// newBar is a progress bar on w when w is a terminal, and nothing
// otherwise. It counts the lines done, without a total: counting the token
// lines first would mean reading the input twice.
func newBar(w io.Writer) *progressbar.ProgressBar {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return progressbar.NewOptions(-1, progressbar.OptionSetVisibility(false))
	}
	return progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("ending sessions"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("lines"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// runOutbox is "outbox stats" and "outbox drain".
func runOutbox(ctx context.Context, args []string, stdout, stderr io.Writer, getenv env) (int, error) {
	if len(args) == 0 || (args[0] != "stats" && args[0] != "drain") {
		return 0, usagef("outbox: want \"outbox stats\" or \"outbox drain\"")
	}
	verb := args[0]
	fs := flag.NewFlagSet("centralauth-logout outbox "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The default is named, not shown: the URL may hold a password, and
	// the usage text shows on -h and on any mistyped flag.
	redisURL := fs.String("redis", "", "the Redis `URL`, redis:// or rediss://; default $"+envRedisURL)
	prefix := fs.String("prefix", "centralauth:", "the outbox's key `prefix`, as the app passes to redisstore.NewQueue")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `usage: centralauth-logout outbox stats|drain [-redis URL] [-prefix P]

stats prints the length of the Redis outbox of queued session-wide logouts,
its oldest entry's age and how many entries are past their first attempt;
drain delivers what is due now.

flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\n"+envHelp+"\n"+outboxExitHelp)
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, nil
		}
		return 0, usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return 0, usagef("outbox %s takes no arguments", verb)
	}
	if *redisURL == "" {
		*redisURL = getenv(envRedisURL)
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
	// go-redis logs each failed dial itself, on stderr, before Connect
	// returns its error: the command says it once, in its own words.
	redis.SetLogger(&logging.VoidLogger{})
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rdb, err := redisstore.Connect(cctx, *redisURL)
	if err != nil {
		return 0, usagef("Redis: %v", err) // redisstore never puts the password in an error
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

// outboxKey reads the outbox's encryption key (outbox.WithEncryptionKey), base64 (standard or URL
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
