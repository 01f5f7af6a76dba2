package ocsf_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/ocsf"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func write(t *testing.T, r *finding.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := ocsf.Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteMatchesGolden(t *testing.T) {
	reporttest.Golden(t, filepath.Join("testdata", "report.ocsf.json.golden"), write(t, reporttest.Report()), *update)
}

// lookup walks a decoded JSON value along keys.
func lookup(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

func TestOutputHasTheRequiredOCSFAttributes(t *testing.T) {
	r := reporttest.Report()
	var docs []map[string]any
	if err := json.Unmarshal(write(t, r), &docs); err != nil {
		t.Fatalf("output is not a JSON array of objects: %v", err)
	}
	if len(docs) != len(r.Results) {
		t.Fatalf("got %d findings, want %d", len(docs), len(r.Results))
	}
	// Required by the Compliance Finding class (base event, finding and
	// class attributes), with the JSON type each must have.
	numbers := [][]string{{"activity_id"}, {"category_uid"}, {"class_uid"}, {"type_uid"}, {"time"}, {"severity_id"}, {"status_id"},
		{"compliance", "status_id"}, {"finding_info", "created_time"}, {"cloud", "account", "type_id"}}
	stringsReq := [][]string{{"metadata", "version"}, {"metadata", "product", "name"}, {"metadata", "product", "vendor_name"},
		{"finding_info", "uid"}, {"finding_info", "title"}, {"compliance", "control"}, {"compliance", "status"},
		{"cloud", "provider"}, {"cloud", "account", "uid"}, {"severity"}, {"status"}}
	uids := map[string]bool{}
	for i, d := range docs {
		res := r.Results[i]
		for _, path := range numbers {
			v, ok := lookup(d, path...)
			if _, isNum := v.(float64); !ok || !isNum {
				t.Errorf("finding %d: %v = %#v, want a number", i, path, v)
			}
		}
		for _, path := range stringsReq {
			v, ok := lookup(d, path...)
			if s, isStr := v.(string); !ok || !isStr || s == "" {
				t.Errorf("finding %d: %v = %#v, want a non-empty string", i, path, v)
			}
		}
		if d["class_uid"] != float64(2003) || d["category_uid"] != float64(2) {
			t.Errorf("finding %d: class %v category %v, want 2003 and 2", i, d["class_uid"], d["category_uid"])
		}
		if d["type_uid"] != d["class_uid"].(float64)*100+d["activity_id"].(float64) {
			t.Errorf("finding %d: type_uid %v is not class_uid*100+activity_id", i, d["type_uid"])
		}
		std, _ := lookup(d, "compliance", "standards")
		if l, ok := std.([]any); !ok || len(l) == 0 {
			t.Errorf("finding %d: compliance.standards = %#v, want a non-empty array", i, std)
		}
		reqs, _ := lookup(d, "compliance", "requirements")
		want := 0
		for _, l := range res.Compliance {
			want += len(l)
		}
		if l, ok := reqs.([]any); !ok || len(l) != want {
			t.Errorf("finding %d: compliance.requirements = %#v, want the %d mapped requirements", i, reqs, want)
		}
		resources, _ := d["resources"].([]any)
		if len(resources) != 1 {
			t.Fatalf("finding %d: resources = %#v", i, d["resources"])
		}
		if uid, _ := lookup(resources[0], "uid"); uid != res.Resource.ARN {
			t.Errorf("finding %d: resource uid %v, want %s", i, uid, res.Resource.ARN)
		}
		if name, _ := lookup(resources[0], "name"); name != res.Resource.Name {
			t.Errorf("finding %d: resource name %q, want %q", i, name, res.Resource.Name)
		}
		uid, _ := lookup(d, "finding_info", "uid")
		if uids[uid.(string)] {
			t.Errorf("finding %d: duplicate uid %v", i, uid)
		}
		uids[uid.(string)] = true

		wantStatus := map[finding.Status]float64{finding.StatusPass: 1, finding.StatusReview: 2, finding.StatusFail: 3, finding.StatusMuted: 3, finding.StatusError: 0}[res.Status]
		if got, _ := lookup(d, "compliance", "status_id"); got != wantStatus {
			t.Errorf("%s: compliance.status_id = %v, want %v", res.Status, got, wantStatus)
		}
		wantFinding := map[bool]float64{true: 3, false: 1}[res.Status == finding.StatusMuted]
		if d["status_id"] != wantFinding {
			t.Errorf("%s: status_id = %v, want %v", res.Status, d["status_id"], wantFinding)
		}
	}
}

func TestFindingUIDsAreStableAcrossRuns(t *testing.T) {
	a := ocsf.Findings(reporttest.Report())
	later := reporttest.Report()
	later.StartedAt = later.StartedAt.AddDate(0, 1, 0)
	later.FinishedAt = later.FinishedAt.AddDate(0, 1, 0)
	b := ocsf.Findings(later)
	for i := range a {
		if a[i].FindingInfo.UID != b[i].FindingInfo.UID {
			t.Errorf("finding %d: uid changed between runs: %s vs %s", i, a[i].FindingInfo.UID, b[i].FindingInfo.UID)
		}
		if a[i].Time == b[i].Time {
			t.Errorf("finding %d: time did not follow the report", i)
		}
	}
}
