// Package redistest runs a real redis-server for tests: on 127.0.0.1, on a
// free port, with its data in the test's temporary directory and the
// append-only file fsynced on every write, so that a Restart keeps
// everything that was acknowledged. No mock: the tests that use it run
// against the same server as production.
//
// The binary comes from Debian's redis-server package, which `make deps`
// (part of `make test`) installs. Without it the test skips, naming the
// package, unless testenv.RequireEnv is set, as `make test` does: then it
// fails, so that a green `make test` always means the Redis tests ran.
package redistest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/centralauth-go/logout/internal/testenv"
	"github.com/centralauth-go/logout/internal/testutil"
)

const (
	// startTimeout bounds how long a server may take to answer PING.
	startTimeout = 15 * time.Second
	// stopTimeout bounds a graceful shutdown before the process is killed.
	stopTimeout = 10 * time.Second
	// portTries is how often Start picks another port after a clash.
	portTries = 5
)

// Server is a running redis-server. Its methods are meant to be called from
// the test's own goroutine (they may call t.Fatal).
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	args []string // more redis-server arguments

	mu     sync.Mutex
	port   int
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has exited; nil when never started
	paused bool          // stopped with SIGSTOP (Pause)
}

// errPortInUse means the chosen port was taken between picking and binding.
var errPortInUse = errors.New("redistest: port in use")

// Start runs redis-server for the test and stops it when the test ends. It
// fails the test if the binary is missing or the server does not come up.
func Start(t testing.TB) *Server {
	t.Helper()
	return start(t)
}

// start is Start with extra redis-server arguments.
func start(t testing.TB, args ...string) *Server {
	t.Helper()
	bin := testenv.Program(t, "redis-server", "redis-server")
	s := &Server{t: t, bin: bin, dir: t.TempDir(), args: args}
	// Registered after TempDir, so it runs first: the server is gone
	// before its directory is removed.
	t.Cleanup(s.Stop)
	var last error
	for range portTries {
		port, err := freePort()
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		s.port = port
		if last = s.launch(); last == nil {
			return s
		}
		if !errors.Is(last, errPortInUse) {
			break
		}
	}
	t.Fatalf("redistest: starting redis-server: %v", last)
	return nil
}

// Addr returns the server's "127.0.0.1:port".
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL returns a redis:// URL for the server, for redis.ParseURL.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Dir returns the server's working directory, where its append-only files
// are.
func (s *Server) Dir() string { return s.dir }

// Client returns a new client for the server, closed when t ends. Its
// timeouts are short, so that a test against a stopped server fails fast.
func (s *Server) Client(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(&redis.Options{
		Addr:         s.Addr(),
		DialTimeout:  time.Second,
		ReadTimeout:  2 * time.Second,
		WriteTimeout: 2 * time.Second,
		MaxRetries:   1,
		// go-redis redials a refused connection 5 times by default.
		DialerRetries: 1,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Dump returns every key in the server's current database with what it
// holds, rendered as text: a string's value, a hash's fields and values, a
// sorted set's members and scores, a list's or set's members. Tests search
// it for secrets.
func (s *Server) Dump(t testing.TB) map[string]string {
	t.Helper()
	ctx := context.Background()
	rdb := s.Client(t)
	out := make(map[string]string)
	iter := rdb.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		var v any
		var err error
		typ, err := rdb.Type(ctx, key).Result()
		if err == nil {
			switch typ {
			case "string":
				v, err = rdb.Get(ctx, key).Result()
			case "hash":
				v, err = rdb.HGetAll(ctx, key).Result()
			case "zset":
				v, err = rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
			case "list":
				v, err = rdb.LRange(ctx, key, 0, -1).Result()
			case "set":
				v, err = rdb.SMembers(ctx, key).Result()
			case "none": // expired or deleted since SCAN saw it
				continue
			default:
				err = fmt.Errorf("no way to dump a %s", typ)
			}
		}
		if err != nil {
			t.Fatalf("redistest: dumping %q: %v", key, err)
		}
		out[key] = fmt.Sprintf("%s %v", typ, v)
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("redistest: SCAN: %v", err)
	}
	return out
}

// DiskData returns the concatenated contents of every file the server
// wrote to its directory (append-only files, log), so that tests can search
// what persistence and backups would keep.
func (s *Server) DiskData(t testing.TB) []byte {
	t.Helper()
	var all []byte
	err := filepath.WalkDir(s.dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all = append(all, b...)
		return err
	})
	if err != nil {
		t.Fatalf("redistest: reading %s: %v", s.dir, err)
	}
	return all
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runningLocked()
}

func (s *Server) runningLocked() bool {
	if s.exited == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Stop shuts the server down gracefully (SIGTERM: Redis fsyncs its
// append-only file and exits) and waits for it; a server that does not exit
// in time is killed. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGTERM)
}

// Kill ends the server at once with SIGKILL, as a crash would, and waits
// for it. What Redis acknowledged before is on disk all the same
// (appendfsync always), so Restart brings it back.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(syscall.SIGKILL)
}

func (s *Server) stopLocked(sig syscall.Signal) {
	if !s.runningLocked() {
		return
	}
	s.resumeLocked() // a stopped process would not act on SIGTERM
	_ = s.cmd.Process.Signal(sig)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-s.exited:
	case <-t.C:
		s.t.Errorf("redistest: redis-server did not exit within %v of %v; killing it", stopTimeout, sig)
		killGroup(s.cmd)
		<-s.exited
	}
	// A child Redis forked (an append-only file rewrite) goes too.
	killGroup(s.cmd)
}

