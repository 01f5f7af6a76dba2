package watch

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sagefence/sagefence/internal/alert"
	"github.com/sagefence/sagefence/internal/events"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
)

// fakeQueue is an SQS queue holding total CloudTrail events spread over
// scopes, handed out ten per receive, one receive every 5ms at most (2,000
// events a second); once empty, a receive waits briefly and returns
// nothing (a long poll).
type fakeQueue struct {
	total    int
	scopes   []history.Scope
	sent     atomic.Int64
	deleted  atomic.Int64
	template string
}

func (q *fakeQueue) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(5 * time.Millisecond):
	}
	var msgs []sqstypes.Message
	for range 10 {
		n := q.sent.Add(1)
		if int(n) > q.total {
			q.sent.Add(-1)
			break
		}
		s := q.scopes[int(n)%len(q.scopes)]
		body := fmt.Sprintf(q.template, n, s.AccountID, s.Region, n, s.Region, s.AccountID)
		msgs = append(msgs, sqstypes.Message{MessageId: aws.String(fmt.Sprint(n)), ReceiptHandle: aws.String(fmt.Sprint(n)), Body: aws.String(body)})
	}
	if len(msgs) == 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return &sqs.ReceiveMessageOutput{Messages: msgs}, nil
}

func (q *fakeQueue) DeleteMessageBatch(_ context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	q.deleted.Add(int64(len(in.Entries)))
	return &sqs.DeleteMessageBatchOutput{}, nil
}

const eventTemplate = `{"version":"0","id":"eb-%d","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","account":"%s",` +
	`"time":"2026-12-03T09:00:00Z","region":"%s","resources":[],"detail":{"eventSource":"ec2.amazonaws.com","eventName":"CreateRoute",` +
	`"eventID":"ev-%d","awsRegion":"%s","recipientAccountId":"%s","userIdentity":{"arn":"arn:aws:iam::111111111111:user/alice"}}}`

// fleet is a fake AWS of notebooks whose status flips for one in a hundred
// at each scan.
type fleet struct {
	mu     sync.Mutex
	scans  int
	scopes []history.Scope
	per    int
}

func (f *fleet) result(s history.Scope, i int, fail bool) finding.Result {
	name := fmt.Sprintf("nb-%04d", i)
	st, path := finding.StatusPass, finding.InternetPath("none")
	if fail {
		st, path = finding.StatusFail, finding.InternetPath("nat")
	}
	return finding.Result{ControlID: "SageMaker.1", AccountID: s.AccountID, Region: s.Region, Status: st, InternetPath: path,
		Resource: finding.Resource{Name: name, ARN: "arn:aws:sagemaker:" + s.Region + ":" + s.AccountID + ":notebook-instance/" + name},
		Checks: []finding.Check{
			{ID: "direct-internet-access", Status: finding.StatusPass, Message: "DirectInternetAccess is Disabled"},
			{ID: "network-path", Status: st, Message: "the subnet's route table sends 0.0.0.0/0 to nat-0123456789abcdef0, whose subnet routes it to igw-0123456789abcdef0 (attached)"},
			{ID: "security-group-egress", Status: st, Message: "sg-0123456789abcdef0 allows all traffic to 0.0.0.0/0"},
		},
		Hops: []finding.Hop{
			{Kind: "subnet", ResourceID: "subnet-0123456789abcdef0"},
			{Kind: "route-table", ResourceID: "rtb-0123456789abcdef0", Decision: "0.0.0.0/0 -> nat-0123456789abcdef0 (nat)"},
			{Kind: "internet-gateway", ResourceID: "igw-0123456789abcdef0", Decision: "attached"},
		},
		Remediation: "Remove the NAT route or restrict the security group's egress.",
	}
}

func (f *fleet) scan(ctx context.Context, scope []history.Scope) (Result, error) {
	f.mu.Lock()
	f.scans++
	n := f.scans
	f.mu.Unlock()
	read := scope
	if read == nil {
		read = f.scopes
	}
	rep := &finding.Report{SchemaVersion: finding.SchemaVersion}
	for _, s := range read {
		for i := range f.per {
			// One in a hundred flips at each scan.
			rep.Results = append(rep.Results, f.result(s, i, (i+n)%100 == 0))
		}
	}
	rep.Summarize()
	return Result{Report: rep, Read: read, Calls: 10}, nil
}

type countingNotifier struct{ n atomic.Int64 }

