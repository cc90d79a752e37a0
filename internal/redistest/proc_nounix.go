//go:build !unix

package redistest

import (
	"errors"
	"os/exec"
	"syscall"
)

// sysProcAttr has nothing to add where there are no process groups.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills the process; a child it forked is not reached.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}

// errNoSignals: stopping a process needs Unix signals, so Pause fails the
// test here.
var errNoSignals = errors.New("stopping a process is not supported on this platform")

func pauseGroup(*exec.Cmd) error { return errNoSignals }

func continueGroup(*exec.Cmd) error { return errNoSignals }
