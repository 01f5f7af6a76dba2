package bench

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/sagefence/sagefence/bench/inventorygen"
	"github.com/sagefence/sagefence/internal/cli"
	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/iostreams"
)

// peakSampler samples the memory the Go runtime holds from the OS (mapped
// and not released: close to the process's RSS) until stopped.
type peakSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func startPeak() *peakSampler {
	p := &peakSampler{stop: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	read := func() {
		metrics.Read(samples)
		if v := samples[0].Value.Uint64() - samples[1].Value.Uint64(); v > p.peak {
			p.peak = v
		}
	}
	p.done.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-p.stop:
				read()
				return
			case <-t.C:
			}
		}
	})
	return p
}

func (p *peakSampler) Stop() uint64 {
	close(p.stop)
	p.done.Wait()
	return p.peak
}

// BenchmarkScanSavedInventory100k is `sagefence scan --input inv.json
// --format json --output report.json` on 100,000 notebooks, in process:
// read and validate the file, evaluate, write the JSON report. peak-MB is
// the most memory the Go runtime held from the OS during one scan (bench/
// orgbench measures the real process's peak RSS the same way, from the
// kernel).
func BenchmarkScanSavedInventory100k(b *testing.B) {
	dir := b.TempDir()
	in := filepath.Join(dir, "inventory.json")
	if err := inventorygen.Generate(inventorygen.Options{Notebooks: 100_000, Seed: 1}).WriteFile(in); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(in)
	for _, format := range []string{"json", "table"} {
		b.Run(format, func(b *testing.B) { scanSaved(b, in, st.Size(), filepath.Join(dir, "report."+format), format) })
	}
}

func scanSaved(b *testing.B, in string, inSize int64, out, format string) {
	args := []string{"scan", "--input", in, "--format", format, "--output", out}
	var peak uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		runtime.GC()
		debug.FreeOSMemory()
		p := startPeak()
		b.StartTimer()
		ios, _, _, errOut := iostreams.Test()
		code := cli.Main(context.Background(), ios, args)
		b.StopTimer()
		peak = max(peak, p.Stop())
		if code == cli.ExitUsage {
			b.Fatalf("scan: exit %d: %s", code, errOut)
		}
		b.StartTimer()
	}
	b.StopTimer()
	rep, _ := os.Stat(out)
	b.ReportMetric(float64(peak)/(1<<20), "peak-MB")
	b.ReportMetric(float64(inSize)/(1<<20), "inventory-MB")
	b.ReportMetric(float64(rep.Size())/(1<<20), "report-MB")
}

// TestGeneratedInventoryHasEveryVerdict keeps the benchmark honest: the
// estate exercises the verdicts it claims to.
func TestGeneratedInventoryHasEveryVerdict(t *testing.T) {
	ev, err := control.New(control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inv := inventorygen.Generate(inventorygen.Options{Notebooks: 3000, PerRegion: 1000, Seed: 7})
	if err := inv.Validate(); err != nil {
		t.Fatal(err)
	}
	results, errs := ev.Evaluate(inv)
	if len(results) != 3000 || len(errs) != 0 {
		t.Fatalf("%d results, errors %v", len(results), errs)
	}
	seen := map[string]int{}
	for _, r := range results {
		seen[string(r.Status)+"/"+string(r.InternetPath)]++
	}
	for _, k := range []string{"FAIL/direct", "FAIL/nat", "PASS/nat", "PASS/none", "REVIEW/transit", "FAIL/none"} {
		if seen[k] == 0 {
			t.Errorf("no %s result: %v", k, seen)
		}
	}
	if seen[string(finding.StatusError)+"/unknown"] != 0 {
		t.Errorf("the generated estate has dangling references: %v", seen)
	}
	// Reproducible by seed.
	a := inventorygen.Generate(inventorygen.Options{Notebooks: 500, Seed: 3})
	b := inventorygen.Generate(inventorygen.Options{Notebooks: 500, Seed: 3})
	var wa, wb countingWriter
	a.Encode(&wa)
	b.Encode(&wb)
	if wa.sum != wb.sum || wa.n != wb.n {
		t.Error("the same seed gave different inventories")
	}
}

type countingWriter struct {
	n   int
	sum uint64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		w.sum = w.sum*1099511628211 ^ uint64(c)
	}
	w.n += len(p)
	return len(p), nil
}

var _ io.Writer = (*countingWriter)(nil)
