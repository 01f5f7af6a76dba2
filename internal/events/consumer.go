package events

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Receive parameters: the longest long poll SQS allows and the most
// messages one call returns. A long poll answers as soon as a message
// arrives, so the wait costs no latency; the client's HTTP timeout must
// exceed it.
const (
	waitTimeSeconds = 20
	maxMessages     = 10
)

// Default backoff after a failed receive.
const (
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = time.Minute
)

// Run receives until ctx ends, sending batches to out; receive errors are
// retried with backoff, never a busy loop. Messages are deleted once
// handled (relevant, ignored or malformed: a malformed message is logged
// and counted, never fatal).
//
// A message is handled, and deleted, as soon as it is parsed: its event
// has joined a pending batch, or it has been counted as ignored or
// malformed. Deleting a malformed message rather than leaving it to
// reappear keeps a poison message from looping through every receive; the
// queue's redrive policy still catches anything this consumer never gets
// to delete (a crash between receipt and delete). Deleting a relevant one
// before its batch is sent means a batch pending when ctx ends, or when
// the process dies, is lost with its messages: watch runs a full scan at
// start, which covers it, and holding messages instead would tie the
// queue's visibility timeout to the debounce and to how long a rescan
// takes.
//
// Batches are sent in the order their windows close. While out is not
// read, receiving goes on and new events join the waiting batch of their
// account-region (its rescan has not started, so it will see them), so at
// most one batch per account-region waits here (out's own buffer may hold
// more; the watcher merges them). When ctx ends, Run abandons the
// pending batches, waits for its receiving goroutine and returns nil: a
// stop is not an error. It does not close out.
func (c *Consumer) Run(ctx context.Context, out chan<- Batch) error {
	if c.API == nil || c.QueueURL == "" {
		return errors.New("events: the consumer needs an SQS client and a queue URL")
	}
	received := make(chan []Event)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.receive(ctx, received)
	}()
	defer func() { <-done }()

	debounce := c.Debounce
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	type key struct{ account, region string }
	type pending struct {
		batch    Batch
		ids      map[string]bool
		deadline time.Time
	}
	batches := map[key]*pending{}
	for {
		now := c.now()
		var readyKey key
		var ready *pending
		var next time.Time
		for k, p := range batches {
			switch {
			case !now.Before(p.deadline):
				if ready == nil || p.deadline.Before(ready.deadline) {
					readyKey, ready = k, p
				}
			case next.IsZero() || p.deadline.Before(next):
				next = p.deadline
			}
		}
		var send chan<- Batch
		var batch Batch
		if ready != nil {
			send, batch = out, ready.batch
		}
		var tick <-chan time.Time
		if ready == nil && !next.IsZero() {
			tick = c.after(next.Sub(now))
		}
		select {
		case <-ctx.Done():
			if len(batches) > 0 {
				c.logger().Info("events: stopping; pending batches abandoned (the next scan covers them)", "batches", len(batches))
			}
			return nil
		case evs := <-received:
			now := c.now()
			for _, e := range evs {
				k := key{e.AccountID, e.Region}
				p := batches[k]
				if p == nil {
					// The window starts at the batch's first event.
					p = &pending{batch: Batch{AccountID: e.AccountID, Region: e.Region}, ids: map[string]bool{}, deadline: now.Add(debounce)}
					batches[k] = p
				}
				if e.ID != "" && p.ids[e.ID] {
					continue // SQS delivers at least once
				}
				if len(p.batch.Events) >= MaxBatchEvents {
					// Not remembered either: memory stays bounded, and a
					// duplicate beyond the cap is at worst counted twice.
					p.batch.Omitted++
					continue
				}
				p.ids[e.ID] = true
				p.batch.Events = append(p.batch.Events, e)
			}
		case send <- batch:
			delete(batches, readyKey)
		case <-tick:
		}
	}
}

// receive long-polls the queue until ctx ends, handing the relevant events
// of each receive to the batching loop.
func (c *Consumer) receive(ctx context.Context, to chan<- []Event) {
	log := c.logger()
	failures := 0
	for ctx.Err() == nil {
		resp, err := c.API.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:            aws.String(c.QueueURL),
			MaxNumberOfMessages: maxMessages,
			WaitTimeSeconds:     waitTimeSeconds,
		})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			c.update(func(n *Counters) { n.ReceiveErrors++ })
			wait := c.backoff(failures)
			log.Warn("events: receiving from the queue failed; retrying", "queue", c.QueueURL,
				"error", err, "consecutive_failures", failures, "retry_in", wait)
			if !c.sleep(ctx, wait) {
				return
			}
			continue
		}
		if failures > 0 {
			log.Info("events: receiving from the queue again", "queue", c.QueueURL, "after_failures", failures)
			failures = 0
		}
		if len(resp.Messages) == 0 {
			continue
		}
		evs, handled := c.handle(resp.Messages)
		c.deleteHandled(ctx, handled)
		if len(evs) > 0 {
			select {
			case to <- evs:
			case <-ctx.Done():
				return
			}
		}
	}
}