func (c *countingNotifier) Notify(a ...alert.Alert) { c.n.Add(int64(len(a))) }

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkWatchSteadyMemory runs a watcher with the real history store
// and event consumer through 10,000 CloudTrail events and at least 100
// scheduled full scans of 1,000 notebooks (10 account-regions of 100, one
// in a hundred changing per scan), and reports the live heap after the
// first tenth of the events and at the end: a watcher that holds on to
// what it has seen grows between the two.
//
//	go test ./internal/watch -run '^$' -bench WatchSteadyMemory -benchtime 1x
func BenchmarkWatchSteadyMemory(b *testing.B) {
	const totalEvents, fullScans = 10_000, 100
	for range b.N {
		var scopes []history.Scope
		for a := range 2 {
			for _, r := range []string{"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1"} {
				scopes = append(scopes, history.Scope{AccountID: fmt.Sprintf("11111111111%d", a), Region: r})
			}
		}
		dir := b.TempDir()
		store, err := history.Open(context.Background(), filepath.Join(dir, "h.db"))
		if err != nil {
			b.Fatal(err)
		}
		q := &fakeQueue{total: totalEvents, scopes: scopes, template: eventTemplate}
		cons := &events.Consumer{API: q, QueueURL: "https://sqs.us-east-1.amazonaws.com/111111111111/q", Debounce: time.Millisecond}
		f := &fleet{scopes: scopes, per: 100}
		notes := &countingNotifier{}
		batches := make(chan events.Batch, 64)
		w := New(Options{Scan: f.scan, Store: store, Alerts: notes, Events: batches, Counters: cons.Counters,
			Interval: 40 * time.Millisecond, Retention: 24 * time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _ = cons.Run(ctx, batches) }()
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()

		fulls := func() float64 {
			return gaugeValue(b, w, "sagefence_scans_total", map[string]string{"kind": "full"})
		}
		// The live heap (after a collection) once a tenth of the events
		// are in, and once all are: a watcher that keeps what it has seen
		// grows between the two.
		var early, late uint64
		peak := uint64(0)
		start := time.Now()
		for {
			time.Sleep(50 * time.Millisecond)
			c := cons.Counters()
			if early == 0 && c.Relevant >= totalEvents/10 {
				early = liveHeap()
			}
			if late == 0 && c.Relevant >= totalEvents {
				late = liveHeap()
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			if c.Relevant >= totalEvents && fulls() >= fullScans {
				break
			}
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("not done in 10 minutes: %+v, %v full scans", c, fulls())
			}
		}
		// The last batches' rescans: let them finish.
		time.Sleep(200 * time.Millisecond)
		end := liveHeap()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		rescans := gaugeValue(b, w, "sagefence_scans_total", map[string]string{"kind": "rescan"})
		transitions := gaugeValue(b, w, "sagefence_transitions_total", nil)
		store.Close()
		var size int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(filepath.Join(dir, "h.db"+suffix)); err == nil {
				size += fi.Size()
			}
		}
		b.ReportMetric(float64(early)/(1<<20), "MiB-heap-10%")
		b.ReportMetric(float64(late)/(1<<20), "MiB-heap-100%")
		b.ReportMetric(float64(end)/(1<<20), "MiB-heap-idle")
		b.ReportMetric(float64(peak)/(1<<20), "MiB-heap-peak")
		b.ReportMetric(float64(size)/(1<<20), "MiB-db")
		c := cons.Counters()
		js, _ := json.Marshal(c)
		b.Logf("%v: events %s; %v full scans, %v rescans, %v transitions, %d alerts; live heap %.1f MiB after a tenth of the events, %.1f MiB after all, %.1f MiB idle at the end (peak before collection %.1f); database %.1f MiB",
			time.Since(start).Round(time.Second), js, fulls(), rescans, transitions, notes.n.Load(),
			float64(early)/(1<<20), float64(late)/(1<<20), float64(end)/(1<<20), float64(peak)/(1<<20), float64(size)/(1<<20))
	}
}

// gaugeValue sums a family's series matching labels (nil: all).
func gaugeValue(tb testing.TB, w *Watcher, name string, labels map[string]string) float64 {
	tb.Helper()
	mfs, err := w.Registry().Gather()
	if err != nil {
		tb.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				if g := m.GetGauge(); g != nil {
					sum += g.GetValue()
				} else {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}
