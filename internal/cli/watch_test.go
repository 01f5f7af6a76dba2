package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/iostreams"
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
