package finding

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/google/go-cmp/cmp"
)

// echoTemplate renders one command per argument, so that a test sees which
// arguments reached it.
type echoTemplate struct{ prefix string }

func (t echoTemplate) AppendCommands(dst []string, a CommandArgs) []string {
	dst = append(dst, t.prefix+" "+a.Name+" "+a.Region)
	if a.NetworkInterfaceID != "" {
		dst = append(dst, t.prefix+" eni "+a.NetworkInterfaceID)
	}
	return dst
}

func TestCommandsRenderFromTemplateAndArgs(t *testing.T) {
	c := TemplateCommands(echoTemplate{"describe"}, CommandArgs{Name: "nb", Region: "eu-west-1", NetworkInterfaceID: "eni-1"})
	want := []string{"describe nb eu-west-1", "describe eni eni-1"}
	if diff := cmp.Diff(want, c.Strings()); diff != "" {
		t.Errorf("Strings (-want +got):\n%s", diff)
	}
	if !c.Equal(CommandList(want...)) {
		t.Error("templated commands are not Equal to the same list")
	}
	if c.Equal(CommandList(want[0])) {
		t.Error("Equal ignores a missing command")
	}
	if (Commands{}).Equal(CommandList([]string{}...)) {
		t.Error("no commands (null) compares Equal to an empty list ([])")
	}
}

// TestCommandsJSON: both encoders the report uses give what a []string
// gives, HTML escaping and null included, and a report read back holds the
// same commands.
func TestCommandsJSON(t *testing.T) {
	opts := jsonv2.JoinOptions(jsonv1.DefaultOptionsV1(), jsonv2.Deterministic(true))
	cases := map[string]struct {
		c    Commands
		want []string
	}{
		"template":   {TemplateCommands(echoTemplate{"a <b> & 'c'"}, CommandArgs{Name: "x\u2028y", Region: `"r"`}), []string{"a <b> & 'c' x\u2028y \"r\""}},
		"list":       {CommandList("one", "two"), []string{"one", "two"}},
		"none":       {Commands{}, nil},
		"empty list": {CommandList([]string{}...), []string{}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			type holder struct {
				R Commands `json:"reproduce"`
			}
			type plain struct {
				R []string `json:"reproduce"`
			}
			want, err := json.MarshalIndent(plain{tc.want}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(holder{tc.c}, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("encoding/json:\n got %s\nwant %s", got, want)
			}
			wantV2, err := jsonv2.Marshal(plain{tc.want}, opts)
			if err != nil {
				t.Fatal(err)
			}
			gotV2, err := jsonv2.Marshal(holder{tc.c}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotV2, wantV2) {
				t.Errorf("json v2 with v1 options:\n got %s\nwant %s", gotV2, wantV2)
			}
			var back holder
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if !back.R.Equal(tc.c) {
				t.Errorf("read back %q, want %q", back.R.Strings(), tc.c.Strings())
			}
		})
	}
}

func TestCommandsRejectNonStrings(t *testing.T) {
	var c Commands
	err := json.Unmarshal([]byte(`[1]`), &c)
	if err == nil || !strings.Contains(err.Error(), "reproduce commands") {
		t.Errorf("err = %v, want a reproduce commands error", err)
	}
}
