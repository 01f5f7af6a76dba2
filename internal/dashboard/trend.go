package dashboard

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// trendWindow is how far back the chart looks.
const trendWindow = 30 * 24 * time.Hour

// maxTrendPoints caps the points drawn: event-driven rescans can record
// thousands of scans a month, more than a chart 1000 units wide can show.
const maxTrendPoints = 500

// The chart's coordinate system (its viewBox) and the plot area in it.
const (
	chartW, chartH             = 1000, 200
	plotL, plotR, plotT, plotB = 48, 988, 12, 172
)

// trendChart is the posture over time as stacked step areas, one per
// status (the posture holds from one scan to the next), and one point per
// scan on top of the stack.
type trendChart struct {
	ViewBox string
	// Left and Right are the plot's edges, for the grid lines.
	Left, Right int
	Bands       []band
	Points      []point
	YTicks      []tick
	XTicks      []tick
	// Scans is how many scans the window holds; Points may be fewer when
	// they were thinned to maxTrendPoints.
	Scans int
	Since string
}

type band struct {
	Status finding.Status
	D      string
}

type point struct {
	X, Y  string
	Total int
	At    string
	Title string
}

type tick struct {
	X, Y   string
	Label  string
	Anchor string
}

// buildTrend lays out the chart of pts (oldest first) up to now.
func buildTrend(pts []history.TrendPoint, since, now time.Time) trendChart {
	c := trendChart{ViewBox: fmt.Sprintf("0 0 %d %d", chartW, chartH), Left: plotL, Right: plotR, Scans: len(pts), Since: stamp(since)}
	pts = thin(pts, maxTrendPoints)
	if len(pts) == 0 {
		return c
	}
	start, end := pts[0].At, now
	if last := pts[len(pts)-1].At; end.Before(last) {
		end = last
	}
	span := end.Sub(start)
	if span < time.Minute {
		// A lone scan a moment ago still gets a visible width.
		span = time.Minute
		end = start.Add(span)
	}
	x := func(t time.Time) float64 {
		return plotL + (plotR-plotL)*float64(t.Sub(start))/float64(span)
	}
	statuses := reportfmt.Statuses()
	// cum[i][k] is the stack height at scan i below status k; cum[i][len]
	// is the total.
	cum := make([][]int, len(pts))
	top := 0
	for i, p := range pts {
		cum[i] = make([]int, len(statuses)+1)
		for k, s := range statuses {
			cum[i][k+1] = cum[i][k] + p.Counts[s]
		}
		top = max(top, cum[i][len(statuses)])
	}
	ymax := niceCeil(top)
	y := func(n int) float64 { return plotB - (plotB-plotT)*float64(n)/float64(ymax) }

	xs := make([]float64, len(pts))
	for i, p := range pts {
		xs[i] = x(p.At)
	}
	xend := x(end)
	for k, s := range statuses {
		seen := false
		for i := range pts {
			if pts[i].Counts[s] > 0 {
				seen = true
				break
			}
		}
		if !seen {
			continue
		}
		c.Bands = append(c.Bands, band{Status: s, D: stepBand(xs, xend,
			func(i int) float64 { return y(cum[i][k+1]) },
			func(i int) float64 { return y(cum[i][k]) })})
	}
	for i, p := range pts {
		total := cum[i][len(statuses)]
		var parts []string
		for _, s := range statuses {
			if n := p.Counts[s]; n > 0 {
				parts = append(parts, strconv.Itoa(n)+" "+string(s))
			}
		}
		title := stamp(p.At) + ": " + plural(total, "notebook", "notebooks")
		if len(parts) > 0 {
			title += " (" + strings.Join(parts, ", ") + ")"
		}
		c.Points = append(c.Points, point{X: num(xs[i]), Y: num(y(total)), Total: total, At: p.At.UTC().Format(time.RFC3339), Title: title})
	}
	for _, n := range []int{0, ymax / 2, ymax} {
		if n == ymax/2 && ymax%2 != 0 {
			continue
		}
		c.YTicks = append(c.YTicks, tick{X: num(plotL - 6), Y: num(y(n)), Label: strconv.Itoa(n), Anchor: "end"})
	}
	layout := "Jan 2"
	if span < 2*24*time.Hour {
		layout = "Jan 2 15:04"
	}
	for i, anchor := range []string{"start", "middle", "end"} {
		t := start.Add(span / 2 * time.Duration(i))
		c.XTicks = append(c.XTicks, tick{X: num(x(t)), Y: num(plotB + 20), Label: t.UTC().Format(layout), Anchor: anchor})
	}
	return c
}

// stepBand is the outline of one status's band: along its top from the
// first scan to the end, each scan's value holding until the next, and back
// along its bottom.
func stepBand(xs []float64, xend float64, upper, lower func(int) float64) string {
	n := len(xs)
	var b strings.Builder
	pt := func(cmd byte, x, y float64) {
		b.WriteByte(cmd)
		b.WriteString(num(x))
		b.WriteByte(' ')
		b.WriteString(num(y))
	}
	pt('M', xs[0], upper(0))
	for i := 1; i < n; i++ {
		pt('L', xs[i], upper(i-1))
		pt('L', xs[i], upper(i))
	}
	pt('L', xend, upper(n-1))
	pt('L', xend, lower(n-1))
	for i := n - 1; i >= 1; i-- {
		pt('L', xs[i], lower(i))
		pt('L', xs[i], lower(i-1))
	}
	pt('L', xs[0], lower(0))
	b.WriteByte('Z')
	return b.String()
}

// thin keeps at most limit points: the window is cut into limit equal
// spans of time and the last scan of each is kept, since the posture a
// span ended with is what it holds until the next.
func thin(pts []history.TrendPoint, limit int) []history.TrendPoint {
	if len(pts) <= limit {
		return pts
	}
	start, end := pts[0].At, pts[len(pts)-1].At
	span := end.Sub(start)
	bucket := func(t time.Time) int {
		if span <= 0 {
			return 0
		}
		return min(limit-1, int(float64(t.Sub(start))/float64(span)*float64(limit)))
	}
	out := make([]history.TrendPoint, 0, limit)
	for i, p := range pts {
		if i+1 < len(pts) && bucket(pts[i+1].At) == bucket(p.At) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(n int) int {
	if n <= 1 {
		return 1
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// stamp is how the page shows a time.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
