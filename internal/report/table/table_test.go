package table

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reporttest"
)

func sample() *finding.Report {
	r := &finding.Report{Profile: "sop", Results: []finding.Result{
		{Status: finding.StatusFail, AccountID: "1", Region: "us-east-1", Resource: finding.Resource{Name: "a\x1b[2Jevil"}, InternetPath: "direct", Severity: "high",
			Checks: []finding.Check{{ID: "direct-internet-access", Status: finding.StatusFail, Message: strings.Repeat("long reason ", 20)}}},
		{Status: finding.StatusPass, AccountID: "1", Region: "us-east-1", Resource: finding.Resource{Name: "bb"}, InternetPath: "none", Severity: "informational",
			Checks: []finding.Check{{ID: "internet-egress-path", Status: finding.StatusPass, Message: "no internet path"}}},
	}}
	r.Summarize()
	return r
}

var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestColourDoesNotBreakAlignment(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), Options{TTY: true, Color: true, Width: 80}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[1], "\x1b[31mFAIL\x1b[0m") {
		t.Fatalf("FAIL not coloured: %q", lines[1])
	}
	col := func(s string) int { return strings.Index(ansi.ReplaceAllString(s, ""), "1 ") }
	if col(lines[0]) != -1 && col(lines[1]) != col(lines[2]) {
		t.Errorf("account column moves: %q / %q", lines[1], lines[2])
	}
	if h := strings.Index(lines[0], "ACCOUNT"); h != strings.Index(ansi.ReplaceAllString(lines[1], ""), "1 ") {
		t.Errorf("header and rows misaligned:\n%s", b.String())
	}
	for _, l := range lines[:3] {
		if n := utf8.RuneCountInString(ansi.ReplaceAllString(l, "")); n > 80 {
			t.Errorf("line of %d runes exceeds width 80: %q", n, l)
		}
	}
	if strings.Contains(b.String(), "\x1b[2J") {
		t.Error("a control sequence from an AWS value reached the terminal")
	}
}

func TestPlainHasNoColourOrHeader(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), Options{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "\x1b") || strings.Contains(b.String(), "STATUS") {
		t.Errorf("plain output has colour or header: %q", b.String())
	}
	if !strings.Contains(b.String(), strings.Repeat("long reason ", 20)[:100]) {
		t.Error("plain output truncated the reason")
	}
}

// TestHopsAreShownCompactly: a result's path reads at a glance in the
// terminal table (a VIA column); piped lines keep their seven fields.
func TestHopsAreShownCompactly(t *testing.T) {
	r := reporttest.Report()
	var tty, plain strings.Builder
	if err := Write(&tty, r, Options{TTY: true}); err != nil {
		t.Fatal(err)
	}
	if err := Write(&plain, r, Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tty.String(), "VIA") || !strings.Contains(tty.String(), "tgw-attach-0c1 > (sight ends)") {
		t.Errorf("TTY table lacks the path:\n%s", tty.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(plain.String()), "\n") {
		if strings.Contains(l, "transit-notebook") && strings.Count(l, "\t") != 6 {
			t.Errorf("piped line %q: want seven fields", l)
		}
	}
}
