package events

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sagefence/sagefence/internal/testenv"
)

var moto testenv.SharedMoto

func TestMain(m *testing.M) { testenv.Main(m, &moto) }

// motoQueue creates a queue in moto and returns a client of endpoint (moto
// or a proxy in front of it) and the queue's URL.
func motoQueue(t *testing.T, m *testenv.Moto, endpoint string) (*sqs.Client, string) {
	t.Helper()
	c := sqs.NewFromConfig(testenv.Config(endpoint))
	out, err := sqs.NewFromConfig(testenv.Config(m.URL())).CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("sagefence-events")})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	return c, aws.ToString(out.QueueUrl)
}

func send(t *testing.T, c *sqs.Client, url string, bodies ...string) {
	t.Helper()
	for len(bodies) > 0 {
		n := min(10, len(bodies))
		var entries []types.SendMessageBatchRequestEntry
		for i, b := range bodies[:n] {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b)})
		}
		out, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		if err != nil || len(out.Failed) > 0 {
			t.Fatalf("send: %v %+v", err, out)
		}
		bodies = bodies[n:]
	}
}

// queued is how many messages the queue still holds, visible or not.
func queued(t *testing.T, c *sqs.Client, url string) int {
	t.Helper()
	out, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		i, _ := strconv.Atoi(v)
		n += i
	}
	return n
}

func runConsumer(t *testing.T, c *Consumer) <-chan Batch {
	t.Helper()
	out := make(chan Batch, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return out
}

func waitBatch(t *testing.T, out <-chan Batch, within time.Duration) Batch {
	t.Helper()
	select {
	case b := <-out:
		return b
	case <-time.After(within):
		t.Fatal("no batch")
	}
	return Batch{}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConsumerAgainstMotoSQS(t *testing.T) {
	m := moto.ForTest(t)
	client, url := motoQueue(t, m, m.URL())
	c := &Consumer{API: client, QueueURL: url, Debounce: 2 * time.Second}
	out := runConsumer(t, c)
	const acct1, acct2 = "111122223333", "444455556666"

	send(t, client, url, ct(t, "a", "CreateRoute", acct1, "eu-west-1"))
	waitFor(t, 10*time.Second, "the first event", func() bool { return c.Counters().Relevant == 1 })
	// Within the first event's window: the second joins its batch; the
	// other account-region, the malformed and the unrelated messages do not.
	send(t, client, url,
		ct(t, "b", "AuthorizeSecurityGroupEgress", acct1, "eu-west-1"),
		ct(t, "c", "CreateRoute", acct2, "us-east-1"),
		"{ this is not an event",
		string(readEvent(t, "statechange.json")),
		string(readEvent(t, "failed.json")),
	)
	b := waitBatch(t, out, 10*time.Second)
	if b.AccountID != acct1 || b.Region != "eu-west-1" || !slices.Equal(ids(b), []string{"a", "b"}) {
		t.Fatalf("first batch = %s/%s %v, want %s/eu-west-1 [a b]", b.AccountID, b.Region, ids(b), acct1)
	}
	b = waitBatch(t, out, 10*time.Second)
	if b.AccountID != acct2 || b.Region != "us-east-1" || !slices.Equal(ids(b), []string{"c"}) {
		t.Fatalf("second batch = %s/%s %v, want %s/us-east-1 [c]", b.AccountID, b.Region, ids(b), acct2)
	}
	select {
	case b := <-out:
		t.Fatalf("a third batch: %+v", b)
	case <-time.After(2500 * time.Millisecond):
	}
	if got, want := c.Counters(), (Counters{Received: 6, Relevant: 3, Ignored: 2, Malformed: 1}); got.Received != want.Received ||
		got.Relevant != want.Relevant || got.Ignored != want.Ignored || got.Malformed != want.Malformed || got.ReceiveErrors != 0 {
		t.Errorf("counters = %+v, want %+v", got, want)
	}
	// Every message was handled, so every one was deleted: none comes back.
	waitFor(t, 5*time.Second, "an empty queue", func() bool { return queued(t, client, url) == 0 })
}

// TestConsumerBacksOffOnReceiveFaults: a queue that throttles, fails or
// denies every receive is retried with growing waits (a busy loop would
// make hundreds of calls in the window), and events flow again once it
// recovers.
func TestConsumerBacksOffOnReceiveFaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault testenv.Fault
	}{
		{"throttled", testenv.Throttle()},
		{"server error", testenv.ServerError()},
		{"access denied", testenv.AccessDenied()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := moto.ForTest(t)
			proxy := testenv.NewFaultProxy(t, m.URL())
			client, url := motoQueue(t, m, proxy.URL())
			proxy.Add(testenv.Rule{Op: "sqs:ReceiveMessage", Fault: tc.fault})
			c := &Consumer{API: client, QueueURL: url, Debounce: 200 * time.Millisecond,
				BackoffMin: 100 * time.Millisecond, BackoffMax: time.Second}
			out := runConsumer(t, c)

			const window = 3 * time.Second
			time.Sleep(window)
			// With waits of at least 50, 100, 200, 400, 500, 500... ms, at
			// most 9 receives fit in 3 s, each tried at most 3 times by the
			// SDK (testenv.Config): 27 attempts. The SDK's own retries alone
			// would make about 150.
			attempts := proxy.Calls("sqs:ReceiveMessage")
			if attempts > 35 {
				t.Errorf("%d receive attempts in %v: not backing off", attempts, window)
			}
			errs := c.Counters().ReceiveErrors
			t.Logf("%d receive attempts, %d receive errors in %v", attempts, errs, window)
			if errs < 3 {
				t.Errorf("%d receive errors in %v (%d attempts): gave up retrying?", errs, window, attempts)
			}

			// Recovery: the queue answers again, events flow.
			proxy.ClearRules()
			send(t, client, url, ct(t, "a", "CreateRoute", "111122223333", "eu-west-1"))
			b := waitBatch(t, out, 10*time.Second)
			if !slices.Equal(ids(b), []string{"a"}) {
				t.Errorf("batch after recovery = %v", ids(b))
			}
			if got := c.Counters().ReceiveErrors; got != errs && got != errs+1 {
				t.Errorf("receive errors went on after recovery: %d then %d", errs, got)
			}
		})
	}
}
