package remediate

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/journal"
	"github.com/sagefence/sagefence/internal/testenv"
)

const backupBucket = "sagefence-backup"

// oldNotebookFiles is what nb-direct's ML storage volume holds.
func oldNotebookFiles() map[string]string {
	return map[string]string{
		"analysis.ipynb":           `{"cells": []}`,
		"data/train.csv":           "a,b\n1,2\n3,4\n",
		".ipynb_checkpoints/x.txt": "checkpoint",
		"deep/er/path/model.bin":   strings.Repeat("\x00\x01", 4096),
	}
}

// setupBackup creates the backup bucket and the old notebook's volume in a
// directory (volumes/<notebook name>); it returns that directory.
func setupBackup(t *testing.T, e *env) string {
	t.Helper()
	if _, err := e.direct.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(backupBucket)}); err != nil {
		t.Fatal(err)
	}
	// Not t.TempDir: a crash test's child may leave a writer behind, and a
	// directory that cannot be removed must not fail the test.
	dir, err := os.MkdirTemp("", "sagefence-volumes-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) }) // best effort, see above
	for name, content := range oldNotebookFiles() {
		p := filepath.Join(dir, "nb-direct", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// scriptVars reads the variables sagefence's lifecycle scripts export.
func scriptVars(script string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^export (SAGEFENCE_[A-Z_]+)='([^']*)'$`).FindAllStringSubmatch(script, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// lifecycle stands in for SageMaker running lifecycle scripts, which moto
// never does. It watches calls in the proxy: starting a notebook runs its
// configuration's on-start script, creating one runs on-create.
type lifecycle struct {
	e   *env
	dir string // volumes/<notebook name>
	// real runs the scripts with bash and the AWS CLI against moto; else
	// fake does in Go what the scripts do.
	real bool
	// dropOne makes the restore lose one file (to prove the check).
	dropOne bool

	mu   sync.Mutex
	ran  []string // "on-start nb-direct", ...
	errs []error
	wg   sync.WaitGroup
}

func (e *env) simulateLifecycle(t *testing.T, dir string) *lifecycle {
	l := &lifecycle{e: e, dir: dir}
	l.install(t)
	return l
}

func (l *lifecycle) install(t *testing.T) {
	ctx := context.Background()
	t.Cleanup(l.wg.Wait) // scripts still running must end before their directories go
	l.e.proxy.Add(
		testenv.Rule{Op: "sagemaker:StartNotebookInstance", When: func(c testenv.Call) bool {
			name := c.Params["NotebookInstanceName"]
			nb, err := l.e.direct.sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String(name)})
			if err == nil && nb.NotebookInstanceLifecycleConfigName != nil {
				l.run(ctx, "on-start", name, aws.ToString(nb.NotebookInstanceLifecycleConfigName))
			}
			return false
		}},
		testenv.Rule{Op: "sagemaker:CreateNotebookInstance", When: func(c testenv.Call) bool {
			if cfg := c.Params["LifecycleConfigName"]; cfg != "" {
				l.run(ctx, "on-create", c.Params["NotebookInstanceName"], cfg)
			}
			return false
		}},
	)
}

func (l *lifecycle) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *lifecycle) run(ctx context.Context, hook, notebook, config string) {
	out, err := l.e.direct.sm.DescribeNotebookInstanceLifecycleConfig(ctx, &sagemaker.DescribeNotebookInstanceLifecycleConfigInput{
		NotebookInstanceLifecycleConfigName: aws.String(config)})
	if err != nil {
		l.fail(err)
		return
	}
	script := firstScript(out.OnStart)
	if hook == "on-create" {
		script = firstScript(out.OnCreate)
	}
	raw, err := base64.StdEncoding.DecodeString(script)
	if err != nil || !strings.Contains(string(raw), "sagefence") {
		return // the notebook's own script: nothing to simulate
	}
	l.mu.Lock()
	l.ran = append(l.ran, hook+" "+notebook)
	l.mu.Unlock()
	vol := filepath.Join(l.dir, notebook)
	if l.real {
		l.runReal(string(raw), vol)
		return
	}
	vars := scriptVars(string(raw))
	d := DataPlan{Bucket: backupBucket, DataURI: vars["SAGEFENCE_DATA_URI"], MetaURI: vars["SAGEFENCE_META_URI"]}
	if strings.Contains(string(raw), "sagefence-backup.sh") {
		err = l.fakeBackup(ctx, d, vars["SAGEFENCE_RUN_ID"], vol)
	} else {
		err = l.fakeRestore(ctx, d, vars["SAGEFENCE_RUN_ID"], vol)
	}
	if err != nil {
		l.fail(fmt.Errorf("%s %s: %w", hook, notebook, err))
	}
}

