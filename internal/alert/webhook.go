package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultWebhookTimeout bounds one webhook request when the caller's
// client sets no timeout of its own.
const DefaultWebhookTimeout = 10 * time.Second

// CheckWebhookURL reports whether raw can be used as a webhook: an
// absolute http or https URL with a host. Its error never repeats the URL,
// whose path or query may be a secret (Slack's webhook URLs are).
func CheckWebhookURL(raw string) error {
	_, err := parseWebhookURL(raw)
	return err
}

func parseWebhookURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the whole URL; keep only why.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("webhook URL is not a URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("webhook URL must start with https:// (or http://)")
	}
	if u.Host == "" {
		return nil, errors.New("webhook URL has no host")
	}
	return u, nil
}

// NewWebhook posts each alert as JSON to url. A nil client is one with a
// 10 s timeout; a client without a timeout gets 10 s per request too.
// Redirects are not followed: Go's client would turn the POST into a GET
// on a 301 or 302, and the alert would be "delivered" nowhere. An invalid
// url gives a sink whose every Send fails permanently (CheckWebhookURL
// lets the CLI refuse it up front).
func NewWebhook(url string, client *http.Client) Sink {
	u, err := parseWebhookURL(url)
	if err != nil {
		return &webhook{name: "webhook (invalid URL)", err: Permanent(err)}
	}
	c := &http.Client{Timeout: DefaultWebhookTimeout}
	if client != nil {
		cc := *client
		c = &cc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &webhook{
		url:    u.String(),
		shown:  u.Scheme + "://" + u.Host + "/[redacted]",
		name:   "webhook " + u.Host,
		client: c,
	}
}

type webhook struct {
	url    string
	shown  string // url as errors may show it
	name   string
	client *http.Client
	err    error // why the URL cannot be used
}

func (w *webhook) Name() string { return w.name }

// Send posts a. 2xx is delivered; 429 and 5xx, timeouts and network
// errors are retryable; any other status is permanent.
func (w *webhook) Send(ctx context.Context, a Alert) error {
	if w.err != nil {
		return w.err
	}
	body, err := json.Marshal(a)
	if err != nil {
		return Permanent(fmt.Errorf("%s: encode alert: %w", w.name, err))
	}
	if w.client.Timeout <= 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultWebhookTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("%s: %w", w.name, w.redact(err)))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sagefence-alert")
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", w.name, w.redact(err))
	}
	defer resp.Body.Close()
	// A little of the body says why (Slack answers "invalid_payload",
	// "no_service", ...); the rest is read so the connection is reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return nil
	}
	serr := &statusError{sink: w.name, code: resp.StatusCode, body: oneLine(strings.TrimSpace(string(snippet)))}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		serr.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return serr
	default:
		return Permanent(serr)
	}
}

// redact removes the URL from an error of the HTTP client, which quotes
// it whole: the path and query of a webhook URL may be its secret, and
// errors end up in logs.
func (w *webhook) redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = w.shown
	}
	return err
}

// statusError is a webhook's answer other than 2xx.
type statusError struct {
	sink       string
	code       int
	body       string
	retryAfter time.Duration
}

func (e *statusError) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.sink, e.code)
	if e.code >= 300 && e.code <= 399 {
		s += " (redirects are not followed: configure the URL it redirects to)"
	}
	if e.body != "" {
		s += ": " + e.body
	}
	return s
}

// RetryAfter is the delay the endpoint asked for, or 0.
func (e *statusError) RetryAfter() time.Duration { return e.retryAfter }

// parseRetryAfter reads an HTTP Retry-After header: seconds or a date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil {
		if n <= 0 {
			return 0
		}
		// The Dispatcher caps every delay at MaxBackoff; this only keeps
		// the multiplication from overflowing.
		return time.Duration(min(n, 24*3600)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
