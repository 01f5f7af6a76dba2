package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/history"
)

var at = time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)

func eventCause(name string) history.Cause {
	return history.Cause{Kind: history.CauseEvent, EventName: name,
		EventID: "0a1b2c3d-4e5f", Caller: "arn:aws:iam::123456789012:user/alice"}
}

func transition(from, to, path string, cause history.Cause) history.Transition {
	return history.Transition{
		At:           at,
		AccountID:    "123456789012",
		Region:       "us-east-1",
		Name:         "fraud-model-dev",
		ARN:          "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/fraud-model-dev",
		From:         from,
		To:           to,
		InternetPath: path,
		Cause:        cause,
	}
}

// jsonFields is an alert as a webhook receiver decodes it.
func jsonFields(t *testing.T, a Alert) map[string]any {
	t.Helper()
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	return m
}

func TestFromTransitionSaysWhatChangedWhyInOneLine(t *testing.T) {
	const arn = "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/fraud-model-dev"
	scheduled := history.Cause{Kind: history.CauseScheduled}
	eventJSON := func(name string) map[string]any {
		return map[string]any{"kind": "event", "event_name": name, "event_id": "0a1b2c3d-4e5f",
			"caller": "arn:aws:iam::123456789012:user/alice"}
	}
	for _, tc := range []struct {
		name     string
		tr       history.Transition
		wantText string
		wantJSON map[string]any
	}{
		{
			name:     "a new notebook",
			tr:       transition("", "FAIL", "direct", eventCause("CreateNotebookInstance")),
			wantText: "FAIL: new notebook fraud-model-dev (123456789012 us-east-1) is FAIL, internet path direct; cause: CreateNotebookInstance by arn:aws:iam::123456789012:user/alice (event 0a1b2c3d-4e5f)",
			wantJSON: map[string]any{"from": "", "to": "FAIL", "internet_path": "direct", "cause": eventJSON("CreateNotebookInstance")},
		},
		{
			name:     "PASS to FAIL",
			tr:       transition("PASS", "FAIL", "nat", eventCause("CreateRoute")),
			wantText: "FAIL: notebook fraud-model-dev (123456789012 us-east-1) is now FAIL (was PASS), internet path nat; cause: CreateRoute by arn:aws:iam::123456789012:user/alice (event 0a1b2c3d-4e5f)",
			wantJSON: map[string]any{"from": "PASS", "to": "FAIL", "internet_path": "nat", "cause": eventJSON("CreateRoute")},
		},
		{
			name:     "FAIL to PASS",
			tr:       transition("FAIL", "PASS", "", scheduled),
			wantText: "PASS: notebook fraud-model-dev (123456789012 us-east-1) is now PASS (was FAIL); cause: scheduled",
			wantJSON: map[string]any{"from": "FAIL", "to": "PASS", "internet_path": "", "cause": map[string]any{"kind": "scheduled"}},
		},
		{
			name:     "to ERROR",
			tr:       transition("PASS", "ERROR", "", scheduled),
			wantText: "ERROR: notebook fraud-model-dev (123456789012 us-east-1) is now ERROR (was PASS); cause: scheduled",
			wantJSON: map[string]any{"from": "PASS", "to": "ERROR", "internet_path": "", "cause": map[string]any{"kind": "scheduled"}},
		},
		{
			name: "deleted",
			// The path it had is not news once it is gone.
			tr:       transition("FAIL", history.StatusDeleted, "nat", eventCause("DeleteNotebookInstance")),
			wantText: "DELETED: notebook fraud-model-dev (123456789012 us-east-1) was deleted (was FAIL); cause: DeleteNotebookInstance by arn:aws:iam::123456789012:user/alice (event 0a1b2c3d-4e5f)",
			wantJSON: map[string]any{"from": "FAIL", "to": "DELETED", "internet_path": "nat", "cause": eventJSON("DeleteNotebookInstance")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := FromTransition(tc.tr)
			if a.Text != tc.wantText {
				t.Errorf("Text:\n got %s\nwant %s", a.Text, tc.wantText)
			}
			want := map[string]any{
				"at":         "2026-12-03T09:30:00Z",
				"account_id": "123456789012",
				"region":     "us-east-1",
				"resource":   "fraud-model-dev",
				"arn":        arn,
				"text":       tc.wantText,
			}
			for k, v := range tc.wantJSON {
				want[k] = v
			}
			if diff := cmp.Diff(want, jsonFields(t, a)); diff != "" {
				t.Errorf("JSON fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFromTransitionEscapesAWSValuesInTextOnly(t *testing.T) {
	for _, name := range []string{"<!channel>", "<img src=x onerror=alert(1)>"} {
		t.Run(name, func(t *testing.T) {
			tr := transition("PASS", "FAIL", "nat", history.Cause{Kind: history.CauseEvent,
				EventName: "CreateRoute", EventID: "<!here>", Caller: "arn:aws:iam::1:user/a&b"})
			tr.Name = name
			a := FromTransition(tr)
			if strings.ContainsAny(a.Text, "<>") {
				t.Errorf("Text has an angle bracket Slack would interpret: %s", a.Text)
			}
			escaped := strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(name)
			if !strings.Contains(a.Text, "notebook "+escaped+" (") {
				t.Errorf("Text does not show the name %q as data (%q): %s", name, escaped, a.Text)
			}
			if !strings.Contains(a.Text, "user/a&amp;b (event &lt;!here&gt;)") {
				t.Errorf("Text does not escape the cause: %s", a.Text)
			}
			m := jsonFields(t, a)
			if m["resource"] != name {
				t.Errorf("JSON resource = %q, want the raw name %q", m["resource"], name)
			}
			cause := m["cause"].(map[string]any)
			if cause["event_id"] != "<!here>" || cause["caller"] != "arn:aws:iam::1:user/a&b" {
				t.Errorf("JSON cause = %v, want the raw values", cause)
			}
		})
	}
}

func TestSlackTextKeepsOneLineOfData(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain-name", "plain-name"},
		{"a&b", "a&amp;b"},
		{"&lt;", "&amp;lt;"}, // already-escaped input is data too
		{"<@U123>", "&lt;@U123&gt;"},
		{"two\nlines\r\n", "two\ufffdlines\ufffd\ufffd"},
		{"tab\there", "tab\ufffdhere"},
		{"sep\u2028par\u2029", "sep\ufffdpar\ufffd"},
		{"evil\u202etxt.exe", "evil\ufffdtxt.exe"},
		{"bad\xffutf8", "bad\ufffdutf8"},
		{"ünïcödé ok", "ünïcödé ok"},
	} {
		if got := slackText(tc.in); got != tc.want {
			t.Errorf("slackText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTextIsOneLineWhateverTheName(t *testing.T) {
	tr := transition("PASS", "FAIL", "nat\n", history.Cause{Kind: history.CauseEvent, EventName: "X\nY"})
	tr.Name = "line1\nline2"
	if a := FromTransition(tr); strings.ContainsAny(a.Text, "\r\n") {
		t.Errorf("Text spans lines: %q", a.Text)
	}
}

func TestFromTransitionNamesMissingValues(t *testing.T) {
	a := FromTransition(history.Transition{To: "FAIL"})
	if want := "FAIL: new notebook ? (? ?) is FAIL"; a.Text != want {
		t.Errorf("Text = %q, want %q", a.Text, want)
	}
}

// TestTextNamesTheKindOfResource: a Studio domain's or user profile's
// alert says what it is about, not "notebook".
func TestTextNamesTheKindOfResource(t *testing.T) {
	for name, want := range map[string]string{
		"nb-1":                        "FAIL: notebook nb-1 ",
		"studio-domain/research":      "FAIL: Studio domain studio-domain/research ",
		"studio-user-profile/r/alice": "FAIL: Studio user profile studio-user-profile/r/alice ",
	} {
		a := Alert{Resource: name, AccountID: "111111111111", Region: "us-east-1", From: "PASS", To: "FAIL"}
		if got := a.text(); !strings.HasPrefix(got, want) {
			t.Errorf("%s: text %q, want it to start %q", name, got, want)
		}
	}
}
