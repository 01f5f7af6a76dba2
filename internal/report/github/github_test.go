package github_test

import (
	"bytes"
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/github"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func write(t *testing.T, r *finding.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := github.Write(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// command is a workflow command as the Actions runner reads one: the
// name up to a space or "::", comma-separated key=value properties, and
// the message after "::", each unescaped.
type command struct {
	name  string
	props map[string]string
	data  string
}

// parse reads one line the way the runner does (ActionCommand.TryParseV2):
// a line is a command only if it starts with "::" and has a second "::".
func parse(t *testing.T, line string) command {
	t.Helper()
	rest, ok := strings.CutPrefix(line, "::")
	head, data, ok2 := strings.Cut(rest, "::")
	if !ok || !ok2 {
		t.Fatalf("not a workflow command: %q", line)
	}
	c := command{props: map[string]string{}, data: unescape(data, false)}
	name, props, _ := strings.Cut(head, " ")
	c.name = name
	if props != "" {
		for _, kv := range strings.Split(props, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				t.Fatalf("property %q in %q", kv, line)
			}
			c.props[k] = unescape(v, true)
		}
	}
	return c
}

func unescape(s string, property bool) string {
	pairs := []string{"%0D", "\r", "%0A", "\n"}
	if property {
		pairs = append(pairs, "%3A", ":", "%2C", ",")
	}
	return strings.NewReplacer(append(pairs, "%25", "%")...).Replace(s)
}

func lines(t *testing.T, out string) []command {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end with a newline: %q", out)
	}
	var cmds []command
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		cmds = append(cmds, parse(t, l))
	}
	return cmds
}

func TestWriteMatchesGolden(t *testing.T) {
	reporttest.Golden(t, filepath.Join("testdata", "report.github.golden"), []byte(write(t, reporttest.Report())), *update)
}

// TestEveryResultWorthALookIsOneAnnotationAtItsLevel: each FAIL and ERROR
// is an ::error, each REVIEW a ::warning, each MUTED a ::notice, PASS
// nothing; every failed read an ::error; the last line counts statuses.
// Hostile names survive as text and cannot start a command of their own.
func TestEveryResultWorthALookIsOneAnnotationAtItsLevel(t *testing.T) {
	r := reporttest.Report()
	cmds := lines(t, write(t, r))
	want := map[string]string{}
	for _, res := range r.Results {
		switch res.Status {
		case finding.StatusFail, finding.StatusError:
			want[res.Resource.Name] = "error"
		case finding.StatusReview:
			want[res.Resource.Name] = "warning"
		case finding.StatusMuted:
			want[res.Resource.Name] = "notice"
		}
	}
	got := map[string]string{}
	var errs, expired int
	for _, c := range cmds[:len(cmds)-1] {
		switch title := c.props["title"]; {
		case title == "sagefence could not evaluate":
			errs++
		case title == "sagefence expired exception":
			expired++
		default:
			_, name, ok := strings.Cut(title, ": ")
			if !ok {
				t.Fatalf("title %q", title)
			}
			if _, dup := got[name]; dup {
				t.Errorf("%s annotated twice", name)
			}
			got[name] = c.name
			if !strings.Contains(c.data, name) {
				t.Errorf("%s: message %q does not name the notebook", name, c.data)
			}
		}
	}
	if len(got) != len(want) {
		t.Errorf("annotated %d notebooks, want %d: %v", len(got), len(want), got)
	}
	for name, level := range want {
		if got[name] != level {
			t.Errorf("%s: ::%s, want ::%s", name, got[name], level)
		}
	}
	if errs != len(r.Errors) || expired != len(r.ExpiredExceptions) {
		t.Errorf("%d error and %d expired-exception annotations, want %d and %d", errs, expired, len(r.Errors), len(r.ExpiredExceptions))
	}
	last := cmds[len(cmds)-1]
	if last.name != "notice" || !strings.Contains(last.data, "FAIL") {
		t.Errorf("last line %+v: want the status counts", last)
	}
	if _, ok := got[reporttest.XSSName]; !ok {
		t.Errorf("the notebook named %q lost its name", reporttest.XSSName)
	}
}

