// Package codequality writes an IaC report as a GitLab code quality report
// (https://docs.gitlab.com/ci/testing/code_quality/#code-quality-report-format),
// so that a merge request shows each notebook declared with direct internet
// access at its file and line. One issue per FAIL, REVIEW or ERROR result
// and per source that could not be read; PASS and MUTED results are not
// issues. The fingerprint is the one SARIF uses, so an issue keeps its
// identity when lines move.
package codequality

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// Issue is one entry of the report, in GitLab's subset of the Code Climate
// format.
type Issue struct {
	Description string   `json:"description"`
	CheckName   string   `json:"check_name"`
	Fingerprint string   `json:"fingerprint"`
	Severity    string   `json:"severity"`
	Location    Location `json:"location"`
}

// Location is the file (relative to the repository) and line of an issue.
type Location struct {
	Path  string `json:"path"`
	Lines Lines  `json:"lines"`
}

// Lines holds the issue's first line (1 when unknown).
type Lines struct {
	Begin int `json:"begin"`
}

// Write encodes r's issues as an indented JSON array (empty when there are
// none, which GitLab reads as "no issues").
func Write(w io.Writer, r *finding.Report) error {
	issues := []Issue{}
	for _, res := range reportfmt.Sorted(r.Results) {
		sev := severity(res)
		if sev == "" {
			continue
		}
		issues = append(issues, Issue{
			Description: reportfmt.Message(res),
			CheckName:   res.ControlID,
			Fingerprint: reportfmt.SourceFingerprint(res),
			Severity:    sev,
			Location:    location(res.Resource.File, res.Resource.Line),
		})
	}
	for _, e := range r.Errors {
		file, line, _ := reportfmt.ErrorLocation(e)
		issues = append(issues, Issue{
			Description: reportfmt.ErrorText(e),
			CheckName:   "sagefence-source-error",
			Fingerprint: reportfmt.SourceFingerprint(&finding.Result{ControlID: "sagefence-source-error", Resource: finding.Resource{File: file, Name: e.Message}}),
			Severity:    "major",
			Location:    location(file, line),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(issues); err != nil {
		return fmt.Errorf("encode code quality report: %w", err)
	}
	return nil
}

// severity maps a result to GitLab's scale: a notebook open to the
// internet is critical, a REVIEW (a value known only at deployment) minor,
// an unevaluated one major; PASS and MUTED are not issues.
func severity(res *finding.Result) string {
	switch res.Status {
	case finding.StatusFail:
		if res.Severity == finding.SeverityHigh {
			return "critical"
		}
		return "major"
	case finding.StatusError:
		return "major"
	case finding.StatusReview:
		return "minor"
	}
	return ""
}

func location(file string, line int) Location {
	if line < 1 {
		line = 1
	}
	return Location{Path: strings.TrimPrefix(file, "./"), Lines: Lines{Begin: line}}
}
