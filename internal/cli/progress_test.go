package cli

import (
	"testing"

	"github.com/sagefence/sagefence/internal/evidence"
)

func TestScanProgressLine(t *testing.T) {
	p := newScanProgress(nil)
	if got, want := p.line(), "0 accounts, 0 regions, 0 notebooks done"; got != want {
		t.Errorf("before anything: %q, want %q", got, want)
	}
	p.identity("111122223333", "arn:aws:sts::111122223333:assumed-role/Auditor/s")
	p.regionDone("111122223333", "us-east-1", 1)
	if got, want := p.line(), "1 account, 1 region, 1 notebook done"; got != want {
		t.Errorf("one region: %q, want %q", got, want)
	}
	// A later identity (a member account's role in an organisation scan)
	// is not who ran the scan.
	p.identity("444455556666", "arn:aws:sts::444455556666:assumed-role/SagefenceAudit/s")
	p.regionDone("444455556666", "us-east-1", 4)
	p.regionDone("444455556666", "eu-west-1", 0)
	if got, want := p.line(), "2 accounts, 2 regions, 5 notebooks done"; got != want {
		t.Errorf("organisation: %q, want %q", got, want)
	}
	if got := p.caller(); got != (evidence.Caller{AccountID: "111122223333", ARN: "arn:aws:sts::111122223333:assumed-role/Auditor/s"}) {
		t.Errorf("caller = %+v, want the first identity", got)
	}
}

func TestPlural(t *testing.T) {
	for _, c := range []struct {
		n          int
		noun, want string
	}{{0, "retry", "0 retries"}, {1, "retry", "1 retry"}, {2, "AWS call", "2 AWS calls"}, {1, "region", "1 region"}} {
		if got := plural(c.n, c.noun); got != c.want {
			t.Errorf("plural(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}
