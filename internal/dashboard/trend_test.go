package dashboard

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
)

func TestTrendHasOnePointPerScanOnTopOfTheStack(t *testing.T) {
	now := fixtureNow
	pts := newFake().trend[1:]
	c := buildTrend(pts, now.Add(-trendWindow), now)
	if len(c.Points) != len(pts) {
		t.Fatalf("%d points for %d scans", len(c.Points), len(pts))
	}
	prevX := -1.0
	for i, p := range c.Points {
		total := 0
		for _, n := range pts[i].Counts {
			total += n
		}
		if p.Total != total {
			t.Errorf("point %d totals %d, want %d", i, p.Total, total)
		}
		x, _ := strconv.ParseFloat(p.X, 64)
		if x <= prevX || x < plotL || x > plotR {
			t.Errorf("point %d at x=%v: not after %v within the plot", i, x, prevX)
		}
		prevX = x
	}
	// The newest scan is 3 hours before now: the chart runs on to now, so
	// the last point is left of the plot's right edge.
	if last, _ := strconv.ParseFloat(c.Points[len(c.Points)-1].X, 64); last >= plotR {
		t.Errorf("the last scan is drawn at the right edge (%v); the chart should run on to now", last)
	}
	// A point higher on the chart has more notebooks.
	y := func(i int) float64 { v, _ := strconv.ParseFloat(c.Points[i].Y, 64); return v }
	if !(y(0) == y(1) && y(2) > y(1)) { // totals 8, 8, 7
		t.Errorf("point heights %v %v %v do not follow totals 8, 8, 7", y(0), y(1), y(2))
	}
	// Statuses with notebooks get a band; one with none does not.
	if len(c.Bands) != 5 {
		t.Errorf("%d bands, want one per status present (5)", len(c.Bands))
	}
	only := buildTrend([]history.TrendPoint{{At: now, Counts: map[finding.Status]int{finding.StatusFail: 2}}}, now.Add(-trendWindow), now)
	if len(only.Bands) != 1 || only.Bands[0].Status != finding.StatusFail || len(only.Points) != 1 {
		t.Errorf("a single FAIL-only scan gives bands %+v and %d points", only.Bands, len(only.Points))
	}
	if empty := buildTrend(nil, now.Add(-trendWindow), now); len(empty.Points) != 0 || len(empty.Bands) != 0 {
		t.Errorf("no scans give %+v", empty)
	}
}

func TestStepBandOutlinesTopThenBottom(t *testing.T) {
	xs := []float64{0, 10}
	got := stepBand(xs, 20, func(i int) float64 { return []float64{5, 3}[i] }, func(i int) float64 { return []float64{9, 8}[i] })
	want := "M0.0 5.0L10.0 5.0L10.0 3.0L20.0 3.0L20.0 8.0L10.0 8.0L10.0 9.0L0.0 9.0Z"
	if got != want {
		t.Errorf("stepBand = %s\nwant        %s", got, want)
	}
}

func TestThinKeepsTheLastScanOfEachSpan(t *testing.T) {
	start := fixtureNow.Add(-trendWindow)
	var pts []history.TrendPoint
	for i := range 3000 {
		pts = append(pts, history.TrendPoint{At: start.Add(time.Duration(i) * 10 * time.Minute), Counts: map[finding.Status]int{finding.StatusPass: i}})
	}
	got := thin(pts, maxTrendPoints)
	if len(got) > maxTrendPoints || len(got) < maxTrendPoints/2 {
		t.Fatalf("thinned 3000 scans to %d points, want at most %d and not far fewer", len(got), maxTrendPoints)
	}
	if got[len(got)-1].Counts[finding.StatusPass] != 2999 {
		t.Errorf("the newest scan was dropped: last kept is %v", got[len(got)-1].Counts)
	}
	for i := 1; i < len(got); i++ {
		if !got[i].At.After(got[i-1].At) {
			t.Fatalf("thinned points out of order at %d", i)
		}
	}
	if few := thin(pts[:10], maxTrendPoints); len(few) != 10 {
		t.Errorf("10 scans thinned to %d", len(few))
	}
	c := buildTrend(pts, start, fixtureNow)
	if c.Scans != 3000 || len(c.Points) != len(got) {
		t.Errorf("the chart of 3000 scans says %d scans and draws %d points", c.Scans, len(c.Points))
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[int]int{0: 1, 1: 1, 2: 2, 3: 5, 7: 10, 10: 10, 11: 20, 499: 500, 501: 1000, 12000: 20000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestTrendAxisLabelsFollowTheSpan(t *testing.T) {
	c := buildTrend(newFake().trend[1:], fixtureNow.Add(-trendWindow), fixtureNow)
	if len(c.XTicks) != 3 || c.XTicks[0].Label != "Jan 2" || c.XTicks[2].Label != "Jan 10" {
		t.Errorf("x labels %+v, want Jan 2 … Jan 10", c.XTicks)
	}
	var ys []string
	for _, tk := range c.YTicks {
		ys = append(ys, tk.Label)
	}
	if strings.Join(ys, ",") != "0,5,10" {
		t.Errorf("y labels %v, want 0,5,10 for at most 8 notebooks", ys)
	}
}
