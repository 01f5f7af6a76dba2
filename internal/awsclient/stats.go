package awsclient

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// OpStats are the counters of one operation (or, from Total, of all).
type OpStats struct {
	// Calls are the operations invoked (one per SDK method call).
	Calls int `json:"calls"`
	// Attempts are the HTTP requests sent, retries included.
	Attempts int `json:"attempts"`
	// Retries are the attempts after the first of a call.
	Retries int `json:"retries"`
	// Throttles are the attempts answered with a throttling error code
	// (ThrottlingException, RequestLimitExceeded, ...).
	Throttles int `json:"throttles"`
	// Errors are the calls that failed after their last attempt.
	Errors int `json:"errors"`
}

func (o *OpStats) add(p OpStats) {
	o.Calls += p.Calls
	o.Attempts += p.Attempts
	o.Retries += p.Retries
	o.Throttles += p.Throttles
	o.Errors += p.Errors
}

// Stats counts the AWS calls made through every client built from a
// config it is attached to, per "service:Operation" ("ec2:DescribeSubnets").
// Attach it with Options.Stats or by appending APIOption to
// aws.Config.APIOptions. Safe for concurrent use.
type Stats struct {
	mu      sync.Mutex
	ops     map[string]*OpStats
	regions map[string]*RegionStats
}

// RegionStats are the counters and timings of one region, over every
// account read there.
type RegionStats struct {
	// Calls and Throttles count as OpStats do, for calls sent to the region.
	Calls     int `json:"calls"`
	Throttles int `json:"throttles"`
	// AccountRegions is how many account-regions were read here (by
	// RecordRegion), and Notebooks how many notebooks they held.
	AccountRegions int `json:"account_regions"`
	Notebooks      int `json:"notebooks"`
	// Busy is the sum of the account-regions' read times; Slowest is the
	// longest, in SlowestAccount.
	Busy           time.Duration `json:"busy_ns"`
	Slowest        time.Duration `json:"slowest_ns"`
	SlowestAccount string        `json:"slowest_account,omitempty"`
}

// NewStats returns empty counters.
func NewStats() *Stats {
	return &Stats{ops: map[string]*OpStats{}, regions: map[string]*RegionStats{}}
}

const (
	statsCallID    = "sagefence.awsclient.StatsCall"
	statsAttemptID = "sagefence.awsclient.StatsAttempt"
)

// attemptsKey holds, in a call's context, how many attempts it has made.
type attemptsKey struct{}

// APIOption installs the counting middleware on an operation's stack; it
// has the signature of an aws.Config.APIOptions entry.
func (s *Stats) APIOption(stack *middleware.Stack) error {
	// Initialize runs once per call, outside the retry loop.
	err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc(statsCallID,
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
			middleware.InitializeOutput, middleware.Metadata, error,
		) {
			op := opName(ctx)
			s.update(op, func(o *OpStats) { o.Calls++ })
			s.updateRegion(awsmiddleware.GetRegion(ctx), func(r *RegionStats) { r.Calls++ })
			ctx = middleware.WithStackValue(ctx, attemptsKey{}, new(atomic.Int32))
			out, md, err := next.HandleInitialize(ctx, in)
			if err != nil {
				s.update(op, func(o *OpStats) { o.Errors++ })
			}
			return out, md, err
		}), middleware.Before)
	if err != nil {
		return fmt.Errorf("add call statistics middleware: %w", err)
	}
	// Right after the retry middleware, the handler runs once per attempt.
	attempt := middleware.FinalizeMiddlewareFunc(statsAttemptID,
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
			middleware.FinalizeOutput, middleware.Metadata, error,
		) {
			op := opName(ctx)
			retried := false
			if n, ok := middleware.GetStackValue(ctx, attemptsKey{}).(*atomic.Int32); ok {
				retried = n.Add(1) > 1
			}
			out, md, err := next.HandleFinalize(ctx, in)
			throttled := err != nil && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
			s.update(op, func(o *OpStats) {
				o.Attempts++
				if retried {
					o.Retries++
				}
				if throttled {
					o.Throttles++
				}
			})
			if throttled {
				s.updateRegion(awsmiddleware.GetRegion(ctx), func(r *RegionStats) { r.Throttles++ })
			}
			return out, md, err
		})
	if _, ok := stack.Finalize.Get("Retry"); ok {
		err = stack.Finalize.Insert(attempt, "Retry", middleware.After)
	} else {
		err = stack.Finalize.Add(attempt, middleware.After)
	}
	if err != nil {
		return fmt.Errorf("add attempt statistics middleware: %w", err)
	}
	return nil
}

