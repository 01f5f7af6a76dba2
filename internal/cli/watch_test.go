package cli

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/history"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/journal"
)

// TestWatchRefusesBadInputInOneLine: each mistake is exit 2 and one line
// naming the flag, before any AWS configuration is read (none is set up
// here: reaching it would fail differently).
func TestWatchRefusesBadInputInOneLine(t *testing.T) {
	short := filepath.Join(t.TempDir(), "short-token")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--interval", "30s"}, "--interval 30s: want a minute or more"},
		{[]string{"--debounce", "-1s"}, "--debounce -1s: want zero or more"},
		{[]string{"--retention", "10m"}, "--retention 10m0s: want an hour or more"},
		{[]string{"--listen", "8484"}, `--listen "8484": want HOST:PORT`},
		{[]string{"--listen", "0.0.0.0:8484"}, "pass --token-file (or listen on 127.0.0.1)"},
		{[]string{"--listen", "[::]:8484"}, "pass --token-file"},
		{[]string{"--queue-url", "sagefence-events"}, "--queue-url \"sagefence-events\": want https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE"},
		{[]string{"--queue-url", "https://sqs.us-east1.amazonaws.com/111122223333/q"}, `"us-east1" is not an AWS region`},
		{[]string{"--alert-webhook", "hooks.slack.com/services/T0/B0/secret"}, "--alert-webhook (number 1)"},
		{[]string{"--alert-sns-topic", "arn:aws:sqs:us-east-1:111122223333:q"}, "want an SNS topic ARN"},
		{[]string{"--control-profile", "cis"}, "cis"},
		{[]string{"--shard", "0/2", "--org", "--role-name", "R"}, "--shard does not apply to watch"},
		{[]string{"--token-file", short}, "the token must be at least 16 characters"},
	} {
		ios, _, stdout, errOut := iostreams.Test()
		args := append([]string{"watch", "--regions", "us-east-1", "--db", filepath.Join(t.TempDir(), "h.db")}, c.args...)
		code := Main(context.Background(), ios, args)
		got := errOut.String()
		if code != ExitUsage || stdout.Len() != 0 || strings.Count(got, "\n") != 1 || !strings.Contains(got, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", c.args, code, got, c.want)
		}
		if strings.Contains(got, "secret") {
			t.Errorf("%v: the webhook's secret path is echoed: %q", c.args, got)
		}
	}
}

// TestWatchRefusesAJournalForItsHistory: --db naming another kind of
// sagefence file is refused before anything is scanned or served.
func TestWatchRefusesAJournalForItsHistory(t *testing.T) {
	db := filepath.Join(t.TempDir(), "journal.db")
	j, err := journal.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	ios, _, stdout, errOut := iostreams.Test()
	code := Main(context.Background(), ios, []string{"watch", "--regions", "us-east-1", "--db", db})
	if got := errOut.String(); code != ExitUsage || stdout.Len() != 0 || strings.Count(got, "\n") != 1 || !strings.Contains(got, "not a sagefence history") {
		t.Errorf("exit %d, stderr %q; want exit 2 and one line saying it is not a history", code, got)
	}
}

