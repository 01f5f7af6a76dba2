package remediate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// maxScript is SageMaker's limit on one lifecycle script, base64-encoded.
const maxScript = 16384

// The lifecycle scripts run as root on the notebook with its IAM role. A
// lifecycle script that runs longer than five minutes fails the notebook's
// start, so both hand the copy to a background worker and return at once;
// the worker reports through a manifest object that apply waits for.
//
// Backup (on-start of the old notebook): list every regular file under the
// ML storage volume with its size, sync the volume to DataURI (deleting
// stale objects from an earlier attempt), upload the list, then write
// backup.json with the file count and total bytes.
//
// Restore (on-create of the replacement): fetch the list, sync DataURI into
// the volume, count the listed files present with their listed size, and
// write restore.json. The replacement's original on-create script, if any,
// then runs in the foreground as it would have.

const scriptHeader = `#!/bin/bash
# Installed temporarily by sagefence (run %[1]s): %[2]s
# It is removed when the run completes; see docs/remediation.md.
set -u
export SAGEFENCE_RUN_ID='%[1]s'
export SAGEFENCE_DATA_URI='%[3]s'
export SAGEFENCE_META_URI='%[4]s'
export SAGEFENCE_DATA_DIR="${SAGEFENCE_DATA_DIR:-/home/ec2-user/SageMaker}"
export SAGEFENCE_WORK_DIR="${SAGEFENCE_WORK_DIR:-/tmp}"
`

const markerFunc = `marker() {
  printf '{"run_id":"%s","phase":"%s","status":"%s","files":%s,"bytes":%s,"missing":%s,"error":"%s"}\n' \
    "$SAGEFENCE_RUN_ID" "$PHASE" "$1" "$2" "$3" "$4" "$5" | aws s3 cp - "${SAGEFENCE_META_URI}${PHASE}.json" --only-show-errors
}
trap 'marker error 0 0 0 "failed at line $LINENO"' ERR
`

const backupWorker = `#!/bin/bash
set -eEuo pipefail
PHASE=backup
` + markerFunc + `cd "$SAGEFENCE_DATA_DIR"
find . -type f ! -path './lost+found/*' -printf '%s\t%P\n' | LC_ALL=C sort -t "$(printf '\t')" -k2 > "$SAGEFENCE_WORK_DIR/sagefence-files.tsv"
aws s3 sync . "$SAGEFENCE_DATA_URI" --delete --no-follow-symlinks --exclude 'lost+found/*' --only-show-errors
aws s3 cp "$SAGEFENCE_WORK_DIR/sagefence-files.tsv" "${SAGEFENCE_META_URI}files.tsv" --only-show-errors
files=$(wc -l < "$SAGEFENCE_WORK_DIR/sagefence-files.tsv" | tr -d ' ')
bytes=$(awk -F'\t' '{s += $1} END {printf "%d", s}' "$SAGEFENCE_WORK_DIR/sagefence-files.tsv")
marker ok "$files" "$bytes" 0 ""
`

const restoreWorker = `#!/bin/bash
set -eEuo pipefail
PHASE=restore
` + markerFunc + `mkdir -p "$SAGEFENCE_DATA_DIR"
aws s3 cp "${SAGEFENCE_META_URI}files.tsv" "$SAGEFENCE_WORK_DIR/sagefence-files.tsv" --only-show-errors
aws s3 sync "$SAGEFENCE_DATA_URI" "$SAGEFENCE_DATA_DIR" --only-show-errors
files=0; bytes=0; missing=0
while IFS="$(printf '\t')" read -r size path; do
  f="$SAGEFENCE_DATA_DIR/$path"
  if [ -f "$f" ] && [ "$(stat -c %s "$f")" = "$size" ]; then
    files=$((files + 1)); bytes=$((bytes + size))
  else
    missing=$((missing + 1))
  fi
done < "$SAGEFENCE_WORK_DIR/sagefence-files.tsv"
if id ec2-user >/dev/null 2>&1; then chown -R ec2-user:ec2-user "$SAGEFENCE_DATA_DIR"; fi
marker ok "$files" "$bytes" "$missing" ""
`

// launcher writes a worker script and starts it in the background, so that
// the lifecycle script itself returns within SageMaker's five minutes.
func launcher(phase, worker string) string {
	enc := base64.StdEncoding.EncodeToString([]byte(worker))
	return fmt.Sprintf(`echo '%[2]s' | base64 -d > "$SAGEFENCE_WORK_DIR/sagefence-%[1]s.sh"
nohup bash "$SAGEFENCE_WORK_DIR/sagefence-%[1]s.sh" > "$SAGEFENCE_WORK_DIR/sagefence-%[1]s.log" 2>&1 &
`, phase, enc)
}

