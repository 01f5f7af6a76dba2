package collect

import (
	"context"
	"testing"
	"time"
)

// benchOrg collects accounts × regions × perRegion notebooks from the
// in-memory organisation, with latency added to every SageMaker call.
func benchOrg(b *testing.B, accounts, regions, perRegion int, latency time.Duration) {
	names := []string{"eu-west-1", "us-east-1", "us-west-2", "ap-southeast-2"}[:regions]
	opts := CollectOptions{Accounts: accountIDs(accounts), Role: audit}
	notebooks := accounts * regions * perRegion
	// Per account-region: ceil(n/100) list pages, n describes, n tag reads.
	calls := accounts * regions * ((perRegion+99)/100 + 2*perRegion)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		src := &fakeSource{regionNames: names, perRegion: perRegion, latency: latency}
		inv, err := collectFrom(context.Background(), src, "us-east-1", opts)
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for _, r := range inv.Regions {
			got += len(r.Notebooks)
		}
		if got != notebooks {
			b.Fatalf("%d notebooks, want %d", got, notebooks)
		}
	}
	perIter := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perIter*1e9/float64(notebooks), "ns/notebook")
	b.ReportMetric(float64(calls)/perIter, "calls/s")
	if latency > 0 {
		// The best any client can do with DefaultRegionConcurrency ×
		// DefaultConcurrency calls in flight: how close the pool gets to
		// it is the tool's overhead.
		inFlight := min(DefaultRegionConcurrency, accounts*regions) * DefaultConcurrency
		ideal := float64(calls) * latency.Seconds() / float64(inFlight)
		b.ReportMetric(perIter/ideal, "x-ideal")
	}
}

// BenchmarkCollectOrgFake measures the collector's own cost: 4 accounts ×
// 4 regions × 250 notebooks answered from memory at once.
func BenchmarkCollectOrgFake(b *testing.B) { benchOrg(b, 4, 4, 250, 0) }

// BenchmarkCollectOrgFakeLatency is the 3 × 3 × 200 estate with a
// 2 ms round trip on every SageMaker call: wall time against the best the
// default concurrency allows.
func BenchmarkCollectOrgFakeLatency(b *testing.B) { benchOrg(b, 3, 3, 200, 2*time.Millisecond) }
