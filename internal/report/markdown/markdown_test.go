package markdown_test

import (
	"bytes"
	"flag"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/markdown"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func write(t *testing.T, r *finding.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := markdown.Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestWriteMatchesGolden(t *testing.T) {
	reporttest.Golden(t, filepath.Join("testdata", "report.md.golden"), []byte(write(t, reporttest.Report())), *update)
}

// cells counts the table cells of a Markdown table row: pipes not escaped
// with a backslash, minus one.
func cells(row string) int {
	n := 0
	for i := 0; i < len(row); i++ {
		if row[i] == '\\' {
			i++
			continue
		}
		if row[i] == '|' {
			n++
		}
	}
	return n - 1
}

func TestTablesKeepTheirShapeWhateverAWSReturns(t *testing.T) {
	r := reporttest.Report()
	r.Results[0].Resource.Name = "a|b|c"
	r.Results[0].Checks[0].Message = "pipe | and\nnewline"
	out := write(t, r)

	var inTable bool
	var width int
	for i, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		n := cells(line)
		if !inTable {
			inTable, width = true, n
			continue
		}
		if n != width {
			t.Errorf("line %d has %d cells, its table has %d: %q", i+1, n, width, line)
		}
	}
	if !strings.Contains(out, "a\\|b\\|c") {
		t.Error("pipes in a name are not escaped")
	}
}

// outsideCode drops fenced code blocks and inline code spans, which
// Markdown renders literally, and returns what is left.
func outsideCode(md string) string {
	var b strings.Builder
	fence := ""
	for _, line := range strings.SplitAfter(md, "\n") {
		trimmed := strings.TrimSpace(line)
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, "`") == "" {
				fence = ""
			}
			continue
		}
		if strings.HasPrefix(trimmed, "```") {
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
			continue
		}
		b.WriteString(line)
	}
	s := b.String()
	var out strings.Builder
	for i := 0; i < len(s); {
		if s[i] == '\\' && i+1 < len(s) {
			out.WriteString(s[i : i+2])
			i += 2
			continue
		}
		if s[i] != '`' {
			out.WriteByte(s[i])
			i++
			continue
		}
		n := len(s[i:]) - len(strings.TrimLeft(s[i:], "`"))
		run := s[i : i+n]
		end := strings.Index(s[i+n:], run)
		if end < 0 {
			out.WriteString(run)
			i += n
			continue
		}
		i += n + end + n
	}
	return out.String()
}

func TestAWSValuesRenderAsText(t *testing.T) {
	out := write(t, reporttest.Report())
	prose := outsideCode(out)
	for _, bad := range []string{"<img", "<script", "](javascript:"} {
		if strings.Contains(prose, bad) {
			i := strings.Index(prose, bad)
			t.Errorf("%q outside code: %q", bad, prose[max(0, i-60):min(len(prose), i+60)])
		}
	}
	if !strings.Contains(out, "<code>&lt;img src=x onerror=alert(1)&gt;</code>") {
		t.Error("the <summary> line does not entity-encode the name")
	}
	if !strings.Contains(out, "`"+reporttest.XSSName+"`") {
		t.Error("the name should be shown literally in a code span")
	}
	for _, want := range []string{"SageMaker.1", "NIST SP 800-53 Rev. 5 AC-4, SC-7", "| ❌ FAIL | 3 |", "Expired exceptions", "AccessDeniedException"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func TestPassingNotebooksHaveNoDetails(t *testing.T) {
	out := write(t, reporttest.Report())
	if strings.Contains(out, "<summary>✅") {
		t.Error("passing notebooks should only be in the findings table, not in the details")
	}
	if got := strings.Count(out, "<details>"); got != 6 {
		t.Errorf("got %d details sections, want 6 (every result but the PASS)", got)
	}
}

// big is the fixture report grown to n results and n/10 collection errors,
// each with a unique name.
func big(n int) *finding.Report {
	r := reporttest.Report()
	base, errs := r.Results, r.Errors
	r.Results, r.Errors = nil, nil
	for i := range n {
		res := base[i%len(base)]
		res.Resource.Name = fmt.Sprintf("nb-%06d", i)
		r.Results = append(r.Results, res)
		if i%10 == 0 {
			e := errs[0]
			e.Resource = fmt.Sprintf("res-%06d", i)
			r.Errors = append(r.Errors, e)
		}
	}
	r.Summarize()
	return r
}

// TestLargeReportsFitAComment: a report too large for a pull-request
// comment is cut to the limit, keeps its summary, what could not be read
// and the most urgent findings, keeps its tables whole, and says what it
// left out.
func TestLargeReportsFitAComment(t *testing.T) {
	r := big(3000)
	out := write(t, r)
	if n := utf8.RuneCountInString(out); n > markdown.MaxChars {
		t.Fatalf("%d characters, limit %d", n, markdown.MaxChars)
	}
	for _, want := range []string{"| **Total** | **3000** |", "### Findings", "### Details", "### Could not be read", "### Expired exceptions", "> **Shortened** to GitHub's limit of 65536 characters: "} {
		if !strings.Contains(out, want) {
			t.Errorf("shortened report lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`(\d+) of 3000 findings`).FindStringSubmatch(out); m == nil || m[1] == "0" {
		t.Errorf("notice does not say how many findings are shown: %v", m)
	}
	// Most urgent first: the first finding row is the worst status present.
	first := out[strings.Index(out, "|---|---|---|---|---|---|---|\n")+len("|---|---|---|---|---|---|---|\n"):]
	if !strings.HasPrefix(first, "| ⛔ ERROR |") {
		t.Errorf("first finding row is not an ERROR: %q", first[:min(len(first), 40)])
	}
	// Whole rows only: every table line has its table's cell count.
	var width int
	inTable := false
	for i, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		if n := cells(line); !inTable {
			inTable, width = true, n
		} else if n != width {
			t.Fatalf("line %d has %d cells, its table has %d: %q", i+1, n, width, line)
		}
	}
	if strings.Count(out, "<details>") != strings.Count(out, "</details>") {
		t.Error("a details block is cut in half")
	}

	var all bytes.Buffer
	if err := markdown.WriteLimit(&all, r, 0); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(all.String(), "Shortened") || !strings.Contains(all.String(), "nb-002999") {
		t.Error("WriteLimit 0 should write everything")
	}
	if small := write(t, big(20)); strings.Contains(small, "Shortened") {
		t.Error("a report under the limit was shortened")
	}
}
