// Package junit writes a report as JUnit XML for CI dashboards: one test
// suite per account and region, one test case per notebook. FAIL is a
// <failure>, ERROR an <error>, MUTED <skipped> with the exception's reason;
// REVIEW passes (it is not a failure without --strict) and says so in its
// output. Compliance mappings are test case properties.
package junit

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// TestSuites is the document root.
type TestSuites struct {
	XMLName  xml.Name    `xml:"testsuites"`
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Suites   []TestSuite `xml:"testsuite"`
}

// TestSuite groups the notebooks of one account and region.
type TestSuite struct {
	Name       string     `xml:"name,attr"`
	Tests      int        `xml:"tests,attr"`
	Failures   int        `xml:"failures,attr"`
	Errors     int        `xml:"errors,attr"`
	Skipped    int        `xml:"skipped,attr"`
	Time       string     `xml:"time,attr"`
	Timestamp  string     `xml:"timestamp,attr"`
	Properties []Property `xml:"properties>property,omitempty"`
	Cases      []TestCase `xml:"testcase"`
	SystemErr  string     `xml:"system-err,omitempty"`
}

// TestCase is one notebook.
type TestCase struct {
	Name       string     `xml:"name,attr"`
	ClassName  string     `xml:"classname,attr"`
	Time       string     `xml:"time,attr"`
	Properties []Property `xml:"properties>property,omitempty"`
	Failure    *Outcome   `xml:"failure,omitempty"`
	Error      *Outcome   `xml:"error,omitempty"`
	Skipped    *Outcome   `xml:"skipped,omitempty"`
	SystemOut  string     `xml:"system-out,omitempty"`
}

// Outcome is a failure, error or skip with its message and details.
type Outcome struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// Property is a name/value pair.
type Property struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

// Build converts a report to the JUnit document.
func Build(r *finding.Report) TestSuites {
	type key struct{ account, region string }
	groups := map[key][]*finding.Result{}
	var keys []key
	for i := range r.Results {
		res := &r.Results[i]
		k := key{res.AccountID, res.Region}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], res)
	}
	// Account-regions that could not be read at all are suites with one
	// error, so a dashboard shows the gap instead of a green run.
	errs := map[key][]finding.Error{}
	for _, e := range r.Errors {
		k := key{e.AccountID, e.Region}
		if _, ok := groups[k]; !ok {
			if _, seen := errs[k]; !seen {
				keys = append(keys, k)
			}
		}
		errs[k] = append(errs[k], e)
	}
	slices.SortFunc(keys, func(a, b key) int {
		return cmp.Or(strings.Compare(a.account, b.account), strings.Compare(a.region, b.region))
	})

	elapsed := seconds(r.FinishedAt.Sub(r.StartedAt).Seconds())
	name := "sagefence " + finding.ControlID
	if !reportfmt.OnlyNotebooks(r.Results) {
		name += ", " + finding.ControlIDStudio
	}
	doc := TestSuites{Name: name, Time: elapsed}
	for _, k := range keys {
		s := TestSuite{
			Name:      suiteName(k.account, k.region),
			Time:      elapsed,
			Timestamp: r.StartedAt.UTC().Format("2006-01-02T15:04:05"),
			Properties: []Property{
				{Name: "account_id", Value: k.account},
				{Name: "region", Value: k.region},
				{Name: "profile", Value: r.Profile},
				{Name: "tool", Value: r.Tool.Name + " " + r.Tool.Version},
			},
		}
		for _, res := range groups[k] {
			tc := testCase(res, k.account, k.region)
			switch {
			case tc.Failure != nil:
				s.Failures++
			case tc.Error != nil:
				s.Errors++
			case tc.Skipped != nil:
				s.Skipped++
			}
			s.Cases = append(s.Cases, tc)
		}
		for _, e := range errs[k] {
			s.Cases = append(s.Cases, TestCase{
				Name:      "collect " + e.Operation + resourceSuffix(e.Resource),
				ClassName: className(k.account, k.region),
				Time:      "0",
				Error:     &Outcome{Message: e.Message, Type: cmp.Or(e.Code, "CollectError"), Text: e.Operation + ": " + e.Message},
			})
			s.Errors++
		}
		s.Tests = len(s.Cases)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
		doc.Suites = append(doc.Suites, s)
	}
	return doc
}

// Write writes r to w as JUnit XML.
func Write(w io.Writer, r *finding.Report) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(Build(r)); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	return nil
}

func testCase(res *finding.Result, account, region string) TestCase {
	tc := TestCase{
		Name:      reportfmt.DisplayName(res),
		ClassName: className(account, region),
		Time:      "0",
		Properties: []Property{
			{Name: "control_id", Value: cmp.Or(res.ControlID, finding.ControlID)},
			{Name: "arn", Value: res.Resource.ARN},
			{Name: "control_id", Value: cmp.Or(res.ControlID, finding.ControlID)},
			{Name: "resource_type", Value: cmp.Or(res.Resource.Type, finding.ResourceType)},
			{Name: "status", Value: string(res.Status)},
			{Name: "severity", Value: string(res.Severity)},
			{Name: "internet_path", Value: string(res.InternetPath)},
		},
	}
	for _, fw := range reportfmt.Frameworks(res.Compliance) {
		tc.Properties = append(tc.Properties, Property{Name: "compliance." + fw, Value: strings.Join(res.Compliance[fw], ", ")})
	}
	details := details(res)
	switch res.Status {
	case finding.StatusFail:
		tc.Failure = &Outcome{Message: headline(res, finding.StatusFail), Type: string(res.Severity), Text: details}
	case finding.StatusError:
		tc.Error = &Outcome{Message: headline(res, finding.StatusError), Type: "ERROR", Text: details}
	case finding.StatusMuted:
		msg := "muted"
		if res.Mute != nil {
			msg = "muted: " + res.Mute.Reason
			if res.Mute.Owner != "" {
				msg += " (owner " + res.Mute.Owner + ", expires " + res.Mute.Expires + ")"
			}
		}
		tc.Skipped = &Outcome{Message: msg, Text: details}
	default:
		tc.SystemOut = details
	}
	return tc
}

// headline is the first message of the worst deciding sub-check.
func headline(res *finding.Result, want finding.Status) string {
	for _, c := range res.Checks {
		if c.Status == want && !c.Informational {
			return c.ID + ": " + c.Message
		}
	}
	return string(res.Status) + " (internet path " + string(res.InternetPath) + ")"
}

func details(res *finding.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s (internet path: %s, severity: %s)\n", res.Status, res.Resource.Type, reportfmt.ResourceID(res), res.InternetPath, res.Severity)
	if res.UnmutedStatus != "" {
		fmt.Fprintf(&b, "unmuted status: %s\n", res.UnmutedStatus)
	}
	for _, c := range res.Checks {
		info := ""
		if c.Informational {
			info = " (informational)"
		}
		fmt.Fprintf(&b, "  [%s] %s%s: %s\n", c.Status, c.ID, info, c.Message)
	}
	if res.Remediation != "" {
		fmt.Fprintf(&b, "remediation: %s\n", res.Remediation)
	}
	for _, cmd := range res.Reproduce.Strings() {
		fmt.Fprintf(&b, "reproduce: %s\n", cmd)
	}
	return b.String()
}

func suiteName(account, region string) string {
	return "account " + cmp.Or(account, "unknown") + " region " + cmp.Or(region, "unknown")
}

func className(account, region string) string {
	return "sagefence." + cmp.Or(account, "unknown") + "." + cmp.Or(region, "unknown")
}

func resourceSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " " + r
}

func seconds(s float64) string {
	if s < 0 {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}
