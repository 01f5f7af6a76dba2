package journal

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func openTemp(t *testing.T) *Journal {
	t.Helper()
	j, err := Open(context.Background(), filepath.Join(t.TempDir(), "state", "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func TestDefaultPathFollowsXDGStateHome(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_STATE_HOME", dir)
	got, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "sagefence", "journal.db"); got != want {
		t.Errorf("DefaultPath() = %q, want %q", got, want)
	}
}

func TestDefaultPathFallsBackToLocalState(t *testing.T) {
	home := t.TempDir()
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", home)
	got, err := DefaultPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".local", "state", "sagefence", "journal.db"); got != want {
		t.Errorf("DefaultPath() = %q, want %q", got, want)
	}
}

func TestOpenCreatesWALDatabaseWithCurrentSchema(t *testing.T) {
	j := openTemp(t)
	var mode string
	if err := j.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
	var sync int
	if err := j.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if sync != 2 {
		t.Errorf("synchronous = %d, want 2 (FULL)", sync)
	}
	var v int
	if err := j.db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != SchemaVersion {
		t.Errorf("user_version = %d, want %d", v, SchemaVersion)
	}
	fi, err := os.Stat(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("journal file mode = %v, want 0600", perm)
	}
}

func TestReopenKeepsRunsAndSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.CreateRun(ctx, Run{ID: "r1", Kind: KindApply, Status: RunRunning, StartedAt: time.Now(), PID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	j, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = j.Close() }()
	if _, err := j.Run(ctx, "r1"); err != nil {
		t.Errorf("run lost across reopen: %v", err)
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	_ = j.Close()
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open on a newer schema: err = %v, want a 'newer' refusal", err)
	}
}

func TestRunAndStepRoundTrip(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	run := Run{ID: "r-1", Kind: KindApply, PlanHash: "abc", Status: RunRunning, StartedAt: start, PID: 42, Host: "h",
		Plan: json.RawMessage(`{"schema_version":"1"}`)}
	if err := j.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	step := Step{RunID: "r-1", Seq: 1, ActionID: "a1", Action: "revoke-sg-egress", Resource: "sg-1",
		Intent: json.RawMessage(`{"group":"sg-1"}`), Before: json.RawMessage(`{"rules":[1]}`), StartedAt: start}
	if err := j.BeginStep(ctx, step); err != nil {
		t.Fatal(err)
	}
	steps, err := j.Steps(ctx, "r-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0].Status != StepPending || string(steps[0].Before) != `{"rules":[1]}` {
		t.Fatalf("after BeginStep: %+v, want one pending step with its before-state", steps)
	}
	end := start.Add(time.Minute)
	if err := j.FinishStep(ctx, "r-1", 1, StepOutcome{Status: StepDone, After: json.RawMessage(`{"rules":[]}`),
		Result: json.RawMessage(`{"ok":true}`), At: end}); err != nil {
		t.Fatal(err)
	}
	if err := j.MarkStep(ctx, "r-1", 1, StepUndone, "re-authorized", "r-2"); err != nil {
		t.Fatal(err)
	}
	if err := j.FinishRun(ctx, "r-1", RunCompleted, "", end); err != nil {
		t.Fatal(err)
	}

	gotRun, err := j.Run(ctx, "r-1")
	if err != nil {
		t.Fatal(err)
	}
	wantRun := run
	wantRun.Plan = nil
	wantRun.Status = RunCompleted
	wantRun.FinishedAt = &end
	if diff := cmp.Diff(wantRun, gotRun); diff != "" {
		t.Errorf("Run (-want +got):\n%s", diff)
	}
	plan, err := j.Plan(ctx, "r-1")
	if err != nil || string(plan) != `{"schema_version":"1"}` {
		t.Errorf("Plan = %s, %v", plan, err)
	}
	steps, err = j.Steps(ctx, "r-1")
	if err != nil {
		t.Fatal(err)
	}
	want := step
	want.Status = StepUndone
	want.After = json.RawMessage(`{"rules":[]}`)
	want.Result = json.RawMessage(`{"ok":true}`)
	want.Note = "re-authorized"
	want.UndoneBy = "r-2"
	want.FinishedAt = &end
	if diff := cmp.Diff([]Step{want}, steps); diff != "" {
		t.Errorf("Steps (-want +got):\n%s", diff)
	}

	byHash, err := j.RunsByPlanHash(ctx, KindApply, "abc")
	if err != nil || len(byHash) != 1 || byHash[0].ID != "r-1" {
		t.Errorf("RunsByPlanHash = %v, %v", byHash, err)
	}
	if err := j.CreateRun(ctx, Run{ID: "r-2", Kind: KindBackout, TargetRun: "r-1", Status: RunRunning,
		StartedAt: end, PID: 43}); err != nil {
		t.Fatal(err)
	}
	targeting, err := j.RunsTargeting(ctx, "r-1")
	if err != nil || len(targeting) != 1 || targeting[0].ID != "r-2" {
		t.Errorf("RunsTargeting = %v, %v", targeting, err)
	}
	all, err := j.Runs(ctx)
	if err != nil || len(all) != 2 {
		t.Errorf("Runs = %v, %v", all, err)
	}
}

