package exceptions_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/exceptions"
	"github.com/sagefence/sagefence/internal/finding"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func result(account, region, name string, status finding.Status, tags map[string]string) finding.Result {
	return finding.Result{
		ControlID: finding.ControlID, AccountID: account, Region: region, Status: status, Severity: finding.SeverityHigh,
		Resource: finding.Resource{Type: finding.ResourceType, Name: name, Tags: tags,
			ARN: "arn:aws:sagemaker:" + region + ":" + account + ":notebook-instance/" + name},
	}
}

const valid = `# approved internet access
exceptions:
  - match:
      account: "111111111111"
      region: us-east-1
      name: vendor-*
      tags:
        approved: SEC-1234
        team: ml
    reason: Vendor package mirror | approved in SEC-1234
    owner: ml-platform@example.com
    expires: 2025-06-30
  - match: {name: legacy-*}
    reason: Legacy migration window
    owner: data-eng@example.com
    expires: 2024-12-31
`

func TestParseValidFile(t *testing.T) {
	set, err := exceptions.Parse("exceptions.yaml", []byte(valid))
	if err != nil {
		t.Fatal(err)
	}
	want := []exceptions.Exception{
		{
			Match:  exceptions.Match{Account: "111111111111", Region: "us-east-1", Name: "vendor-*", Tags: map[string]string{"approved": "SEC-1234", "team": "ml"}},
			Reason: "Vendor package mirror | approved in SEC-1234", Owner: "ml-platform@example.com", Expires: date("2025-06-30"), Line: 3,
		},
		{Match: exceptions.Match{Name: "legacy-*"}, Reason: "Legacy migration window", Owner: "data-eng@example.com", Expires: date("2024-12-31"), Line: 13},
	}
	if diff := cmp.Diff(want, set.Exceptions); diff != "" {
		t.Errorf("parsed exceptions (-want +got):\n%s", diff)
	}
}

func TestLoadReadsTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ex.yaml")
	if err := os.WriteFile(p, []byte(valid), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := exceptions.Load(p)
	if err != nil || len(set.Exceptions) != 2 || set.File != p {
		t.Fatalf("Load = %+v, %v", set, err)
	}
	if _, err := exceptions.Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want a wrapped os.ErrNotExist", err)
	}
}

