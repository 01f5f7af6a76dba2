package cli

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/evidence"
)

// scanProgress is what the progress line of a live scan shows, and who ran
// it: the collector reports account-regions and the caller as they come,
// the call counters come from the shared awsclient.Stats.
type scanProgress struct {
	stats *awsclient.Stats

	mu                sync.Mutex
	callerAccount     string
	callerARN         string
	accounts, regions map[string]bool
	notebooks         int
}

func newScanProgress(stats *awsclient.Stats) *scanProgress {
	return &scanProgress{stats: stats, accounts: map[string]bool{}, regions: map[string]bool{}}
}

// regionDone has the signature of liveOptions.Progress.
func (p *scanProgress) regionDone(account, region string, notebooks int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.accounts[account] = true
	p.regions[region] = true
	p.notebooks += notebooks
}

// identity has the signature of liveOptions.Identity. The first identity
// is the caller's; any later one (a member account's role) is not who ran
// the scan.
func (p *scanProgress) identity(account, arn string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.callerAccount == "" && p.callerARN == "" {
		p.callerAccount, p.callerARN = account, arn
	}
}

// caller is who ran the scan, as far as it is known.
func (p *scanProgress) caller() evidence.Caller {
	p.mu.Lock()
	defer p.mu.Unlock()
	return evidence.Caller{AccountID: p.callerAccount, ARN: p.callerARN}
}

// line is the progress line, e.g. "2 accounts, 14 regions, 341 notebooks
// done · 2412 AWS calls, 31 retries, 4 throttled": short enough for an
// 80-column terminal in all but the largest scans.
func (p *scanProgress) line() string {
	p.mu.Lock()
	accounts, regions, notebooks := len(p.accounts), len(p.regions), p.notebooks
	p.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %s, %s done", plural(accounts, "account"), plural(regions, "region"), plural(notebooks, "notebook"))
	if p.stats != nil {
		t := p.stats.Total()
		fmt.Fprintf(&b, " · %s, %s", plural(t.Calls, "AWS call"), plural(t.Retries, "retry"))
		if t.Throttles > 0 {
			fmt.Fprintf(&b, ", %d throttled", t.Throttles)
		}
	}
	return b.String()
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "y") {
		return fmt.Sprintf("%d %sies", n, strings.TrimSuffix(noun, "y"))
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
