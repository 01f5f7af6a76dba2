package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/finding"
)

// The crash child is this test binary run again with these variables set:
// it records the second scan of crashScans into the database and kills
// itself with SIGKILL, the way a power cut or `kill -9` would end watch,
// either inside Record's transaction just before it commits or just after
// Record returned (before Close could checkpoint anything).
const (
	crashAtEnv = "SAGEFENCE_TEST_HISTORY_CRASH_AT" // "before-commit" or "after-commit"
	crashDBEnv = "SAGEFENCE_TEST_HISTORY_CRASH_DB"
)

// crashScans are two scans of 3,000 notebooks in which every notebook
// changes: enough rows that the uncommitted transaction spills pages into
// the write-ahead log before the kill.
func crashScans() [2]struct {
	scan Scan
	rep  *finding.Report
} {
	var out [2]struct {
		scan Scan
		rep  *finding.Report
	}
	for i, st := range []finding.Status{finding.StatusPass, finding.StatusFail} {
		var results []finding.Result
		for n := range 3000 {
			results = append(results, nb(euw1.AccountID, euw1.Region, fmt.Sprintf("nb-%04d", n), st, finding.PathNAT))
		}
		out[i].scan = scanAt(t0.Add(time.Duration(i)*time.Hour), scheduled, euw1)
		out[i].rep = report(results...)
	}
	return out
}

// TestCrashChild is not a test of its own: see runCrashChild.
func TestCrashChild(t *testing.T) {
	at := os.Getenv(crashAtEnv)
	if at == "" {
		t.Skip("helper process for the crash tests")
	}
	s, err := Open(context.Background(), os.Getenv(crashDBEnv))
	if err != nil {
		t.Fatal(err)
	}
	die := func() {
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
	if at == "before-commit" {
		s.beforeCommit = die
	}
	if _, err := s.Record(context.Background(), crashScans()[1].scan, crashScans()[1].rep); err != nil {
		t.Fatal(err)
	}
	if at == "after-commit" {
		die()
	}
	fmt.Printf("recorded without dying at %s\n", at)
	os.Exit(3)
}

func runCrashChild(t *testing.T, dbPath, at string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashAtEnv+"="+at, crashDBEnv+"="+dbPath)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("crash child at %s: %v\n%s", at, err, out)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("crash child at %s did not die by SIGKILL: %v\n%s", at, err, out)
	}
}

// TestACrashLosesNoCommittedHistory: a process killed inside Record leaves
// the database as the last committed scan left it, and one killed right
// after Record returned has the scan, though it never closed the database.
func TestACrashLosesNoCommittedHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	scans := crashScans()
	for _, c := range []struct {
		at       string
		wantScan int // the scan that must be the last one after the crash
	}{
		{"before-commit", 0},
		{"after-commit", 1},
	} {
		t.Run(c.at, func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "history.db")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			record(t, s, scans[0].scan, scans[0].rep)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			runCrashChild(t, path, c.at)
			// The premise: the child died with pages of its transaction
			// already in the log, not before writing anything.
			if fi, err := os.Stat(path + "-wal"); c.at == "before-commit" && (err != nil || fi.Size() == 0) {
				t.Fatalf("the child left no write-ahead log: %v", err)
			}

			s, err = Open(ctx, path)
			if err != nil {
				t.Fatalf("reopening after the crash: %v", err)
			}
			defer func() { _ = s.Close() }()
			want := scans[c.wantScan]
			last, ok, err := s.LastScan(ctx)
			if err != nil || !ok || !last.FinishedAt.Equal(want.scan.FinishedAt) {
				t.Fatalf("LastScan after the crash: %+v %v %v, want the scan at %v", last, ok, err, want.scan.FinishedAt)
			}
			if diff := cmp.Diff(want.rep.Results, current(t, s)); diff != "" {
				t.Errorf("Current after the crash (-want +got):\n%s", diff)
			}
			if h := history(t, s, euw1, "nb-0042"); len(h) != c.wantScan+1 {
				t.Errorf("History after the crash: %+v, want %d transitions", h, c.wantScan+1)
			}
			var ok2 string
			if err := s.w.QueryRow(`PRAGMA integrity_check`).Scan(&ok2); err != nil || ok2 != "ok" {
				t.Errorf("integrity_check after the crash: %q %v", ok2, err)
			}
			// Watch goes on from there: the scan the crash lost, recorded
			// again, is the change it was.
			if c.wantScan == 0 {
				trs := record(t, s, scans[1].scan, scans[1].rep)
				if len(trs) != 3000 || trs[0].From != "PASS" || trs[0].To != "FAIL" {
					t.Errorf("recording again after the crash: %d transitions, first %+v", len(trs), trs[0])
				}
			}
		})
	}
}