// TestReadScopesAreTheAccountRegionsWhoseNotebooksWereListed: a region
// whose listing failed, a network-only region and an account that could
// not be read are not "read": the history keeps their stored state.
func TestReadScopesAreTheAccountRegionsWhoseNotebooksWereListed(t *testing.T) {
	inv := &inventory.Inventory{
		Regions: []inventory.Region{
			{AccountID: "111111111111", Region: "us-east-1"},
			{AccountID: "111111111111", Region: "eu-west-1", Errors: []inventory.CollectError{
				{Operation: awsop.ListNotebookInstances, Code: "AccessDeniedException", Message: "denied"}}},
			{AccountID: "111111111111", Region: "us-west-2", Errors: []inventory.CollectError{
				{Operation: awsop.DescribeNotebookInstance, Resource: "nb-1", Code: "AccessDeniedException", Message: "denied"}}},
			{AccountID: "222222222222", Region: "us-east-1", NetworkOnly: true},
			{AccountID: "333333333333", Region: "us-east-1"},
		},
		Errors: []inventory.CollectError{{AccountID: "333333333333", Operation: awsop.AssumeRole, Code: "AccessDenied", Message: "denied"}},
	}
	got := readScopes(inv)
	want := []history.Scope{{AccountID: "111111111111", Region: "us-east-1"}, {AccountID: "111111111111", Region: "us-west-2"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("readScopes (-want +got):\n%s", diff)
	}
}

// TestNarrowLiveRescansTheScopeAndKeepsPathsInSight: a rescan reads the
// scope's accounts and regions for notebooks; the other accounts of the
// last full scan, and the configured network accounts, stay readable for
// the paths that lead there.
func TestNarrowLiveRescansTheScopeAndKeepsPathsInSight(t *testing.T) {
	scope := []history.Scope{{AccountID: "222222222222", Region: "us-west-2"}, {AccountID: "111111111111", Region: "us-east-1"}}
	org := liveOptions{Regions: nil, Org: orgOptions{Org: true, RoleName: "Audit", NetworkAccounts: []string{"999999999999"}}}
	narrowLive(&org, scope, []string{"111111111111", "222222222222", "333333333333"})
	if diff := cmp.Diff([]string{"us-east-1", "us-west-2"}, org.Regions); diff != "" {
		t.Errorf("regions (-want +got):\n%s", diff)
	}
	if org.Org.Org || !slices.Equal(org.Org.Accounts, []string{"111111111111", "222222222222"}) || org.Org.RoleName != "Audit" {
		t.Errorf("org options %+v: want the scope's accounts, by role Audit", org.Org)
	}
	if diff := cmp.Diff([]string{"999999999999", "333333333333"}, org.Org.NetworkAccounts); diff != "" {
		t.Errorf("network accounts (-want +got):\n%s", diff)
	}

	// The caller's own account: regions only.
	own := liveOptions{Regions: []string{"us-east-1", "eu-west-1"}}
	narrowLive(&own, scope[1:], []string{"111111111111"})
	if !slices.Equal(own.Regions, []string{"us-east-1"}) || own.Org.Org || len(own.Org.Accounts) != 0 {
		t.Errorf("own account rescan: %+v", own)
	}
}

func TestWatchResourcesFromFlags(t *testing.T) {
	q, topic, err := watchResources("https://sqs.eu-west-1.amazonaws.com/111122223333/sagefence-events", "arn:aws:sns:eu-west-1:111122223333:secops")
	if err != nil || q != "arn:aws:sqs:eu-west-1:111122223333:sagefence-events" || topic != "arn:aws:sns:eu-west-1:111122223333:secops" {
		t.Errorf("watchResources = %q, %q, %v", q, topic, err)
	}
	if q, _, err := watchResources("https://sqs.cn-north-1.amazonaws.com.cn/111122223333/q", ""); err != nil || q != "arn:aws-cn:sqs:cn-north-1:111122223333:q" {
		t.Errorf("China queue: %q, %v", q, err)
	}
	for _, bad := range [][2]string{{"http://127.0.0.1:5000/111122223333/q", ""}, {"", "arn:aws:sqs:eu-west-1:111122223333:q"}} {
		if _, _, err := watchResources(bad[0], bad[1]); err == nil {
			t.Errorf("watchResources(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// TestUnreadStudioNamesWhatTheScanCouldNotRead: a region whose domains
// could not be listed keeps all its Studio results; a domain that could not
// be described, or whose profiles could not be listed, keeps its profiles';
// a region that was not read at all needs nothing.
func TestUnreadStudioNamesWhatTheScanCouldNotRead(t *testing.T) {
	denied := inventory.CollectError{Code: "AccessDeniedException", Message: "denied"}
	with := func(op, resource string) inventory.CollectError {
		e := denied
		e.Operation, e.Resource = op, resource
		return e
	}
	inv := &inventory.Inventory{Regions: []inventory.Region{
		{AccountID: "111111111111", Region: "us-east-1", Errors: []inventory.CollectError{with(awsop.ListDomains, "")}},
		{AccountID: "111111111111", Region: "eu-west-1", StudioDomains: []inventory.StudioDomain{
			{ID: "d-1", Name: "research", Error: &inventory.CollectError{Operation: awsop.DescribeDomain, Resource: "d-1"}},
			{ID: "d-2", Name: "clinical", Errors: []inventory.CollectError{with(awsop.ListUserProfiles, "d-2")}},
			{ID: "d-3", Name: "fine"},
		}},
		{AccountID: "222222222222", Region: "us-east-1", Errors: []inventory.CollectError{with(awsop.ListDomains, "")}},
	}}
	read := []history.Scope{{AccountID: "111111111111", Region: "us-east-1"}, {AccountID: "111111111111", Region: "eu-west-1"}}
	var got []string
	for _, u := range unreadStudio(inv, read) {
		got = append(got, u.Region+" "+u.Prefix)
	}
	want := []string{"us-east-1 studio-domain/", "us-east-1 studio-user-profile/", "eu-west-1 studio-user-profile/research/", "eu-west-1 studio-user-profile/clinical/"}
	if !slices.Equal(got, want) {
		t.Errorf("unread %q, want %q", got, want)
	}
}