// runReal runs a lifecycle script as SageMaker would, in the background,
// with the AWS CLI pointed at moto.
func (l *lifecycle) runReal(script, vol string) {
	work, err := os.MkdirTemp("", "sagefence-work-")
	if err != nil {
		l.fail(err)
		return
	}
	if err := os.MkdirAll(vol, 0o755); err != nil {
		l.fail(err)
		return
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer func() { _ = os.RemoveAll(work) }() // scratch space
		// "wait" keeps this shell until the worker the script started in
		// the background has finished, so the test can wait for it.
		cmd := exec.Command("bash", "-c", script+"\nwait\n")
		cmd.Env = append(os.Environ(), testenv.Env(l.e.url)...)
		cmd.Env = append(cmd.Env, "SAGEFENCE_DATA_DIR="+vol, "SAGEFENCE_WORK_DIR="+work)
		if out, err := cmd.CombinedOutput(); err != nil {
			l.fail(fmt.Errorf("lifecycle script: %v\n%s", err, out))
		}
		for _, phase := range []string{"backup", "restore"} {
			if b, err := os.ReadFile(filepath.Join(work, "sagefence-"+phase+".log")); err == nil && len(b) > 0 {
				l.fail(fmt.Errorf("%s worker wrote to its log:\n%s", phase, b))
			}
		}
	}()
}

func s3Key(uri string) string {
	_, rest, _ := strings.Cut(strings.TrimPrefix(uri, "s3://"), "/")
	return rest
}

func (l *lifecycle) put(ctx context.Context, key string, body []byte) error {
	_, err := l.e.direct.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(backupBucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	return err
}

// fakeBackup does what the backup worker does: list, sync, manifest.
func (l *lifecycle) fakeBackup(ctx context.Context, d DataPlan, runID, vol string) error {
	var lines []string
	var files, total int64
	err := filepath.WalkDir(vol, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(vol, p) // p is under vol
		if err := l.put(ctx, s3Key(d.DataURI)+rel, b); err != nil {
			return err
		}
		lines = append(lines, fmt.Sprintf("%d\t%s", len(b), rel))
		files++
		total += int64(len(b))
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(lines)
	if err := l.put(ctx, s3Key(d.MetaURI)+"files.tsv", []byte(strings.Join(lines, "\n")+"\n")); err != nil {
		return err
	}
	m, _ := json.Marshal(Manifest{RunID: runID, Phase: "backup", Status: "ok", Files: files, Bytes: total})
	return l.put(ctx, s3Key(d.MetaURI)+"backup.json", m)
}

// fakeRestore does what the restore worker does: fetch, check, manifest.
func (l *lifecycle) fakeRestore(ctx context.Context, d DataPlan, runID, vol string) error {
	get := func(key string) ([]byte, error) {
		out, err := l.e.direct.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(backupBucket), Key: aws.String(key)})
		if err != nil {
			return nil, err
		}
		defer func() { _ = out.Body.Close() }() // read-only
		return io.ReadAll(out.Body)
	}
	list, err := get(s3Key(d.MetaURI) + "files.tsv")
	if err != nil {
		return err
	}
	var files, total, missing int64
	dropped := !l.dropOne
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		size, rel, _ := strings.Cut(line, "\t")
		if !dropped {
			dropped = true
			missing++
			continue
		}
		b, err := get(s3Key(d.DataURI) + rel)
		if err != nil {
			return err
		}
		p := filepath.Join(vol, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
		if fmt.Sprint(len(b)) != size {
			missing++
			continue
		}
		files++
		total += int64(len(b))
	}
	m, _ := json.Marshal(Manifest{RunID: runID, Phase: "restore", Status: "ok", Files: files, Bytes: total, Missing: missing})
	return l.put(ctx, s3Key(d.MetaURI)+"restore.json", m)
}

func (l *lifecycle) check(t *testing.T, wantRan ...string) {
	t.Helper()
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, err := range l.errs {
		t.Error(err)
	}
	if strings.Join(l.ran, ", ") != strings.Join(wantRan, ", ") {
		t.Errorf("lifecycle scripts ran: %q, want %q", l.ran, wantRan)
	}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p) // p is under dir
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testRecreateWithBackup(t *testing.T, real bool) {
	e := newEnv(t)
	buildEstate(t, e)
	dir := setupBackup(t, e)
	lc := e.simulateLifecycle(t, dir)
	lc.real = real
	p := e.plan(t, PlanOptions{Fixes: []Fix{FixDirect}, BackupBucket: "s3://" + backupBucket + "/runs"})
	a := actionOf(t, p, ActionRecreateNotebook)
	if a.Blocked != "" || a.Data.Mode != DataCopiedThroughS3 {
		t.Fatalf("action: blocked %q data %+v", a.Blocked, a.Data)
	}
	before := e.snapshot(t)
	j := openJournal(t)
	ctx := context.Background()
	e.proxy.ResetCounts()
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err != nil {
		lc.check(t)
		t.Fatalf("Apply: %v\n%+v", err, res)
	}
	lc.check(t, "on-start nb-direct", "on-create nb-direct-private")
	if diff := mapDiff(oldNotebookFiles(), readTree(t, filepath.Join(dir, "nb-direct-private"))); diff != "" {
		t.Errorf("the replacement's volume after restore (-old +new):\n%s", diff)
	}
	var check RestoreCheck
	for _, s := range res.Steps {
		if s.Action == StepVerifyRestore {
			if err := json.Unmarshal(s.Result, &check); err != nil {
				t.Fatal(err)
			}
		}
	}
	if check.Backup.Files != 4 || check.Restore.Files != 4 || check.Backup.Bytes != check.Restore.Bytes {
		t.Errorf("manifests in the journal: %+v", check)
	}
	// The interception of UpdateNotebookInstance was used: twice on the old
	// notebook (backup configuration on, then off), once on the new one.
	if n := e.proxy.Calls("sagemaker:UpdateNotebookInstance"); n != 3 {
		t.Errorf("UpdateNotebookInstance calls = %d, want 3", n)
	}
	after := e.snapshot(t, runLCCs(res.RunID, "nb-direct")...)
	if len(after.LifecycleConfigs) != 1 {
		t.Errorf("temporary lifecycle configurations left behind: %v", sortedKeys(after.LifecycleConfigs))
	}
	old, repl := after.Notebooks["nb-direct"], after.Notebooks["nb-direct-private"]
	if old.Status != "Stopped" || old.LifecycleConfigName != "setup" || repl.LifecycleConfigName != "setup" ||
		repl.Status != "InService" || repl.DirectInternetAccess != "Disabled" {
		t.Errorf("after apply: old %+v\nnew %+v", old, repl)
	}
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if diff := diffAccount(before, e.snapshot(t, runLCCs(res.RunID, "nb-direct")...)); diff != "" {
		t.Errorf("account after backout (-before +after):\n%s", diff)
	}
}

