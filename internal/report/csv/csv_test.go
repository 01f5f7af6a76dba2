package csv_test

import (
	"bytes"
	stdcsv "encoding/csv"
	"flag"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/csv"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestWriteMatchesGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := csv.Write(&buf, reporttest.Report()); err != nil {
		t.Fatal(err)
	}
	reporttest.Golden(t, filepath.Join("testdata", "report.csv.golden"), buf.Bytes(), *update)
}

func TestWriteRoundTripsThroughEncodingCSV(t *testing.T) {
	r := reporttest.Report()
	var buf bytes.Buffer
	if err := csv.Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\r\n") {
		t.Error("RFC 4180 wants CRLF line ends")
	}
	rd := stdcsv.NewReader(&buf)
	rows, err := rd.ReadAll()
	if err != nil {
		t.Fatalf("output does not parse as CSV: %v", err)
	}
	if len(rows) != len(r.Results)+1 {
		t.Fatalf("got %d rows, want a header and %d results", len(rows), len(r.Results))
	}
	header := rows[0]
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("no column %q in %q", name, header)
		}
		return i
	}
	for _, name := range []string{"account_id", "region", "name", "arn", "status", "severity", "internet_path",
		"check:direct-internet-access", "check:open-ingress", "compliance", "remediation", "mute_reason"} {
		col(name)
	}
	for i, row := range rows[1:] {
		res := r.Results[i]
		if got, want := row[col("status")], string(res.Status); got != want {
			t.Errorf("row %d status = %q, want %q", i, got, want)
		}
		if got, want := row[col("arn")], res.Resource.ARN; got != want && got != "'"+want {
			t.Errorf("row %d arn = %q, want %q", i, got, want)
		}
		if !strings.Contains(row[col("compliance")], "aws-securityhub: SageMaker.1") {
			t.Errorf("row %d compliance = %q, want the Security Hub control", i, row[col("compliance")])
		}
		if res.Status == finding.StatusMuted && row[col("mute_reason")] != res.Mute.Reason {
			t.Errorf("row %d mute_reason = %q, want %q", i, row[col("mute_reason")], res.Mute.Reason)
		}
		if res.Resource.Name == reporttest.XSSName && row[col("name")] != reporttest.XSSName {
			t.Errorf("HTML in a name must pass through unchanged, got %q", row[col("name")])
		}
		for j, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d column %s = %q starts with a formula trigger", i, header[j], cell)
			}
		}
	}
}

func TestFormulaInjectionIsNeutralised(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`=HYPERLINK("http://127.0.0.1","x")`, `'=HYPERLINK("http://127.0.0.1","x")`},
		{"+1-555-0100", "'+1-555-0100"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"\tcmd", "'\tcmd"},
		// encoding/csv drops a lone CR when writing CRLF line ends; the
		// quote still goes in front.
		{"\rcmd", "'cmd"},
		{"plain", "plain"},
		{"a=b", "a=b"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r := reporttest.Report()
			r.Results = r.Results[:1]
			r.Results[0].Resource.Name = tt.in
			r.Results[0].Remediation = tt.in
			var buf bytes.Buffer
			if err := csv.Write(&buf, r); err != nil {
				t.Fatal(err)
			}
			rows, err := stdcsv.NewReader(&buf).ReadAll()
			if err != nil {
				t.Fatalf("does not round-trip: %v\n%s", err, buf.String())
			}
			name := slices.Index(rows[0], "name")
			rem := slices.Index(rows[0], "remediation")
			if got := rows[1][name]; got != tt.want {
				t.Errorf("name cell = %q, want %q", got, tt.want)
			}
			if got := rows[1][rem]; got != tt.want {
				t.Errorf("remediation cell = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestHeaderIsStableWithoutResults(t *testing.T) {
	r := reporttest.Report()
	r.Results = nil
	var buf bytes.Buffer
	if err := csv.Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	rows, err := stdcsv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || !slices.Contains(rows[0], "check:public-subnet") {
		t.Errorf("want only the full header, got %q", rows)
	}
}
