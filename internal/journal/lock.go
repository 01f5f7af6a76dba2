package journal

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// LockedError reports that another process holds the journal's lock.
type LockedError struct {
	// Path is the lock file.
	Path string
	// PID, Purpose and Since describe the holder, as far as it recorded them;
	// PID is 0 when the holder wrote nothing readable.
	PID     int
	Purpose string
	Since   time.Time
}

func (e *LockedError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = "pid " + strconv.Itoa(e.PID)
		if e.Purpose != "" {
			holder += " (" + e.Purpose
			if !e.Since.IsZero() {
				holder += " since " + e.Since.Format(time.RFC3339)
			}
			holder += ")"
		}
	}
	return fmt.Sprintf("journal is locked by %s: only one apply, backout or finalize may run at a time; "+
		"wait for it to finish (lock file %s)", holder, e.Path)
}

// Lock is the journal's exclusive lock, held by one mutating run.
type Lock struct {
	f    *os.File
	path string
}

// LockPath is the lock file beside the database.
func (j *Journal) LockPath() string { return j.path + ".lock" }

// Lock takes the journal's exclusive lock without waiting. purpose (for
// example "apply r-2024...") is recorded with this process's pid so that a
// refused caller can be told who holds it. A held lock is a *LockedError.
// The operating system releases the lock if this process dies.
func (j *Journal) Lock(purpose string) (*Lock, error) {
	path := j.LockPath()
	f, err := lockFile(path)
	if err != nil {
		return nil, err
	}
	record := fmt.Sprintf("%d\n%s\n%s\n", os.Getpid(), strings.ReplaceAll(purpose, "\n", " "),
		time.Now().UTC().Format(time.RFC3339))
	if err := writeHolder(f, record); err != nil {
		_ = unlockFile(f, path) // the write error is the one worth reporting
		return nil, fmt.Errorf("journal lock %s: recording the holder: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Release clears the holder record and releases the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	// A stale holder record would only mislead; the lock itself is what counts.
	_ = f.Truncate(0)
	return unlockFile(f, l.path)
}

func writeHolder(f *os.File, record string) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(record), 0); err != nil {
		return err
	}
	return f.Sync()
}

// readHolder parses a lock file's holder record; missing parts stay zero.
func readHolder(path string) *LockedError {
	e := &LockedError{Path: path}
	b, err := os.ReadFile(path)
	if err != nil {
		return e
	}
	lines := strings.SplitN(string(b), "\n", 4)
	if len(lines) > 0 {
		e.PID, _ = strconv.Atoi(strings.TrimSpace(lines[0])) // unreadable: holder unknown
	}
	if len(lines) > 1 {
		e.Purpose = strings.TrimSpace(lines[1])
	}
	if len(lines) > 2 {
		e.Since, _ = time.Parse(time.RFC3339, strings.TrimSpace(lines[2])) // unreadable: time unknown
	}
	return e
}
