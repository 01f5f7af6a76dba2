package history

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
)

// generation is a scan of n notebooks in which every notebook carries the
// scan's number, so that a reader can tell whether what it read mixes two
// scans; statuses alternate from one generation to the next.
func generation(g, n int) (Scan, *finding.Report) {
	st := finding.StatusPass
	if g%2 == 1 {
		st = finding.StatusFail
	}
	results := make([]finding.Result, n)
	for i := range results {
		results[i] = nb(euw1.AccountID, euw1.Region, fmt.Sprintf("nb-%03d", i), st, finding.PathNone)
		results[i].Remediation = fmt.Sprintf("generation %d", g)
	}
	return scanAt(t0.Add(time.Duration(g)*time.Minute), scheduled, euw1), report(results...)
}

// TestReadersRunBesideAWrite: while Record holds its write transaction
// open, every reader answers (none waits for the writer) with the last
// committed scan.
func TestReadersRunBesideAWrite(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	recordGeneration(t, s, 0, 50)

	type read struct {
		what string
		got  string
		err  error
	}
	var seen []read
	s.beforeCommit = func() {
		readers := map[string]func() (string, error){
			"Current": func() (string, error) {
				cur, err := s.Current(ctx)
				if err != nil || len(cur) == 0 {
					return fmt.Sprint(len(cur)), err
				}
				return cur[0].Remediation, nil
			},
			"LastScan": func() (string, error) {
				sc, _, err := s.LastScan(ctx)
				return sc.FinishedAt.Format("15:04"), err
			},
			"Recent": func() (string, error) {
				trs, err := s.Recent(ctx, 1)
				if err != nil || len(trs) == 0 {
					return "none", err
				}
				return trs[0].From + ">" + trs[0].To, nil
			},
			"Trend": func() (string, error) {
				p, err := s.Trend(ctx, time.Time{})
				return fmt.Sprint(len(p)), err
			},
		}
		results := make(chan read, len(readers))
		for what, f := range readers {
			go func() {
				got, err := f()
				results <- read{what, got, err}
			}()
		}
		timeout := time.After(5 * time.Second)
		for range readers {
			select {
			case r := <-results:
				seen = append(seen, r)
			case <-timeout:
				seen = append(seen, read{what: "a reader", err: fmt.Errorf("still waiting for the writer after 5s")})
				return
			}
		}
	}
	recordGeneration(t, s, 1, 50)
	s.beforeCommit = nil

	want := map[string]string{"Current": "generation 0", "LastScan": "09:00", "Recent": ">PASS", "Trend": "1"}
	if len(seen) != len(want) {
		for _, r := range seen {
			t.Errorf("%s during the write: %q %v", r.what, r.got, r.err)
		}
		t.Fatalf("%d readers of %d answered during the write", len(seen), len(want))
	}
	for _, r := range seen {
		if r.err != nil || r.got != want[r.what] {
			t.Errorf("%s during the write: %q %v, want %q (the last committed scan)", r.what, r.got, r.err, want[r.what])
		}
	}
	if cur := current(t, s); cur[0].Remediation != "generation 1" {
		t.Errorf("Current after the commit: %q", cur[0].Remediation)
	}
}

// TestConcurrentReadersAndWritersSeeWholeScans: readers polling while two
// goroutines record scans never see half of one, and concurrent Records
// are serialised: every notebook's history is one chain, each From the To
// before it. Run with -race.
func TestConcurrentReadersAndWritersSeeWholeScans(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	const notebooks, scansPerWriter = 100, 8
	recordGeneration(t, s, 0, notebooks)

	done := make(chan struct{})
	var readers sync.WaitGroup
	errs := make(chan error, 100)
	for range 3 {
		readers.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				cur, err := s.Current(ctx)
				if err != nil {
					errs <- err
					return
				}
				if len(cur) != notebooks {
					errs <- fmt.Errorf("Current read %d notebooks, want %d", len(cur), notebooks)
					return
				}
				for _, r := range cur[1:] {
					if r.Remediation != cur[0].Remediation {
						errs <- fmt.Errorf("Current mixes %q and %q", cur[0].Remediation, r.Remediation)
						return
					}
				}
				if _, err := s.Recent(ctx, 10); err != nil {
					errs <- err
					return
				}
				if _, _, err := s.LastScan(ctx); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	var writers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for i := range scansPerWriter {
				sc, rep := generation(1+w*scansPerWriter+i, notebooks)
				if _, err := s.Record(ctx, sc, rep); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	trend, err := s.Trend(ctx, time.Time{})
	if err != nil || len(trend) != 1+2*scansPerWriter {
		t.Errorf("Trend holds %d scans (%v), want %d", len(trend), err, 1+2*scansPerWriter)
	}
	h := history(t, s, euw1, "nb-007")
	for i := 1; i < len(h); i++ {
		if h[i].From != h[i-1].To {
			t.Errorf("history is not one chain at %d: %s>%s then %s>%s", i, h[i-1].From, h[i-1].To, h[i].From, h[i].To)
		}
	}
}

func recordGeneration(t *testing.T, s *Store, g, n int) {
	t.Helper()
	sc, rep := generation(g, n)
	record(t, s, sc, rep)
}
