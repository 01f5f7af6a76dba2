package junit_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/junit"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func write(t *testing.T, r *finding.Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := junit.Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteMatchesGolden(t *testing.T) {
	reporttest.Golden(t, filepath.Join("testdata", "report.xml.golden"), write(t, reporttest.Report()), *update)
}

func TestOutputParsesBackWithOneCasePerNotebook(t *testing.T) {
	r := reporttest.Report()
	out := write(t, r)

	var doc junit.TestSuites
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("output is not well-formed JUnit XML: %v", err)
	}
	byName := map[string]junit.TestCase{}
	var cases, failures, errs, skipped int
	for _, s := range doc.Suites {
		var sf, se, ss int
		for _, c := range s.Cases {
			byName[c.Name] = c
			if c.Failure != nil {
				sf++
			}
			if c.Error != nil {
				se++
			}
			if c.Skipped != nil {
				ss++
			}
		}
		if s.Tests != len(s.Cases) || s.Failures != sf || s.Errors != se || s.Skipped != ss {
			t.Errorf("suite %q counts tests=%d failures=%d errors=%d skipped=%d, cases say %d/%d/%d/%d",
				s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), sf, se, ss)
		}
		cases += len(s.Cases)
		failures += sf
		errs += se
		skipped += ss
	}
	// One case per notebook plus one per collection error.
	if want := len(r.Results) + len(r.Errors); cases != want || doc.Tests != want {
		t.Errorf("got %d cases (tests=%d), want %d", cases, doc.Tests, want)
	}
	if failures != r.Summary[finding.StatusFail] || doc.Failures != failures {
		t.Errorf("failures = %d (root %d), want %d", failures, doc.Failures, r.Summary[finding.StatusFail])
	}
	if want := r.Summary[finding.StatusError] + len(r.Errors); errs != want || doc.Errors != want {
		t.Errorf("errors = %d (root %d), want %d", errs, doc.Errors, want)
	}
	if skipped != r.Summary[finding.StatusMuted] || doc.Skipped != skipped {
		t.Errorf("skipped = %d (root %d), want %d", skipped, doc.Skipped, r.Summary[finding.StatusMuted])
	}

	for _, res := range r.Results {
		c, ok := byName[res.Resource.Name]
		if !ok {
			t.Errorf("no test case for %q (names must survive XML escaping)", res.Resource.Name)
			continue
		}
		var gotKind string
		switch {
		case c.Failure != nil:
			gotKind = "failure"
		case c.Error != nil:
			gotKind = "error"
		case c.Skipped != nil:
			gotKind = "skipped"
		default:
			gotKind = "pass"
		}
		want := map[finding.Status]string{finding.StatusFail: "failure", finding.StatusError: "error",
			finding.StatusMuted: "skipped", finding.StatusPass: "pass", finding.StatusReview: "pass"}[res.Status]
		if gotKind != want {
			t.Errorf("%s: %s is a %s, want %s", res.Resource.Name, res.Status, gotKind, want)
		}
		props := map[string]string{}
		for _, p := range c.Properties {
			props[p.Name] = p.Value
		}
		if props["compliance.aws-securityhub"] != "SageMaker.1" || props["compliance.nist-800-53-r5"] != "AC-4, SC-7" {
			t.Errorf("%s: compliance properties = %v", res.Resource.Name, props)
		}
		if res.Status == finding.StatusMuted && !strings.Contains(c.Skipped.Message, res.Mute.Reason) {
			t.Errorf("skipped message %q lacks the exception's reason", c.Skipped.Message)
		}
	}
	if bytes.Contains(out, []byte(reporttest.XSSName)) {
		t.Error("a raw '<img' from an AWS value reached the XML")
	}
}

// Each case names its control, so a Studio domain's case is told from a
// notebook's.
func TestCasesNameTheirControl(t *testing.T) {
	rep := &finding.Report{Results: []finding.Result{
		{ControlID: finding.ControlIDStudio, Status: finding.StatusFail, Resource: finding.Resource{Name: "studio"}},
		{Status: finding.StatusPass, Resource: finding.Resource{Name: "nb"}},
	}}
	want := map[string]string{"studio": finding.ControlIDStudio, "nb": finding.ControlID}
	for _, s := range junit.Build(rep).Suites {
		for _, tc := range s.Cases {
			got := ""
			for _, p := range tc.Properties {
				if p.Name == "control_id" {
					got = p.Value
				}
			}
			if got != want[tc.Name] {
				t.Errorf("%s: control_id %q, want %q", tc.Name, got, want[tc.Name])
			}
		}
	}
}