// TestIACResultsAndErrorsSitOnTheirFileAndLine: a pull request's
// annotation needs file= and line=; the path loses a leading "./".
func TestIACResultsAndErrorsSitOnTheirFileAndLine(t *testing.T) {
	r := &finding.Report{
		Summary: map[finding.Status]int{finding.StatusFail: 1},
		Results: []finding.Result{{
			ControlID: finding.ControlID, Status: finding.StatusFail,
			Resource: finding.Resource{Name: "nb", File: "./infra/a,b:c.tf", Line: 12, Address: "aws_sagemaker_notebook_instance.nb"},
			Checks:   []finding.Check{{ID: "direct-internet-access", Status: finding.StatusFail, Message: "DirectInternetAccess is omitted: 100% Enabled\nby default"}},
		}},
		Errors: []finding.Error{{Operation: "iac", Resource: "cfn/bad.yaml:3", Message: "yaml: did not find expected key"}},
	}
	cmds := lines(t, write(t, r))
	if len(cmds) != 3 {
		t.Fatalf("%d lines, want 3: %+v", len(cmds), cmds)
	}
	res, parseErr := cmds[0], cmds[1]
	if res.name != "error" || res.props["file"] != "infra/a,b:c.tf" || res.props["line"] != "12" ||
		res.props["title"] != "sagefence FAIL: aws_sagemaker_notebook_instance.nb" {
		t.Errorf("result annotation %+v", res)
	}
	if !strings.Contains(res.data, "100% Enabled\nby default") {
		t.Errorf("message %q lost its text", res.data)
	}
	if parseErr.name != "error" || parseErr.props["file"] != "cfn/bad.yaml" || parseErr.props["line"] != "3" {
		t.Errorf("parse error annotation %+v", parseErr)
	}
}

func TestEscapingFollowsTheRunner(t *testing.T) {
	tests := []struct{ in, data, property string }{
		{"plain text", "plain text", "plain text"},
		{"100%", "100%25", "100%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"a::b,c", "a::b,c", "a%3A%3Ab%2Cc"},
		{"%0A", "%250A", "%250A"},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := github.EscapeData(tt.in); got != tt.data {
			t.Errorf("EscapeData(%q) = %q, want %q", tt.in, got, tt.data)
		}
		if got := github.EscapeProperty(tt.in); got != tt.property {
			t.Errorf("EscapeProperty(%q) = %q, want %q", tt.in, got, tt.property)
		}
	}
}

// FuzzEscapingRoundTrips: whatever a notebook's name, file or message
// holds, the line is one command whose file, title and message read back
// exactly as written.
func FuzzEscapingRoundTrips(f *testing.F) {
	for _, s := range []string{"", "nb", "a,b:c", "%0A%25", "x\r\n::error::injected", "::", "100%"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, text string) {
		if strings.ContainsAny(name, "\x00") {
			t.Skip()
		}
		r := &finding.Report{Results: []finding.Result{{
			Status:   finding.StatusFail,
			Resource: finding.Resource{Name: name, Address: name, File: "f" + name},
			Checks:   []finding.Check{{ID: "c", Status: finding.StatusFail, Message: text}},
		}}}
		out := write(t, r)
		if n := strings.Count(out, "\n"); n != 2 {
			t.Fatalf("%d lines, want 2 (the annotation and the counts):\n%q", n, out)
		}
		c := parse(t, strings.SplitN(out, "\n", 2)[0])
		wantFile := strings.TrimPrefix("f"+name, "./")
		if c.name != "error" || c.props["file"] != wantFile || c.props["title"] != "sagefence FAIL: "+name || !strings.Contains(c.data, text) {
			t.Fatalf("read back %+v from %q", c, out)
		}
		if len(c.props) != 2 {
			t.Fatalf("properties %v: want file and title only", c.props)
		}
	})
}