// opName is "service:Operation" with the SDK's service ID lowercased and
// without spaces, which is also the IAM action prefix for the services
// sagefence uses ("SageMaker" -> "sagemaker").
func opName(ctx context.Context) string {
	svc := awsmiddleware.GetServiceID(ctx)
	op := awsmiddleware.GetOperationName(ctx)
	if svc == "" {
		svc = "unknown"
	}
	return strings.ToLower(strings.ReplaceAll(svc, " ", "")) + ":" + op
}

func (s *Stats) update(op string, f func(*OpStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ops == nil {
		s.ops = map[string]*OpStats{}
	}
	o := s.ops[op]
	if o == nil {
		o = &OpStats{}
		s.ops[op] = o
	}
	f(o)
}

func (s *Stats) updateRegion(region string, f func(*RegionStats)) {
	if region == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.regions == nil {
		s.regions = map[string]*RegionStats{}
	}
	r := s.regions[region]
	if r == nil {
		r = &RegionStats{}
		s.regions[region] = r
	}
	f(r)
}

// RecordRegion records that one account-region was read in took and held
// notebooks notebooks. Safe for concurrent use.
func (s *Stats) RecordRegion(account, region string, took time.Duration, notebooks int) {
	s.updateRegion(region, func(r *RegionStats) {
		r.AccountRegions++
		r.Notebooks += notebooks
		r.Busy += took
		if took > r.Slowest {
			r.Slowest, r.SlowestAccount = took, account
		}
	})
}

// Regions returns a copy of the counters per region.
func (s *Stats) Regions() map[string]RegionStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]RegionStats, len(s.regions))
	for k, v := range s.regions {
		out[k] = *v
	}
	return out
}

// Snapshot returns a copy of the counters per "service:Operation".
func (s *Stats) Snapshot() map[string]OpStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]OpStats, len(s.ops))
	for k, v := range s.ops {
		out[k] = *v
	}
	return out
}

// Op returns the counters of one "service:Operation".
func (s *Stats) Op(op string) OpStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.ops[op]; o != nil {
		return *o
	}
	return OpStats{}
}

// Total sums the counters of every operation.
func (s *Stats) Total() OpStats {
	var t OpStats
	for _, o := range s.Snapshot() {
		t.add(o)
	}
	return t
}

// Print writes the counters as a table, one operation a line, sorted, with
// a total line; then, when account-regions were recorded, a table of
// regions (calls, account-regions, notebooks, time spent reading them and
// the slowest one); then the wall time of the run and the calls per second
// (when the wall time is not zero).
func (s *Stats) Print(w io.Writer, wall time.Duration) {
	snap := s.Snapshot()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "operation\tcalls\tattempts\tretries\tthrottled\terrors\t\n")
	var total OpStats
	for _, op := range slices.Sorted(maps.Keys(snap)) {
		o := snap[op]
		total.add(o)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t\n", op, o.Calls, o.Attempts, o.Retries, o.Throttles, o.Errors)
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\t%d\t%d\t\n", total.Calls, total.Attempts, total.Retries, total.Throttles, total.Errors)
	_ = tw.Flush()
	s.printRegions(w)
	if wall > 0 {
		fmt.Fprintf(w, "wall time: %s, %.1f calls/s\n", wall.Round(time.Millisecond), float64(total.Calls)/wall.Seconds())
	}
}

// printRegions writes the per-region table, if any account-region was
// recorded.
func (s *Stats) printRegions(w io.Writer) {
	regions := s.Regions()
	recorded := false
	for _, r := range regions {
		recorded = recorded || r.AccountRegions > 0
	}
	if !recorded {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "region\tcalls\tthrottled\taccounts\tnotebooks\tbusy\tslowest\t\n")
	for _, name := range slices.Sorted(maps.Keys(regions)) {
		r := regions[name]
		slowest := "-"
		if r.AccountRegions > 0 {
			slowest = r.Slowest.Round(time.Millisecond).String() + " (" + r.SlowestAccount + ")"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\t\n", name, r.Calls, r.Throttles, r.AccountRegions, r.Notebooks,
			r.Busy.Round(time.Millisecond), slowest)
	}
	_ = tw.Flush()
}
