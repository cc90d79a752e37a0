package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/centralauth-go/logout/internal/testutil"
)

// TestTerminalStdinHint: with no FILE and stdin a terminal, the command
// says that it reads tokens from stdin, and how to end the input.
func TestTerminalStdinHint(t *testing.T) {
	ca := newFake(t)
	master, tty := openPTY(t)
	c := startProcess(t, fakeEnv(ca), tty)
	testutil.WaitFor(t, 30*time.Second, "a line saying that tokens are read from the terminal", func() bool {
		return strings.Contains(c.stderr.String(), "Ctrl-D")
	}, func() string { return "stderr: " + c.stderr.String() })
	if _, err := master.Write([]byte{4}); err != nil { // Ctrl-D
		t.Fatal(err)
	}
	if code := c.wait(t, "the command to end at Ctrl-D"); code != exitOK {
		t.Fatalf("exit status %d at the end of an empty input, want 0:\n%s", code, c.stderr.String())
	}
	if n := strings.Count(strings.TrimSpace(c.stderr.String()), "\n"); n != 1 {
		t.Fatalf("want the hint and the summary, got %q", c.stderr.String())
	}
}

// openPTY opens a pseudo-terminal: the test writes to master what a user
// would type, and the command reads it from tty.
func openPTY(t *testing.T) (master, tty *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening a pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { _ = master.Close() })
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatal(errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatal(errno)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tty.Close() })
	return master, tty
}
