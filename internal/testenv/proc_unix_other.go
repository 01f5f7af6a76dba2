//go:build unix && !linux

package testenv

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts moto in its own process group, so that Close can kill
// it with any children.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func killGroup(cmd *exec.Cmd, hard bool) { signalGroup(cmd, hard) }