// handle parses and counts one receive's messages, returning the relevant
// events and the receipt handles of every message (each is handled).
func (c *Consumer) handle(msgs []types.Message) ([]Event, []types.DeleteMessageBatchRequestEntry) {
	log := c.logger()
	now := c.now()
	var evs []Event
	var handled []types.DeleteMessageBatchRequestEntry
	var relevant, ignored, malformed int
	var lag time.Duration
	var lagSet bool
	for _, m := range msgs {
		if m.ReceiptHandle != nil {
			// The entry ID only has to be unique within the request.
			handled = append(handled, types.DeleteMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(len(handled))), ReceiptHandle: m.ReceiptHandle,
			})
		}
		e, err := Parse([]byte(aws.ToString(m.Body)))
		switch {
		case errors.Is(err, ErrNotCloudTrail):
			ignored++
			log.Debug("events: ignored a message that is not a CloudTrail API call", "message_id", aws.ToString(m.MessageId), "reason", err)
		case err != nil:
			malformed++
			log.Warn("events: deleted a malformed message", "message_id", aws.ToString(m.MessageId), "error", err)
		case !e.Relevant():
			ignored++
			log.Debug("events: ignored an event that cannot change a verdict", "event", e.Name, "source", e.Source,
				"account", e.AccountID, "region", e.Region, "error_code", e.ErrorCode)
		default:
			relevant++
			if !e.Time.IsZero() {
				lag, lagSet = max(now.Sub(e.Time), 0), true
			}
			evs = append(evs, e)
		}
	}
	c.update(func(n *Counters) {
		n.Received += len(msgs)
		n.Relevant += relevant
		n.Ignored += ignored
		n.Malformed += malformed
		if lagSet {
			n.Lag = lag
		}
	})
	return evs, handled
}

// deleteHandled deletes one receive's messages (at most ten, one batch
// call). A message it fails to delete comes back after its visibility
// timeout and is handled again: at worst one more rescan.
func (c *Consumer) deleteHandled(ctx context.Context, entries []types.DeleteMessageBatchRequestEntry) {
	if len(entries) == 0 {
		return
	}
	resp, err := c.API.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.QueueURL), Entries: entries})
	switch {
	case err != nil && ctx.Err() == nil:
		c.logger().Warn("events: deleting handled messages failed; they will be received again", "queue", c.QueueURL, "messages", len(entries), "error", err)
	case err == nil && len(resp.Failed) > 0:
		f := resp.Failed[0]
		c.logger().Warn("events: some handled messages were not deleted; they will be received again", "queue", c.QueueURL,
			"messages", len(resp.Failed), "code", aws.ToString(f.Code), "message", aws.ToString(f.Message))
	}
}

// Counters returns the counters so far; safe for concurrent use.
func (c *Consumer) Counters() Counters {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counters
}

func (c *Consumer) update(f func(*Counters)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.counters)
}

func (c *Consumer) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Consumer) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// backoff is the wait after the n-th consecutive failed receive:
// exponential from BackoffMin, capped at BackoffMax, with equal jitter
// (half fixed, half random) so that many consumers do not retry in step
// and no wait collapses to nothing. It is the only retry when the SQS
// client makes one attempt per call (as sagefence watch configures it);
// with an SDK retryer, it is the consumer's patience on top.
func (c *Consumer) backoff(n int) time.Duration {
	lo, hi := c.BackoffMin, c.BackoffMax
	if lo <= 0 {
		lo = DefaultBackoffMin
	}
	if hi < lo {
		hi = max(DefaultBackoffMax, lo)
	}
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}

// after is time.After on the consumer's clock.
func (c *Consumer) after(d time.Duration) <-chan time.Time {
	if c.afterFunc != nil {
		return c.afterFunc(d)
	}
	return time.After(d)
}

// sleep waits for d or until ctx ends; it reports whether ctx is still
// live.
func (c *Consumer) sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-c.after(d):
		return true
	case <-ctx.Done():
		return false
	}
}
