package testenv

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts moto in its own process group, so that Close can kill
// it with any children, and has the kernel kill it if the test binary dies
// first (a panic or `go test -timeout`), so no emulator outlives its tests.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(cmd *exec.Cmd, hard bool) { signalGroup(cmd, hard) }
