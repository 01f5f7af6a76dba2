package cli

import (
	"fmt"
	"strings"
	"sync"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/evidence"
)

// scanProgress is what the progress line of a live scan shows: the
// collector reports regions and the caller as they come, the call counters
// come from the shared awsclient.Stats.
type scanProgress struct {
	stats *awsclient.Stats

	mu                 sync.Mutex
	account, arn       string
	regions, notebooks int
}

func newScanProgress(stats *awsclient.Stats) *scanProgress {
	return &scanProgress{stats: stats}
}

// regionDone has the signature of collect.CollectOptions.Progress.
func (p *scanProgress) regionDone(_ string, notebooks int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.regions++
	p.notebooks += notebooks
}

// identity has the signature of liveOptions.Identity.
func (p *scanProgress) identity(account, arn string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.account, p.arn = account, arn
}

// caller is who ran the scan, as far as it is known.
func (p *scanProgress) caller() evidence.Caller {
	p.mu.Lock()
	defer p.mu.Unlock()
	return evidence.Caller{AccountID: p.account, ARN: p.arn}
}

// line is the progress line, e.g.
// "scanning 123456789012: 3 regions, 41 notebooks done · 212 AWS calls, 3 retries (1 throttled)".
func (p *scanProgress) line() string {
	p.mu.Lock()
	account, regions, notebooks := p.account, p.regions, p.notebooks
	p.mu.Unlock()
	var b strings.Builder
	b.WriteString("scanning")
	if account != "" {
		b.WriteString(" " + account)
	}
	fmt.Fprintf(&b, ": %d region(s), %d notebook(s) done", regions, notebooks)
	if p.stats != nil {
		t := p.stats.Total()
		fmt.Fprintf(&b, " · %d AWS calls, %d retries", t.Calls, t.Retries)
		if t.Throttles > 0 {
			fmt.Fprintf(&b, " (%d throttled)", t.Throttles)
		}
	}
	return b.String()
}
