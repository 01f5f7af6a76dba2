//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package journal

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile opens path and takes an flock on it without blocking. flock
// locks belong to the open file, so a second Lock in the same process is
// refused too, and the kernel drops the lock when the process dies.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close() // we hold nothing on it
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, readHolder(path)
		}
		return nil, fmt.Errorf("journal lock %s: %w", path, err)
	}
	return f, nil
}

func unlockFile(f *os.File, path string) error {
	uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	cerr := f.Close() // closing releases the lock as well
	if uerr != nil {
		return fmt.Errorf("journal lock %s: unlocking: %w", path, uerr)
	}
	if cerr != nil {
		return fmt.Errorf("journal lock %s: %w", path, cerr)
	}
	return nil
}
