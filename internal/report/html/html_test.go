package html_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"flag"
	stdhtml "html"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/html"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func render(t *testing.T, r *finding.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := html.Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestWriteMatchesGolden(t *testing.T) {
	reporttest.Golden(t, filepath.Join("testdata", "report.html.golden"), []byte(render(t, reporttest.Report())), *update)
}

func TestPageIsSelfContained(t *testing.T) {
	out := render(t, reporttest.Report())
	// Every literal "<" in the page starts a tag (text and attribute values
	// have it escaped); attribute values are always double-quoted.
	tags := regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z:-]+(?:="[^"]*")?)*)\s*/?>`).FindAllStringSubmatch(out, -1)
	attr := regexp.MustCompile(`([a-zA-Z:-]+)(?:="([^"]*)")?`)
	seen := map[string]bool{}
	for _, tag := range tags {
		name := strings.ToLower(tag[1])
		seen[name] = true
		switch name {
		case "img", "link", "iframe", "object", "embed", "video", "audio", "source", "base", "form":
			t.Errorf("page contains a <%s> element: %s", name, tag[0])
		}
		for _, a := range attr.FindAllStringSubmatch(tag[2], -1) {
			switch n := strings.ToLower(a[1]); {
			case n == "src" || n == "srcset" || n == "action" || n == "xlink:href":
				t.Errorf("<%s> has %s=%q", name, n, a[2])
			case n == "href" && !strings.HasPrefix(a[2], "#"):
				t.Errorf("<%s> links out: href=%q", name, a[2])
			case strings.HasPrefix(n, "on"):
				t.Errorf("<%s> has an inline event handler %s", name, n)
			}
		}
	}
	if !seen["details"] || !seen["svg"] || !seen["script"] {
		t.Errorf("tag scan found %v; the pattern is broken", seen)
	}
	for _, css := range []string{"@import", "url("} {
		if strings.Contains(out, css) {
			t.Errorf("page contains %q", css)
		}
	}
}

func TestCSPHashesMatchTheInlineScriptAndStyle(t *testing.T) {
	out := render(t, reporttest.Report())
	csp := regexp.MustCompile(`Content-Security-Policy" content="([^"]*)"`).FindStringSubmatch(out)
	if csp == nil {
		t.Fatal("no Content-Security-Policy")
	}
	policy := stdhtml.UnescapeString(csp[1])
	for _, tag := range []string{"script", "style"} {
		m := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(out, -1)
		if len(m) != 1 {
			t.Fatalf("want exactly one inline <%s>, got %d", tag, len(m))
		}
		h := sha256.Sum256([]byte(m[0][1]))
		want := "sha256-" + base64.StdEncoding.EncodeToString(h[:])
		if !strings.Contains(policy, "'"+want+"'") {
			t.Errorf("the CSP %q does not allow the inline <%s> (want %s)", policy, tag, want)
		}
	}
}

func TestAWSValuesAreEscaped(t *testing.T) {
	out := render(t, reporttest.Report())
	for _, raw := range []string{reporttest.XSSName, `"><script>alert(2)</script>`, "<img"} {
		if strings.Contains(out, raw) {
			t.Errorf("raw %q in the page", raw)
		}
	}
	if !strings.Contains(out, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("the malicious name is not shown as escaped text")
	}
}

func TestEveryResultIsARowWithItsDetails(t *testing.T) {
	r := reporttest.Report()
	out := render(t, r)
	if got := strings.Count(out, `<details class="finding"`); got != len(r.Results) {
		t.Errorf("got %d rows, want %d", got, len(r.Results))
	}
	for _, want := range []string{"aws sagemaker describe-notebook-instance", "NIST SP 800-53 Rev. 5", "SageMaker.1",
		"Expired exceptions", "sagemaker:ListNotebookInstances", "Vendor package mirror", "Incomplete scan"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestEmptyReportRenders(t *testing.T) {
	r := &finding.Report{SchemaVersion: finding.SchemaVersion, Tool: finding.Tool{Name: "sagefence", Version: "x"}, Profile: "sop"}
	r.Summarize()
	out := render(t, r)
	if !strings.Contains(out, "No notebooks found.") {
		t.Error("an empty scan should say so")
	}
}