// backupScript is the on-start script (base64) for the old notebook.
func backupScript(runID string, d DataPlan) (string, error) {
	s := fmt.Sprintf(scriptHeader, runID, "copies /home/ec2-user/SageMaker to S3", d.DataURI, d.MetaURI) +
		launcher("backup", backupWorker)
	return encodeScript(s)
}

// restoreScript is the on-create script (base64) for the replacement;
// originalOnCreate (base64, may be empty) runs after the restore starts.
func restoreScript(runID string, d DataPlan, originalOnCreate string) (string, error) {
	s := fmt.Sprintf(scriptHeader, runID, "restores /home/ec2-user/SageMaker from S3", d.DataURI, d.MetaURI) +
		launcher("restore", restoreWorker)
	if originalOnCreate != "" {
		if _, err := base64.StdEncoding.DecodeString(originalOnCreate); err != nil {
			return "", fmt.Errorf("original on-create script is not base64: %w", err)
		}
		// Its exit status is the script's: if it fails, the notebook fails
		// to create, as it would have without sagefence.
		s += fmt.Sprintf(`# The notebook's own on-create script, as it would have run:
echo '%s' | base64 -d > "$SAGEFENCE_WORK_DIR/sagefence-original-on-create.sh"
bash "$SAGEFENCE_WORK_DIR/sagefence-original-on-create.sh"
`, originalOnCreate)
	}
	return encodeScript(s)
}

func encodeScript(s string) (string, error) {
	enc := base64.StdEncoding.EncodeToString([]byte(s))
	if len(enc) > maxScript {
		return "", fmt.Errorf("lifecycle script is %d characters base64-encoded, over SageMaker's limit of %d "+
			"(the notebook's own on-create script is too large to wrap)", len(enc), maxScript)
	}
	return enc, nil
}

// Manifest is what a lifecycle script reports in backup.json or restore.json.
type Manifest struct {
	RunID   string `json:"run_id"`
	Phase   string `json:"phase"`
	Status  string `json:"status"`
	Files   int64  `json:"files"`
	Bytes   int64  `json:"bytes"`
	Missing int64  `json:"missing"`
	Error   string `json:"error,omitempty"`
}

// readManifest fetches a manifest; ok is false while it does not exist yet
// or belongs to another run.
func readManifest(ctx context.Context, c S3API, d DataPlan, phase, runID string) (m Manifest, ok bool, err error) {
	key := strings.TrimPrefix(d.MetaURI, "s3://"+d.Bucket+"/") + phase + ".json"
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(d.Bucket), Key: aws.String(key)})
	if isNotFound(err) {
		return Manifest{}, false, nil
	}
	if err != nil {
		return Manifest{}, false, fmt.Errorf("s3://%s/%s: %w", d.Bucket, key, err)
	}
	defer func() { _ = out.Body.Close() }() // read-only
	b, err := io.ReadAll(out.Body)
	if err != nil {
		return Manifest{}, false, fmt.Errorf("s3://%s/%s: reading: %w", d.Bucket, key, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, false, fmt.Errorf("s3://%s/%s: not a sagefence manifest: %w", d.Bucket, key, err)
	}
	return m, m.RunID == runID, nil
}

// waitManifest polls for this run's manifest of a phase.
func (r *runner) waitManifest(ctx context.Context, d DataPlan, phase string) (Manifest, error) {
	if r.c.S3 == nil {
		return Manifest{}, errors.New("no S3 client to read the data manifests")
	}
	deadline := time.Now().Add(r.markerWait)
	for {
		m, ok, err := readManifest(ctx, r.c.S3, d, phase, r.runID)
		if err != nil {
			return Manifest{}, err
		}
		if ok {
			if m.Status != "ok" {
				return m, fmt.Errorf("%s%s.json: the %s script reported %q: %s (log: /tmp/sagefence-%s.log on the notebook)",
					d.MetaURI, phase, phase, m.Status, m.Error, phase)
			}
			return m, nil
		}
		if time.Now().After(deadline) {
			return Manifest{}, fmt.Errorf("%s%s.json: no manifest from the %s script after %v (log: /tmp/sagefence-%s.log on the notebook)",
				d.MetaURI, phase, phase, r.markerWait, phase)
		}
		if err := r.sleep(ctx); err != nil {
			return Manifest{}, fmt.Errorf("waiting for %s%s.json: %w", d.MetaURI, phase, err)
		}
	}
}

// headBucket checks that the backup bucket exists and is reachable before
// anything is changed.
func headBucket(ctx context.Context, c S3API, bucket string) error {
	if c == nil {
		return errors.New("no S3 client to reach the backup bucket")
	}
	if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
		return fmt.Errorf("backup bucket s3://%s: %w", bucket, err)
	}
	return nil
}
