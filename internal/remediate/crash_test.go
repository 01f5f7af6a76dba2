package remediate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sagefence/sagefence/internal/journal"
	"github.com/sagefence/sagefence/internal/testenv"
)

// The crash child is this test binary run again with these variables set:
// it applies the plan file to moto and kills itself with SIGKILL at one
// step boundary, the way a power cut or `kill -9` would end sagefence.
const (
	crashAtEnv      = "SAGEFENCE_TEST_CRASH_AT" // "SEQ:intent|call|result"
	crashMotoEnv    = "SAGEFENCE_TEST_CRASH_MOTO"
	crashJournalEnv = "SAGEFENCE_TEST_CRASH_JOURNAL"
	crashPlanEnv    = "SAGEFENCE_TEST_CRASH_PLAN"
	crashBackupEnv  = "SAGEFENCE_TEST_CRASH_BACKUP_DIR"
)

// TestCrashChild is not a test of its own: see runCrashChild.
func TestCrashChild(t *testing.T) {
	at := os.Getenv(crashAtEnv)
	if at == "" {
		t.Skip("helper process for the crash tests")
	}
	seqS, point, _ := strings.Cut(at, ":")
	seq, err := strconv.Atoi(seqS)
	if err != nil {
		t.Fatalf("%s=%q", crashAtEnv, at)
	}
	e := envFor(t, os.Getenv(crashMotoEnv))
	if dir := os.Getenv(crashBackupEnv); dir != "" {
		e.simulateLifecycle(t, dir)
	}
	f, err := os.Open(os.Getenv(crashPlanEnv))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ReadPlan(f)
	_ = f.Close() // read-only
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(context.Background(), os.Getenv(crashJournalEnv))
	if err != nil {
		t.Fatal(err)
	}
	opts := fast()
	opts.hook = func(s int, pt string) {
		if s == seq && pt == point {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
	}
	_, err = Apply(context.Background(), p, e.clients(), j, opts)
	fmt.Printf("apply finished without reaching %s: %v\n", at, err)
	os.Exit(3)
}

// runCrashChild applies planPath in a child process that dies at seq:point,
// and checks that it did die there.
func runCrashChild(t *testing.T, url, journalPath, planPath, backupDir string, seq int, point string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), testenv.Env(url)...)
	cmd.Env = append(cmd.Env, crashAtEnv+"="+strconv.Itoa(seq)+":"+point, crashMotoEnv+"="+url,
		crashJournalEnv+"="+journalPath, crashPlanEnv+"="+planPath, crashBackupEnv+"="+backupDir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("crash child at %d:%s: %v\n%s", seq, point, err, out)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("crash child at %d:%s did not die by SIGKILL: %v\n%s", seq, point, err, out)
	}
}

// crashedRun opens the journal a crash child left and returns its one
// run, which must still be marked running.
func crashedRun(t *testing.T, journalPath string) (*journal.Journal, journal.Run) {
	t.Helper()
	ctx := context.Background()
	j, err := journal.Open(ctx, journalPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	runs, err := j.Runs(ctx)
	if err != nil || len(runs) != 1 || runs[0].Status != journal.RunRunning {
		t.Fatalf("journal after the crash: %+v %v, want one run still marked running", runs, err)
	}
	return j, runs[0]
}

func writePlan(t *testing.T, p *Plan) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plan.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Encode(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// crashCase is one kind of plan the crash test kills at every boundary.
type crashCase struct {
	name  string
	opts  PlanOptions
	setup func(t *testing.T, e *env) (backupDir string)
}

// TestCrashAtEveryStepBoundaryBacksOutToTheOriginalState kills apply after
// each step's intent is journaled, after its AWS call, and after its result
// is journaled; then backout, from the journal alone, must restore the
// account, deciding from the live state whether the in-flight call
// happened.
func TestCrashAtEveryStepBoundaryBacksOutToTheOriginalState(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process per step boundary")
	}
	for _, cc := range []crashCase{
		{name: "network-and-recreate"},
		{name: "recreate-with-backup", opts: PlanOptions{Fixes: []Fix{FixDirect}, BackupBucket: "s3://sagefence-backup/runs"},
			setup: setupBackup},
	} {
		t.Run(cc.name, func(t *testing.T) {
			// A clean run first, to learn how many steps there are.
			steps := func() int {
				e := newEnv(t)
				buildEstate(t, e)
				if cc.setup != nil {
					e.simulateLifecycle(t, cc.setup(t, e))
				}
				res, err := Apply(context.Background(), e.plan(t, cc.opts), e.clients(), openJournal(t), fast())
				if err != nil {
					t.Fatal(err)
				}
				return len(res.Steps)
			}()
			for seq := 1; seq <= steps; seq++ {
				for _, point := range []string{pointIntent, pointCall, pointResult} {
					t.Run(fmt.Sprintf("step%d-%s", seq, point), func(t *testing.T) {
						crashAndBackout(t, cc, seq, point)
					})
				}
			}
		})
	}
}

func crashAndBackout(t *testing.T, cc crashCase, seq int, point string) {
	m := moto.ForTest(t)
	e := envFor(t, m.URL())
	buildEstate(t, e)
	backupDir := ""
	if cc.setup != nil {
		backupDir = cc.setup(t, e)
	}
	p := e.plan(t, cc.opts)
	before := e.snapshot(t)
	journalPath := filepath.Join(t.TempDir(), "journal.db")
	runCrashChild(t, m.URL(), journalPath, writePlan(t, p), backupDir, seq, point)

	ctx := context.Background()
	j, run := crashedRun(t, journalPath)
	runs := []journal.Run{run}
	steps, err := j.Steps(ctx, runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != seq {
		t.Fatalf("journal has %d steps, want %d", len(steps), seq)
	}
	wantStatus := journal.StepPending
	if point == pointResult {
		wantStatus = journal.StepDone
	}
	if got := steps[seq-1].Status; got != wantStatus {
		t.Errorf("step %d is %s after a crash at %s, want %s", seq, got, point, wantStatus)
	}

	if backupDir != "" {
		e.simulateLifecycle(t, backupDir)
	}
	res, err := Backout(ctx, runs[0].ID, e.clients(), j, fast())
	if err != nil {
		t.Fatalf("Backout: %v\n%+v", err, res)
	}
	if diff := diffAccount(before, e.snapshot(t, runLCCs(runs[0].ID, "nb-direct")...)); diff != "" {
		t.Errorf("account after backout differs from before apply (-before +after):\n%s", diff)
	}
	if r, _ := j.Run(ctx, runs[0].ID); r.Status != journal.RunBackedOut {
		t.Errorf("apply run status %s, want backed-out", r.Status)
	}
}
