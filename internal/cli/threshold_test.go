package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/iostreams"
)

func TestParseOpenThreshold(t *testing.T) {
	for _, tc := range []struct {
		in     string
		v4, v6 int
		bad    string
	}{
		{"/8,/32", 8, 32, ""},
		{"/8", 8, 32, ""},
		{"16", 16, 40, ""},
		{"/24, /56", 24, 56, ""},
		{"/32", 32, 56, ""},
		{"/0", 0, 0, "1 to 32"},
		{"/33", 0, 0, "1 to 32"},
		{"/8,/129", 0, 0, "1 to 128"},
		{"eight", 0, 0, "not a prefix length"},
		{"/8,/32,/1", 0, 0, "at most"},
		{"", 0, 0, "not a prefix length"},
	} {
		v4, v6, err := parseOpenThreshold(tc.in)
		switch {
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%q: err = %v, want one saying %q", tc.in, err, tc.bad)
		case tc.bad == "" && (err != nil || v4 != tc.v4 || v6 != tc.v6):
			t.Errorf("%q = /%d,/%d, %v; want /%d,/%d", tc.in, v4, v6, err, tc.v4, tc.v6)
		}
	}
}

// TestScanOpenThresholdDecides: the example's genomics-pipeline reaches one
// public /22 through its NAT: controlled egress at the default /8, open at
// /24. A bad threshold is a usage error before anything is read.
func TestScanOpenThresholdDecides(t *testing.T) {
	status := func(args ...string) (string, int) {
		ios, _, out, _ := iostreams.Test()
		code := Main(context.Background(), ios, append([]string{"scan", "--input", example, "--format", "json"}, args...))
		var rep struct {
			Results []struct {
				Status   string `json:"status"`
				Resource struct{ Name string }
			}
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			return "", code
		}
		for _, r := range rep.Results {
			if r.Resource.Name == "genomics-pipeline" {
				return r.Status, code
			}
		}
		return "", code
	}
	if st, _ := status(); st != "PASS" {
		t.Errorf("default threshold: genomics-pipeline = %q, want PASS (controlled egress)", st)
	}
	if st, _ := status("--open-threshold", "/24"); st != "FAIL" {
		t.Errorf("--open-threshold /24: genomics-pipeline = %q, want FAIL", st)
	}
	ios, _, out, errOut := iostreams.Test()
	if code := Main(context.Background(), ios, []string{"scan", "--input", example, "--open-threshold", "/40"}); code != ExitUsage || out.Len() != 0 ||
		strings.Count(strings.TrimSpace(errOut.String()), "\n") != 0 || !strings.Contains(errOut.String(), "--open-threshold") {
		t.Errorf("bad threshold: exit %d, stdout %q, stderr %q; want 2 and one line", code, out, errOut)
	}
}
