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
	mu  sync.Mutex
	ops map[string]*OpStats
}

// NewStats returns empty counters.
func NewStats() *Stats { return &Stats{ops: map[string]*OpStats{}} }

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
// a total line and the wall time of the run (when not zero).
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
	if wall > 0 {
		fmt.Fprintf(w, "wall time: %s\n", wall.Round(time.Millisecond))
	}
}