func TestParseErrorsNameFileAndLine(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // substrings, each "file:line: ..."
	}{
		{"missing owner", "exceptions:\n  - match: {name: a}\n    reason: r\n    expires: 2030-01-01\n",
			[]string{`ex.yaml:2: exception 1: missing required field "owner"`}},
		{"missing reason and expires", "exceptions:\n  - match: {name: a}\n    owner: o\n",
			[]string{`ex.yaml:2: exception 1: missing required field "reason"`, `ex.yaml:2: exception 1: missing required field "expires"`}},
		{"missing match", "exceptions:\n  - reason: r\n    owner: o\n    expires: 2030-01-01\n",
			[]string{`ex.yaml:2: exception 1: missing required field "match"`}},
		{"bad date", "exceptions:\n  - match: {name: a}\n    reason: r\n    owner: o\n    expires: 30/01/2030\n",
			[]string{`ex.yaml:5: exception 1: expires "30/01/2030" is not a date (want YYYY-MM-DD)`}},
		{"impossible date", "exceptions:\n  - match: {name: a}\n    reason: r\n    owner: o\n    expires: 2030-02-30\n",
			[]string{`ex.yaml:5: exception 1: expires "2030-02-30" is not a date`}},
		{"unknown type", "exceptions:\n  - match: {type: \"AWS::SageMaker::Space\", name: a}\n    reason: r\n    owner: o\n    expires: 2030-01-01\n",
			[]string{`ex.yaml:2: exception 1: match.type "AWS::SageMaker::Space" is not a resource type sagefence reports`}},
		{"bad glob", "exceptions:\n  - match: {name: \"dev-[\"}\n    reason: r\n    owner: o\n    expires: 2030-01-01\n",
			[]string{`ex.yaml:2: exception 1: match.name "dev-[" is not a valid glob`}},
		{"bad account", "exceptions:\n  - match:\n      account: 12345\n    reason: r\n    owner: o\n    expires: 2030-01-01\n",
			[]string{`ex.yaml:3: exception 1: match.account "12345" is not a 12-digit AWS account ID`}},
		{"unknown key", "exceptions:\n  - match: {name: a}\n    reason: r\n    owner: o\n    expires: 2030-01-01\n    expiry: 2031-01-01\n",
			[]string{`ex.yaml:6: exception 1: unknown key "expiry"`}},
		{"unknown match key", "exceptions:\n  - match: {nam: a}\n    reason: r\n    owner: o\n    expires: 2030-01-01\n",
			[]string{`ex.yaml:2: exception 1: unknown match key "nam"`, `ex.yaml:2: exception 1: match is empty`}},
		{"empty match", "exceptions:\n  - match: {}\n    reason: r\n    owner: o\n    expires: 2030-01-01\n",
			[]string{`ex.yaml:2: exception 1: match is empty`}},
		{"tags not a map", "exceptions:\n  - match: {tags: [a, b]}\n    reason: r\n    owner: o\n    expires: 2030-01-01\n",
			[]string{`ex.yaml:2: exception 1: match.tags must be a mapping`}},
		{"duplicate key", "exceptions:\n  - match: {name: a}\n    reason: r\n    reason: s\n    owner: o\n    expires: 2030-01-01\n",
			[]string{`ex.yaml:4: duplicate key "reason"`}},
		{"second entry wrong", "exceptions:\n  - match: {name: a}\n    reason: r\n    owner: o\n    expires: 2030-01-01\n  - just a string\n",
			[]string{`ex.yaml:6: exception 2 must be a mapping`}},
		{"not a list", "exceptions: {name: a}\n", []string{`ex.yaml:1: "exceptions" must be a list`}},
		{"wrong top-level key", "exception:\n  - match: {name: a}\n", []string{`ex.yaml:1: unknown top-level key "exception"`}},
		{"syntax error", "exceptions:\n  - match: {name: a\n    reason: r\n", []string{`ex.yaml:`}},
		{"empty file", "", []string{`ex.yaml: empty file`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := exceptions.Parse("ex.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("want an error, got %+v", set)
			}
			var pe *exceptions.ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error %v is not a *ParseError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n  %v\nlacks\n  %s", err, w)
				}
			}
		})
	}
}

func TestSyntaxErrorHasALine(t *testing.T) {
	_, err := exceptions.Parse("ex.yaml", []byte("exceptions:\n  - match: {name: a\n    reason: r\n"))
	var pe *exceptions.ParseError
	if !errors.As(err, &pe) || pe.Line == 0 {
		t.Errorf("syntax error %v carries no line", err)
	}
}

func TestEmptyListIsValid(t *testing.T) {
	for _, doc := range []string{"exceptions: []\n", "exceptions:\n"} {
		set, err := exceptions.Parse("ex.yaml", []byte(doc))
		if err != nil || len(set.Exceptions) != 0 {
			t.Errorf("%q: got %+v, %v", doc, set, err)
		}
	}
}