func TestRecreateWithBackupBucketCopiesTheVolumeThroughS3(t *testing.T) {
	testRecreateWithBackup(t, false)
}

// The same with the real lifecycle scripts, run by bash with the AWS CLI
// against moto: proves the scripts themselves.
func TestLifecycleScriptsCopyTheVolumeThroughS3(t *testing.T) {
	for _, tool := range []string{"bash", "aws", "find", "stat", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the lifecycle scripts cannot run here", tool)
		}
	}
	testRecreateWithBackup(t, true)
}

func TestRestoreThatDoesNotMatchTheBackupStopsTheRun(t *testing.T) {
	e := newEnv(t)
	buildEstate(t, e)
	dir := setupBackup(t, e)
	lc := e.simulateLifecycle(t, dir)
	lc.dropOne = true
	p := e.plan(t, PlanOptions{Fixes: []Fix{FixDirect}, BackupBucket: "s3://" + backupBucket})
	before := e.snapshot(t)
	j := openJournal(t)
	ctx := context.Background()
	res, err := Apply(ctx, p, e.clients(), j, fast())
	if err == nil || !strings.Contains(err.Error(), "restored data does not match the backup: backup 4 files") ||
		!strings.Contains(err.Error(), "1 missing") {
		t.Fatalf("Apply: err = %v, want a restore mismatch", err)
	}
	if res.Status != journal.RunFailed || res.Actions[0].Status != ActionFailed {
		t.Errorf("run %s, action %+v", res.Status, res.Actions[0])
	}
	// Nothing after the check ran: the old notebook is stopped but not
	// tagged as replaced, and is not muted by a scan.
	st := e.snapshot(t)
	if old := st.Notebooks["nb-direct"]; old.Tags[TagReplacedBy] != "" || old.Status != "Stopped" {
		t.Errorf("old notebook after the failed check: %+v", old)
	}
	if replaced, _ := ReplacedNotebooks(ctx, j); len(replaced) != 0 {
		t.Errorf("ReplacedNotebooks = %v, want none", replaced)
	}
	if _, err := Backout(ctx, res.RunID, e.clients(), j, fast()); err != nil {
		t.Fatal(err)
	}
	if diff := diffAccount(before, e.snapshot(t, runLCCs(res.RunID, "nb-direct")...)); diff != "" {
		t.Errorf("account after backout (-before +after):\n%s", diff)
	}
}

func TestBackupScriptReportsFailureInItsManifest(t *testing.T) {
	for _, tool := range []string{"bash", "aws"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	e := newEnv(t)
	// No bucket: the sync fails, and the manifest says so instead of apply
	// waiting for hours.
	d := dataPlan("no-such-bucket", "", "nb")
	script, err := backupScript("r-test", d)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(script)
	vol, work := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", string(raw)+"\nwait\n")
	cmd.Env = append(os.Environ(), testenv.Env(e.url)...)
	cmd.Env = append(cmd.Env, "SAGEFENCE_DATA_DIR="+vol, "SAGEFENCE_WORK_DIR="+work)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the launcher itself must succeed (SageMaker would fail the start otherwise): %v\n%s", err, out)
	}
	log, _ := os.ReadFile(filepath.Join(work, "sagefence-backup.log"))
	if !strings.Contains(string(log), "NoSuchBucket") {
		t.Errorf("worker log does not show the failure:\n%s", log)
	}
}

func mapDiff(want, got map[string]string) string {
	var d []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			d = append(d, "- "+k)
		} else if g != v {
			d = append(d, "~ "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, "+ "+k)
		}
	}
	sort.Strings(d)
	return strings.Join(d, "\n")
}
