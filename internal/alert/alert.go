// Package alert delivers notebook status transitions (package history) to
// people: a JSON POST to webhooks (Slack-compatible, with a human text
// line) and an SNS publish of the same JSON. Delivery is asynchronous,
// retried with backoff, logged and counted; it never blocks scanning.
package alert

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/sagefence/sagefence/internal/history"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// Alert is one notebook's transition, as sent. Its JSON field names are a
// contract (docs/watch.md).
type Alert struct {
	At           time.Time     `json:"at"`
	AccountID    string        `json:"account_id"`
	Region       string        `json:"region"`
	Resource     string        `json:"resource"`
	ARN          string        `json:"arn,omitempty"`
	From         string        `json:"from"`
	To           string        `json:"to"`
	InternetPath string        `json:"internet_path"`
	Cause        history.Cause `json:"cause"`
	// Text is one line for people (Slack renders it).
	Text string `json:"text"`
}

// FromTransition builds the alert of a transition, with its text. The
// fields are the transition's values unchanged; only Text is escaped for
// Slack (see slackText).
func FromTransition(t history.Transition) Alert {
	a := Alert{
		At:           t.At,
		AccountID:    t.AccountID,
		Region:       t.Region,
		Resource:     t.Name,
		ARN:          t.ARN,
		From:         t.From,
		To:           t.To,
		InternetPath: t.InternetPath,
		Cause:        t.Cause,
	}
	a.Text = a.text()
	return a
}

// text is the alert's line for people, e.g.
//
//	FAIL: notebook fraud-model-dev (123456789012 us-east-1) is now FAIL (was PASS), internet path nat; cause: CreateRoute by arn:aws:iam::123:user/alice (event 0a1b…)
//
// Every value in it comes from AWS and is escaped as data; the template
// itself uses no mrkdwn (no *bold*, no `code`), so the line reads the same
// raw in a terminal, an email or a log as rendered in Slack.
func (a Alert) text() string {
	s := a.headline(slackText)
	if a.InternetPath != "" && a.To != history.StatusDeleted {
		s += ", internet path " + slackText(a.InternetPath)
	}
	if a.Cause.Kind != "" {
		s += "; cause: " + slackText(a.Cause.String())
	}
	return s
}

// headline is the start of the text: what became of which notebook (or
// Studio domain or user profile, by its stored name), with
// each value passed through esc.
func (a Alert) headline(esc func(string) string) string {
	name := esc(orUnknown(a.Resource))
	where := " (" + esc(orUnknown(a.AccountID)) + " " + esc(orUnknown(a.Region)) + ")"
	to := esc(orUnknown(a.To))
	kind := "notebook"
	switch {
	case strings.HasPrefix(a.Resource, reportfmt.DomainPrefix):
		kind = "Studio domain"
	case strings.HasPrefix(a.Resource, reportfmt.UserProfilePrefix):
		kind = "Studio user profile"
	}
	switch {
	case a.To == history.StatusDeleted:
		s := "DELETED: " + kind + " " + name + where + " was deleted"
		if a.From != "" {
			s += " (was " + esc(a.From) + ")"
		}
		return s
	case a.From == "":
		return to + ": new " + kind + " " + name + where + " is " + to
	default:
		return to + ": " + kind + " " + name + where + " is now " + to + " (was " + esc(a.From) + ")"
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// slackText makes an AWS-sourced value safe as data in Slack's mrkdwn and
// keeps the text on one line. Slack asks for exactly three escapes: &, <
// and > (its control sequences, <!channel> and <url|label>, need the angle
// brackets). Line breaks and other control characters would break the one
// line, and bidirectional overrides could make the line read differently
// from what it says; each becomes U+FFFD, as does invalid UTF-8.
func slackText(s string) string {
	s = oneLine(s)
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	return slackEscaper.Replace(s)
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// oneLine replaces invalid UTF-8, control characters, Unicode line and
// paragraph separators and bidirectional formatting characters with
// U+FFFD.
func oneLine(s string) string {
	clean := utf8.ValidString(s)
	if clean {
		for _, r := range s {
			if unsafeRune(r) {
				clean = false
				break
			}
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.ToValidUTF8(s, string(utf8.RuneError)) {
		if unsafeRune(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u2028' || r == '\u2029': // line and paragraph separators
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069', r == '\u200e', r == '\u200f':
		return true // bidirectional embeddings, overrides, isolates and marks
	}
	return false
}

// Sink delivers one alert.
type Sink interface {
	// Name identifies the sink in logs and metrics ("webhook https://…",
	// "sns arn:…"), without credentials.
	Name() string
	// Send delivers a once. It must return when ctx ends: the Dispatcher
	// cancels ctx to abandon what is left when it is closed.
	Send(ctx context.Context, a Alert) error
}

// Permanent marks err as not worth retrying: the Dispatcher gives up on
// the alert at once (e.g. a webhook answering 404). Errors not so marked
// are retried up to Options.Attempts.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was marked by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// retryAfter is the delay a sink's endpoint asked for before the next
// attempt (HTTP Retry-After), if it said.
func retryAfter(err error) (time.Duration, bool) {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) && ra.RetryAfter() > 0 {
		return ra.RetryAfter(), true
	}
	return 0, false
}

// ErrNotImplemented marked the skeleton's functions; nothing returns it
// now. It stays so that code written against the skeleton still compiles.
var ErrNotImplemented = errors.New("alert: not implemented")