func TestMatch(t *testing.T) {
	nb := result("111111111111", "us-east-1", "vendor-mirror", finding.StatusFail, map[string]string{"approved": "SEC-1234", "team": "ml", "env": "prod"})
	tests := []struct {
		name  string
		match exceptions.Match
		want  bool
	}{
		{"account only", exceptions.Match{Account: "111111111111"}, true},
		{"other account", exceptions.Match{Account: "222222222222"}, false},
		{"region only", exceptions.Match{Region: "us-east-1"}, true},
		{"other region", exceptions.Match{Region: "eu-west-1"}, false},
		{"exact name", exceptions.Match{Name: "vendor-mirror"}, true},
		{"glob star", exceptions.Match{Name: "vendor-*"}, true},
		{"glob question mark", exceptions.Match{Name: "vendor-mirro?"}, true},
		{"glob class", exceptions.Match{Name: "[uv]endor-*"}, true},
		{"glob is anchored", exceptions.Match{Name: "vendor"}, false},
		{"glob does not match", exceptions.Match{Name: "dev-*"}, false},
		{"one tag", exceptions.Match{Tags: map[string]string{"team": "ml"}}, true},
		{"all tags", exceptions.Match{Tags: map[string]string{"team": "ml", "approved": "SEC-1234"}}, true},
		{"one tag of two wrong", exceptions.Match{Tags: map[string]string{"team": "ml", "approved": "SEC-9999"}}, false},
		{"tag missing", exceptions.Match{Tags: map[string]string{"owner": "x"}}, false},
		{"tag value is exact", exceptions.Match{Tags: map[string]string{"team": "m*"}}, false},
		{"every key holds", exceptions.Match{Account: "111111111111", Region: "us-east-1", Name: "vendor-*", Tags: map[string]string{"env": "prod"}}, true},
		{"one key fails", exceptions.Match{Account: "111111111111", Region: "us-east-1", Name: "vendor-*", Tags: map[string]string{"env": "dev"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.match.Matches(&nb); got != tt.want {
				t.Errorf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
	// match.type: absent means notebook instances, so that an exception
	// written for notebooks never mutes a Studio domain of the same name.
	domain := nb
	domain.Resource.Type = finding.ResourceTypeDomain
	for _, tt := range []struct {
		name   string
		match  exceptions.Match
		res    *finding.Result
		expect bool
	}{
		{"no type: a notebook", exceptions.Match{Name: "vendor-*"}, &nb, true},
		{"no type: not a domain", exceptions.Match{Name: "vendor-*"}, &domain, false},
		{"domain type: a domain", exceptions.Match{Type: finding.ResourceTypeDomain, Name: "vendor-*"}, &domain, true},
		{"domain type: not a notebook", exceptions.Match{Type: finding.ResourceTypeDomain, Name: "vendor-*"}, &nb, false},
		{"notebook type: a notebook", exceptions.Match{Type: finding.ResourceType}, &nb, true},
	} {
		if got := tt.match.Matches(tt.res); got != tt.expect {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.expect)
		}
	}
	untagged := result("111111111111", "us-east-1", "vendor-mirror", finding.StatusFail, nil)
	if (exceptions.Match{Tags: map[string]string{"team": "ml"}}).Matches(&untagged) {
		t.Error("a tag match must not hold for a notebook without tags")
	}
}

func TestExpiry(t *testing.T) {
	e := exceptions.Exception{Expires: date("2025-06-30")}
	tests := []struct {
		now  time.Time
		want bool
	}{
		{time.Date(2025, 6, 29, 12, 0, 0, 0, time.UTC), false},
		{time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC), false},
		{time.Date(2025, 6, 30, 23, 59, 59, 0, time.UTC), false},
		{time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), true},
		{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), true},
		// 2025-07-01 01:00 in UTC+2 is still 2025-06-30 in UTC.
		{time.Date(2025, 7, 1, 1, 0, 0, 0, time.FixedZone("UTC+2", 2*3600)), false},
	}
	for _, tt := range tests {
		if got := e.Expired(tt.now); got != tt.want {
			t.Errorf("Expired(%s) = %v, want %v", tt.now, got, tt.want)
		}
	}
}

func TestApply(t *testing.T) {
	set, err := exceptions.Parse("exceptions.yaml", []byte(valid+`  - match: {name: "*"}
    reason: catch-all that must never mute PASS or ERROR
    owner: sec@example.com
    expires: 2099-01-01
`))
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{"approved": "SEC-1234", "team": "ml"}
	r := &finding.Report{Results: []finding.Result{
		result("111111111111", "us-east-1", "vendor-mirror", finding.StatusFail, tags),   // first exception
		result("111111111111", "us-east-1", "vendor-review", finding.StatusReview, tags), // first exception
		result("111111111111", "us-east-1", "legacy-etl", finding.StatusFail, nil),       // expired one, then catch-all
		result("111111111111", "us-east-1", "vendor-ok", finding.StatusPass, tags),       // never muted
		result("111111111111", "us-east-1", "vendor-broken", finding.StatusError, tags),  // never muted
		result("222222222222", "us-east-1", "vendor-mirror", finding.StatusFail, tags),   // account differs: catch-all
		result("111111111111", "us-east-1", "vendor-untagged", finding.StatusFail, nil),  // tags differ: catch-all
	}}
	r.Summarize()
	exceptions.Apply(r, set, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))

	type got struct {
		Status, Unmuted finding.Status
		Reason          string
	}
	var gots []got
	for _, res := range r.Results {
		g := got{Status: res.Status, Unmuted: res.UnmutedStatus}
		if res.Mute != nil {
			g.Reason = res.Mute.Reason
			if res.Mute.Source != "exception" || res.Mute.Owner == "" || res.Mute.Expires == "" {
				t.Errorf("%s: incomplete mute %+v", res.Resource.Name, res.Mute)
			}
		}
		gots = append(gots, g)
	}
	const vendor = "Vendor package mirror | approved in SEC-1234"
	const all = "catch-all that must never mute PASS or ERROR"
	want := []got{
		{finding.StatusMuted, finding.StatusFail, vendor},
		{finding.StatusMuted, finding.StatusReview, vendor},
		{finding.StatusMuted, finding.StatusFail, all},
		{finding.StatusPass, "", ""},
		{finding.StatusError, "", ""},
		{finding.StatusMuted, finding.StatusFail, all},
		{finding.StatusMuted, finding.StatusFail, all},
	}
	if diff := cmp.Diff(want, gots); diff != "" {
		t.Errorf("results after Apply (-want +got):\n%s", diff)
	}
	if r.Summary[finding.StatusMuted] != 5 || r.Summary[finding.StatusFail] != 0 || r.Summary[finding.StatusPass] != 1 {
		t.Errorf("summary not recomputed: %v", r.Summary)
	}
	wantExpired := []finding.ExpiredException{{
		Source: "exceptions.yaml:13", Match: "name=legacy-*", Reason: "Legacy migration window",
		Owner: "data-eng@example.com", Expires: "2024-12-31",
		Resources: []string{"arn:aws:sagemaker:us-east-1:111111111111:notebook-instance/legacy-etl"},
	}}
	if diff := cmp.Diff(wantExpired, r.ExpiredExceptions); diff != "" {
		t.Errorf("expired exceptions (-want +got):\n%s", diff)
	}
}