func TestMissingRunIsNotFoundError(t *testing.T) {
	j := openTemp(t)
	_, err := j.Run(context.Background(), "nope")
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.RunID != "nope" {
		t.Fatalf("Run(missing) err = %v, want *NotFoundError", err)
	}
}

func TestStepWithoutIntentIsRefused(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	if err := j.CreateRun(ctx, Run{ID: "r", Kind: KindApply, Status: RunRunning, StartedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := j.BeginStep(ctx, Step{RunID: "r", Seq: 1, Action: "x", Resource: "y", StartedAt: time.Now()}); err == nil {
		t.Fatal("BeginStep without intent succeeded")
	}
}

func TestFinishStepThatWasNeverBegunFails(t *testing.T) {
	j := openTemp(t)
	if err := j.FinishStep(context.Background(), "r", 1, StepOutcome{Status: StepDone, At: time.Now()}); err == nil {
		t.Fatal("FinishStep on a missing step succeeded")
	}
}

func TestSecondLockIsRefusedNamingTheHolderPID(t *testing.T) {
	j := openTemp(t)
	l, err := j.Lock("apply r-1")
	if err != nil {
		t.Fatal(err)
	}
	_, err = j.Lock("backout r-1")
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second Lock err = %v, want *LockedError", err)
	}
	if le.PID != os.Getpid() || le.Purpose != "apply r-1" {
		t.Errorf("holder = pid %d %q, want pid %d \"apply r-1\"", le.PID, le.Purpose, os.Getpid())
	}
	if !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("message %q does not name the holder pid", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := j.Lock("backout r-1")
	if err != nil {
		t.Fatalf("Lock after Release: %v", err)
	}
	_ = l2.Release()
}

// A second journal handle (another process's view) is refused as well.
func TestLockIsExclusiveAcrossHandles(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	other, err := Open(ctx, j.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close() }()
	l, err := j.Lock("apply")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Release() }()
	var le *LockedError
	if _, err := other.Lock("apply"); !errors.As(err, &le) {
		t.Fatalf("Lock through a second handle: err = %v, want *LockedError", err)
	}
}

const lockChildEnv = "SAGEFENCE_JOURNAL_LOCK_CHILD"

// TestLockChild is not a test of its own: TestLockIsReleasedWhenHolderDies
// runs the test binary with lockChildEnv set, and this takes the lock and
// waits to be killed.
func TestLockChild(t *testing.T) {
	path := os.Getenv(lockChildEnv)
	if path == "" {
		t.Skip("helper process for TestLockIsReleasedWhenHolderDies")
	}
	j, err := Open(context.Background(), path)
	if err != nil {
		os.Exit(2)
	}
	if _, err := j.Lock("child"); err != nil {
		os.Exit(3)
	}
	_, _ = os.Stdout.WriteString("locked\n")
	time.Sleep(time.Minute)
	os.Exit(4)
}

func TestLockIsReleasedWhenHolderDies(t *testing.T) {
	j := openTemp(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockChild$")
	cmd.Env = append(os.Environ(), lockChildEnv+"="+j.Path())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 7)
	if _, err := out.Read(buf); err != nil || string(buf) != "locked\n" {
		_ = cmd.Process.Kill()
		t.Fatalf("child did not take the lock: %q %v", buf, err)
	}
	var le *LockedError
	if _, err := j.Lock("parent"); !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		_ = cmd.Process.Kill()
		t.Fatalf("Lock while the child holds it: err = %v, want *LockedError naming pid %d", err, cmd.Process.Pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: the exit status is expected to be an error
	l, err := j.Lock("parent")
	if err != nil {
		t.Fatalf("Lock after the holder died: %v", err)
	}
	_ = l.Release()
}

func TestRunsAreListedInTimeOrder(t *testing.T) {
	ctx := context.Background()
	j := openTemp(t)
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	// A whole second and a time with a fraction: as RFC 3339 text with a
	// variable fraction these would sort the wrong way round.
	for _, r := range []struct {
		id string
		at time.Time
	}{{"b", base.Add(500 * time.Millisecond)}, {"a", base}, {"c", base.Add(time.Second)}} {
		if err := j.CreateRun(ctx, Run{ID: r.id, Kind: KindApply, Status: RunRunning, StartedAt: r.at}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := j.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, ","); got != "a,b,c" {
		t.Errorf("Runs order = %s, want a,b,c", got)
	}
}
