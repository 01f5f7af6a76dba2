//go:build unix

package testenv

import (
	"os/exec"
	"syscall"
)

// signalGroup sends SIGTERM (or SIGKILL when hard) to the process group
// that sysProcAttr created.
func signalGroup(cmd *exec.Cmd, hard bool) {
	if cmd.Process == nil {
		return
	}
	sig := syscall.SIGTERM
	if hard {
		sig = syscall.SIGKILL
	}
	// A negative pid addresses the whole group. The error only says the
	// group is already gone.
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
