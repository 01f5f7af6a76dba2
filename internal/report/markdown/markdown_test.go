package markdown_test

import (
	"bytes"
	"flag"
	"path/filepath"
	"strings"
	"testing"

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