// Pause stops the server's processes with SIGSTOP, as a hung host would:
// its connections stay open, and nothing it was sent is answered until
// Resume. The server is resumed before it is stopped at the end of the
// test.
func (s *Server) Pause() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.runningLocked() {
		s.t.Fatal("redistest: Pause of a server that is not running")
	}
	if err := pauseGroup(s.cmd); err != nil {
		s.t.Fatalf("redistest: SIGSTOP: %v", err)
	}
	s.paused = true
}

// Resume continues a server stopped by Pause (SIGCONT).
func (s *Server) Resume() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resumeLocked()
}

func (s *Server) resumeLocked() {
	if s.paused {
		if err := continueGroup(s.cmd); err != nil {
			s.t.Errorf("redistest: SIGCONT: %v", err)
		}
		s.paused = false
	}
}

// Restart stops the server gracefully and starts it again on the same port
// and directory, so that clients reconnect to it and it reloads its data.
// It returns once the server answers PING.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	// The port was ours a moment ago; someone may have taken it since,
	// and is given a few tries to let go.
	var err error
	for range portTries {
		if err = s.launchLocked(); !errors.Is(err, errPortInUse) {
			break
		}
	}
	if err != nil {
		s.t.Fatalf("redistest: restarting redis-server on %s: %v", s.Addr(), err)
	}
}

func (s *Server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.launchLocked()
}

// launchLocked starts the process and waits until it answers PING.
func (s *Server) launchLocked() error {
	logFile := filepath.Join(s.dir, "redis.log")
	_ = os.Remove(logFile)
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--protected-mode", "yes",
		"--dir", s.dir,
		"--daemonize", "no",
		"--logfile", logFile,
		"--save", "",
		"--appendonly", "yes",
		"--appendfsync", "always",
		// Plain commands in the append-only files, never an
		// LZF-compressed RDB preamble, so that tests can search
		// what Redis keeps on disk for secrets.
		"--aof-use-rdb-preamble", "no",
	)
	cmd.Args = append(cmd.Args, s.args...)
	cmd.Dir = s.dir
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.cmd, s.exited = cmd, exited

	err := waitReady(s.Addr(), exited)
	if err == nil {
		return nil
	}
	killGroup(cmd)
	<-exited
	log, _ := os.ReadFile(logFile)
	if strings.Contains(string(log), "Address already in use") {
		return fmt.Errorf("%w: %s", errPortInUse, s.Addr())
	}
	return fmt.Errorf("%w; its log:\n%s", err, log)
}

// waitReady polls PING until the server answers PONG (not LOADING), the
// process exits, or startTimeout passes.
func waitReady(addr string, exited <-chan struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ping(addr) {
			return nil
		}
		select {
		case <-exited:
			return errors.New("redis-server exited before answering PING")
		case <-ctx.Done():
			return fmt.Errorf("redis-server did not answer PING within %v", startTimeout)
		case <-tick.C:
		}
	}
}

func ping(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(250 * time.Millisecond))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.TrimSpace(line) == "+PONG"
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Cluster is a real Redis Cluster of three masters, each a Server on
// loopback, with the 16,384 slots spread over them by redis-cli.
type Cluster struct {
	Nodes []*Server
}

// StartCluster starts the three masters, joins them with
// "redis-cli --cluster create", and waits until every node reports
// cluster_state:ok. Everything stops when t ends.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	cli := testenv.Program(t, "redis-cli", "redis-tools")
	c := &Cluster{}
	addrs := []string{}
	for range 3 {
		n := start(t, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000")
		c.Nodes = append(c.Nodes, n)
		addrs = append(addrs, n.Addr())
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, n := range c.Nodes {
		rdb := n.Client(t)
		testutil.WaitFor(t, startTimeout, "node "+n.Addr()+" to report cluster_state:ok", func() bool {
			info, err := rdb.ClusterInfo(context.Background()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
	}
	return c
}

// Client returns a cluster client, closed when t ends.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	var addrs []string
	for _, n := range c.Nodes {
		addrs = append(addrs, n.Addr())
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}
