//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// lockFile creates path exclusively. Without flock the operating system does
// not release this lock when a process dies: the error names the holder so
// the user can check it is gone and delete the file.
func lockFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, readHolder(path)
	}
	if err != nil {
		return nil, fmt.Errorf("journal lock %s: %w", path, err)
	}
	return f, nil
}

func unlockFile(f *os.File, path string) error {
	cerr := f.Close()
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("journal lock %s: %w", path, err)
	}
	if cerr != nil {
		return fmt.Errorf("journal lock %s: %w", path, cerr)
	}
	return nil
}