func TestExpiredExceptionStopsMuting(t *testing.T) {
	set, err := exceptions.Parse("ex.yaml", []byte("exceptions:\n  - match: {name: nb}\n    reason: r\n    owner: o\n    expires: 2025-06-30\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		now  time.Time
		want finding.Status
	}{
		{date("2025-06-30"), finding.StatusMuted},
		{date("2025-07-01"), finding.StatusFail},
	} {
		r := &finding.Report{Results: []finding.Result{result("111111111111", "us-east-1", "nb", finding.StatusFail, nil)}}
		exceptions.Apply(r, set, tt.now)
		if got := r.Results[0].Status; got != tt.want {
			t.Errorf("at %s: status %s, want %s", tt.now.Format(time.DateOnly), got, tt.want)
		}
		if expired := len(r.ExpiredExceptions) > 0; expired != (tt.want == finding.StatusFail) {
			t.Errorf("at %s: expired exceptions %v", tt.now.Format(time.DateOnly), r.ExpiredExceptions)
		}
		if tt.want == finding.StatusFail && r.Complete != true {
			t.Error("report not re-summarized")
		}
	}
}

func TestApplyNilSetChangesNothing(t *testing.T) {
	r := &finding.Report{Results: []finding.Result{result("111111111111", "us-east-1", "nb", finding.StatusFail, nil)}}
	exceptions.Apply(r, nil, time.Now())
	if r.Results[0].Status != finding.StatusFail {
		t.Error("a nil set muted something")
	}
}
