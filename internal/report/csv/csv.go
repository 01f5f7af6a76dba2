// Package csv writes a report as RFC 4180 CSV (CRLF line ends), one row per
// notebook, for spreadsheets and data pipelines. Every cell that a
// spreadsheet would evaluate as a formula is neutralised.
package csv

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// knownChecks are the control's sub-checks in CONTROL.md order; they always
// get a column, so that the header is stable from one scan to the next.
func knownChecks() []string {
	return []string{"direct-internet-access", "internet-egress-path", "public-subnet", "open-ingress"}
}

// Write writes r to w as CSV: a header row, then one row per result.
// Per-check columns are named "check:<id>"; a check a result does not carry
// is left empty. Compliance is "framework: req, req; framework: req".
func Write(w io.Writer, r *finding.Report) error {
	checks := knownChecks()
	for i := range r.Results {
		for _, c := range r.Results[i].Checks {
			if !slices.Contains(checks, c.ID) {
				checks = append(checks, c.ID)
			}
		}
	}

	header := []string{"account_id", "region", "name", "arn", "status", "unmuted_status", "severity", "internet_path"}
	for _, id := range checks {
		header = append(header, "check:"+id)
	}
	header = append(header, "compliance", "remediation", "mute_reason", "mute_owner", "mute_expires", "tags", "resource_type", "control_id")

	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("csv: writing header: %w", err)
	}
	for i := range r.Results {
		res := &r.Results[i]
		row := []string{res.AccountID, res.Region, res.Resource.Name, res.Resource.ARN,
			string(res.Status), string(res.UnmutedStatus), string(res.Severity), string(res.InternetPath)}
		for _, id := range checks {
			row = append(row, checkStatus(res, id))
		}
		var mute finding.Mute
		if res.Mute != nil {
			mute = *res.Mute
		}
		row = append(row, compliance(res.Compliance), res.Remediation, mute.Reason, mute.Owner, mute.Expires, tags(res.Resource.Tags),
			cmp.Or(res.Resource.Type, finding.ResourceType), cmp.Or(res.ControlID, finding.ControlID))
		for j := range row {
			row[j] = Neutralize(row[j])
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("csv: writing %s: %w", reportfmt.ResourceID(res), err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return nil
}

func checkStatus(res *finding.Result, id string) string {
	for _, c := range res.Checks {
		if c.ID == id {
			return string(c.Status)
		}
	}
	return ""
}

func compliance(m map[string][]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range reportfmt.Frameworks(m) {
		parts = append(parts, k+": "+strings.Join(m[k], ", "))
	}
	return strings.Join(parts, "; ")
}

func tags(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, "; ")
}

// Neutralize defuses a cell that a spreadsheet would read as a formula
// (starting with = + - @, a tab or a carriage return; OWASP's CSV injection
// guidance) by prefixing a single quote, which spreadsheets show as text.
func Neutralize(cell string) string {
	if cell == "" {
		return cell
	}
	switch cell[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + cell
	}
	return cell
}
