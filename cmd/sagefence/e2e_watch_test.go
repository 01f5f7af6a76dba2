package main

// End-to-end tests of sagefence watch: the binary against moto, events
// delivered as EventBridge-shaped messages on a moto SQS queue, alerts
// received by a webhook on loopback, the HTTP API read as a client would.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/testenv"
)

// watchProc is a running sagefence watch.
type watchProc struct {
	t      testing.TB
	cmd    *exec.Cmd
	addr   string // host:port it listens on
	token  string
	stderr *testenv.SyncBuffer
	done   chan error
}

var listenRE = regexp.MustCompile(`"listen":"([0-9.]+:[0-9]+)"`)

// startWatch starts the binary's watch with args, listening on a free
// loopback port, and waits until it listens.
func startWatch(t testing.TB, endpoint string, args ...string) *watchProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"watch", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = testenv.Environ(endpoint)
	p := &watchProc{t: t, cmd: cmd, stderr: &testenv.SyncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = io.Discard, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("watch stderr:\n%s", tail(p.stderr.String(), 40))
		}
	})
	eventually(t, "watch to listen", time.Minute, func() bool {
		if m := listenRE.FindStringSubmatch(p.stderr.String()); m != nil {
			p.addr = m[1]
			return true
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("watch exited before listening: %v\n%s", err, p.stderr.String())
		default:
		}
		return false
	})
	return p
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// get fetches a path with the process's token (if any).
func (p *watchProc) get(path string) (int, string) {
	p.t.Helper()
	return p.getWith(path, p.token)
}

func (p *watchProc) getWith(path, token string) (int, string) {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+path, nil)
	if err != nil {
		p.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// stop sends SIGTERM and returns the exit code.
func (p *watchProc) stop() int {
	p.t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err == nil {
			return 0
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		p.t.Fatalf("watch: %v", err)
	case <-time.After(30 * time.Second):
		p.t.Fatal("watch did not stop within 30s of SIGTERM")
	}
	return -1
}

// metrics reads /metrics with the Prometheus text parser.
func (p *watchProc) metrics() map[string]*dto.MetricFamily {
	p.t.Helper()
	code, body := p.get("/metrics")
	if code != http.StatusOK {
		p.t.Fatalf("/metrics: %d %s", code, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		p.t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return mfs
}

// metric sums the series of a family whose labels include labels.
func metric(mfs map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	var sum float64
	mf := mfs[name]
	if mf == nil {
		return -1
	}
	for _, m := range mf.GetMetric() {
		ok := true
		for k, v := range labels {
			found := false
			for _, lp := range m.GetLabel() {
				found = found || (lp.GetName() == k && lp.GetValue() == v)
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

func eventually(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(25 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
	}
}

// receiver is a webhook endpoint on loopback that keeps what it gets.
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []map[string]any
	posts  int
	status int // answer with this status (0: 200)
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.posts++
		if r.status != 0 {
			w.WriteHeader(r.status)
			return
		}
		var a map[string]any
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &a) != nil {
			t.Errorf("webhook got %s %q %q", req.Method, req.Header.Get("Content-Type"), b)
		}
		r.alerts = append(r.alerts, a)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.alerts...)
}

func (r *receiver) postCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.posts
}

func (r *receiver) setStatus(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = code
}

// alertsFor are the alerts about one notebook.
func alertsFor(alerts []map[string]any, name string) []map[string]any {
	var out []map[string]any
	for _, a := range alerts {
		if a["resource"] == name {
			out = append(out, a)
		}
	}
	return out
}

// queue is a moto SQS queue events are sent to.
type queue struct {
	c   *sqs.Client
	url string
}

func newQueue(t testing.TB, motoURL string) queue {
	t.Helper()
	cfg := testenv.Config(motoURL)
	cfg.Region = "us-east-1"
	c := sqs.NewFromConfig(cfg)
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("sagefence-events")})
	if err != nil {
		t.Fatal(err)
	}
	return queue{c: c, url: aws.ToString(out.QueueUrl)}
}

func (q queue) send(t testing.TB, body string) {
	t.Helper()
	if _, err := q.c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(body)}); err != nil {
		t.Fatal(err)
	}
}

// cloudTrailEvent is an EventBridge "AWS API Call via CloudTrail" event
// as EventBridge delivers it to an SQS target.
func cloudTrailEvent(source, name, id, caller string) string {
	b, _ := json.Marshal(map[string]any{
		"version": "0", "id": "eb-" + id, "detail-type": "AWS API Call via CloudTrail",
		"source": "aws." + strings.TrimSuffix(source, ".amazonaws.com"), "account": testenv.AccountID,
		"time": time.Now().UTC().Format(time.RFC3339), "region": "us-east-1", "resources": []string{},
		"detail": map[string]any{
			"eventVersion": "1.09", "eventSource": source, "eventName": name, "eventID": id,
			"awsRegion": "us-east-1", "eventTime": time.Now().UTC().Format(time.RFC3339),
			"recipientAccountId": testenv.AccountID, "eventType": "AwsApiCall", "managementEvent": true,
			"userIdentity": map[string]any{"type": "IAMUser", "arn": caller, "accountId": testenv.AccountID},
		},
	})
	return string(b)
}

const alice = "arn:aws:iam::" + testenv.AccountID + ":user/alice"

// TestE2EWatch is the end to end: a baseline with no alerts; a
// NAT route added under a PASS notebook and its CreateRoute event give
// exactly one FAIL alert naming the event and its caller; a new notebook
// with direct internet access is alerted; malformed and unrelated messages
// leave it healthy and are counted; /metrics parses; SIGTERM exits 0; a
// restart on the same database serves the earlier transitions.
func TestE2EWatch(t *testing.T) {
	m := moto.ForTest(t)
	ctx := context.Background()
	c := clientsFor(m.URL(), "us-east-1")
	str := must[string](t)
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	open := str(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "open"}))
	str(testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: "quiet-nb", DirectInternetAccess: "Disabled", SubnetID: net.IsolatedSubnetID, SecurityGroupIDs: []string{open}}))
	str(testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: "steady-nb", DirectInternetAccess: "Disabled", SubnetID: net.PrivateSubnetID, SecurityGroupIDs: []string{open}}))
	q := newQueue(t, m.URL())
	hook := newReceiver(t)
	db := filepath.Join(t.TempDir(), "watch.db")

	w := startWatch(t, m.URL(), "--regions", "us-east-1", "--db", db, "--queue-url", q.url, "--debounce", "200ms",
		"--alert-webhook", hook.srv.URL, "--interval", "1h")
	eventually(t, "/readyz", time.Minute, func() bool { code, _ := w.get("/readyz"); return code == http.StatusOK })
	if code, _ := w.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d", code)
	}
	var rep finding.Report
	code, body := w.get("/api/v1/results")
	if code != http.StatusOK || json.Unmarshal([]byte(body), &rep) != nil {
		t.Fatalf("/api/v1/results = %d %.200s", code, body)
	}
	statuses := map[string]finding.Status{}
	for _, r := range rep.Results {
		statuses[r.Resource.Name] = r.Status
	}
	if statuses["quiet-nb"] != finding.StatusPass || statuses["steady-nb"] != finding.StatusFail {
		t.Fatalf("baseline statuses %v, want quiet-nb PASS and steady-nb FAIL", statuses)
	}
	time.Sleep(300 * time.Millisecond)
	if got := hook.got(); len(got) != 0 {
		t.Errorf("the baseline scan alerted: %v", got)
	}

	// Unrelated and malformed messages first: counted, deleted, harmless.
	// An EventBridge event of another kind, and a CloudTrail event that
	// changes no verdict, are ignored; what is not an event is malformed.
	q.send(t, "not json at all")
	q.send(t, `{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`)
	q.send(t, cloudTrailEvent("ec2.amazonaws.com", "RunInstances", "ev-unrelated", alice))

	// A route that opens quiet-nb's path.
	if err := testenv.AddRoute(ctx, c.ec2, net.IsolatedRouteTableID, "0.0.0.0/0", net.NATGatewayID); err != nil {
		t.Fatal(err)
	}
	q.send(t, cloudTrailEvent("ec2.amazonaws.com", "CreateRoute", "ev-route-1", alice))
	eventually(t, "the alert for quiet-nb", time.Minute, func() bool { return len(alertsFor(hook.got(), "quiet-nb")) > 0 })

	// A notebook with direct internet access, created now.
	str(testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: "direct-nb", DirectInternetAccess: "Enabled", SubnetID: net.PublicSubnetID, SecurityGroupIDs: []string{open}}))
	q.send(t, cloudTrailEvent("sagemaker.amazonaws.com", "CreateNotebookInstance", "ev-nb-1", alice))
	eventually(t, "the alert for direct-nb", time.Minute, func() bool { return len(alertsFor(hook.got(), "direct-nb")) > 0 })
	eventually(t, "the queue drained", 30*time.Second, func() bool {
		mfs := w.metrics()
		return metric(mfs, "sagefence_events_total", map[string]string{"outcome": "malformed"}) >= 1 &&
			metric(mfs, "sagefence_events_total", map[string]string{"outcome": "ignored"}) >= 2
	})
	time.Sleep(500 * time.Millisecond) // any duplicate alert would have come by now

	quiet := alertsFor(hook.got(), "quiet-nb")
	if len(quiet) != 1 {
		t.Fatalf("quiet-nb alerts: %v, want exactly one", quiet)
	}
	a := quiet[0]
	cause, _ := a["cause"].(map[string]any)
	if a["from"] != "PASS" || a["to"] != "FAIL" || a["account_id"] != testenv.AccountID || a["region"] != "us-east-1" ||
		a["internet_path"] == "" || a["internet_path"] == "none" || cause["event_name"] != "CreateRoute" ||
		cause["event_id"] != "ev-route-1" || cause["caller"] != alice {
		t.Errorf("quiet-nb alert %v: want PASS -> FAIL with an internet path, caused by CreateRoute ev-route-1 by alice", a)
	}
	if text, _ := a["text"].(string); !strings.Contains(text, "quiet-nb") || !strings.Contains(text, "CreateRoute") {
		t.Errorf("alert text %q does not name the notebook and the event", text)
	}
	direct := alertsFor(hook.got(), "direct-nb")
	if len(direct) != 1 || direct[0]["from"] != "" || direct[0]["to"] != "FAIL" || direct[0]["internet_path"] != "direct" {
		t.Errorf("direct-nb alerts %v: want one new -> FAIL, internet_path direct", direct)
	}
	if got := alertsFor(hook.got(), "steady-nb"); len(got) != 0 {
		t.Errorf("steady-nb did not change but was alerted: %v", got)
	}

	if code, _ := w.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after malformed messages = %d", code)
	}
	mfs := w.metrics()
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"sagefence_notebooks", map[string]string{"status": "FAIL", "account": testenv.AccountID, "region": "us-east-1"}, 3},
		{"sagefence_notebooks", map[string]string{"status": "PASS"}, 0},
		{"sagefence_events_total", map[string]string{"outcome": "relevant"}, 2},
		{"sagefence_events_total", map[string]string{"outcome": "ignored"}, 2},
		{"sagefence_events_total", map[string]string{"outcome": "malformed"}, 1},
		{"sagefence_alerts_total", map[string]string{"outcome": "sent"}, 2},
	} {
		if got := metric(mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"sagefence_scan_duration_seconds", "sagefence_api_calls_total", "sagefence_api_throttles_total",
		"sagefence_event_lag_seconds", "sagefence_last_successful_scan_timestamp_seconds"} {
		if mfs[name] == nil {
			t.Errorf("/metrics has no %s", name)
		}
	}
	if got := metric(mfs, "sagefence_scans_total", map[string]string{"kind": "rescan", "outcome": "complete"}); got < 2 {
		t.Errorf("%v complete rescans, want at least 2", got)
	}

	if code := w.stop(); code != 0 {
		t.Fatalf("SIGTERM: exit %d, want 0", code)
	}

	// A restart on the same database serves the earlier transitions at once.
	w2 := startWatch(t, m.URL(), "--regions", "us-east-1", "--db", db, "--interval", "1h")
	code, body = w2.get("/api/v1/history?account=" + testenv.AccountID + "&region=us-east-1&name=quiet-nb")
	var hist struct {
		Transitions []struct {
			From, To string
			Cause    map[string]any
		} `json:"transitions"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &hist) != nil {
		t.Fatalf("history after restart: %d %.300s", code, body)
	}
	var seen []string
	for _, tr := range hist.Transitions {
		seen = append(seen, fmt.Sprintf("%s->%s (%v)", tr.From, tr.To, tr.Cause["event_name"]))
	}
	if want := []string{"->PASS (<nil>)", "PASS->FAIL (CreateRoute)"}; strings.Join(seen, ", ") != strings.Join(want, ", ") {
		t.Errorf("quiet-nb history after restart: %v, want %v", seen, want)
	}
	if code := w2.stop(); code != 0 {
		t.Errorf("second SIGTERM: exit %d", code)
	}
}

// TestE2EWatchHTTPSecurity: a listen address beyond this host needs a
// token file (exit 2, one line, before AWS is called); with a token, every
// path but /healthz and /readyz needs it.
func TestE2EWatchHTTPSecurity(t *testing.T) {
	m := moto.ForTest(t)
	proxy := testenv.NewFaultProxy(t, m.URL())
	code, stdout, stderr := runCLI(t, proxy.URL(), nil, "watch", "--regions", "us-east-1", "--listen", "0.0.0.0:8484")
	if code != 2 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "--token-file") {
		t.Errorf("non-loopback listen without a token: exit %d, stdout %q, stderr %q; want 2 and one line naming --token-file", code, stdout, stderr)
	}
	if n := proxy.Calls("*"); n != 0 {
		t.Errorf("%d AWS calls before the refusal", n)
	}

	tokenFile := filepath.Join(t.TempDir(), "token")
	token := "s3cr3t-token-0123456789"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startWatch(t, m.URL(), "--regions", "us-east-1", "--db", filepath.Join(t.TempDir(), "w.db"), "--token-file", tokenFile)
	eventually(t, "/readyz", time.Minute, func() bool { code, _ := w.getWith("/readyz", ""); return code == http.StatusOK })
	if code, _ := w.getWith("/healthz", ""); code != http.StatusOK {
		t.Errorf("/healthz without a token = %d, want 200", code)
	}
	for _, path := range []string{"/", "/metrics", "/api/v1/results", "/api/v1/history?account=" + testenv.AccountID + "&region=us-east-1&name=x"} {
		if code, _ := w.getWith(path, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a token = %d, want 401", path, code)
		}
		if code, _ := w.getWith(path, "wrong-token-0123456789"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token = %d, want 401", path, code)
		}
		if code, _ := w.getWith(path, token); code != http.StatusOK {
			t.Errorf("%s with the token = %d, want 200", path, code)
		}
	}
	if code := w.stop(); code != 0 {
		t.Errorf("SIGTERM: exit %d", code)
	}
}

// TestE2EWatchFaults: queue receive errors and throttling are retried with
// backoff (no busy loop) and counted; a webhook that is down is retried
// and counted while scanning goes on; a rescan that cannot read a notebook
// records ERROR, never a transition to PASS.
func TestE2EWatchFaults(t *testing.T) {
	m := moto.ForTest(t)
	ctx := context.Background()
	c := clientsFor(m.URL(), "us-east-1")
	str := must[string](t)
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	open := str(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "open"}))
	str(testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: "nat-nb", DirectInternetAccess: "Disabled", SubnetID: net.PrivateSubnetID, SecurityGroupIDs: []string{open}}))
	q := newQueue(t, m.URL())
	hook := newReceiver(t)
	proxy := testenv.NewFaultProxy(t, m.URL())

	w := startWatch(t, proxy.URL(), "--regions", "us-east-1", "--db", filepath.Join(t.TempDir(), "w.db"), "--queue-url", q.url,
		"--debounce", "100ms", "--alert-webhook", hook.srv.URL, "--interval", "1h")
	eventually(t, "/readyz", time.Minute, func() bool { code, _ := w.get("/readyz"); return code == http.StatusOK })

	// The queue fails: every receive answers 500, then is throttled. A
	// message ends the long poll in flight, so that the next receives meet
	// the fault.
	for i, fault := range []testenv.Fault{testenv.ServerError(), testenv.Throttle()} {
		errorsBefore := metric(w.metrics(), "sagefence_event_receive_errors_total", nil)
		proxy.Add(testenv.Rule{Op: "sqs:ReceiveMessage", Fault: fault})
		q.send(t, cloudTrailEvent("ec2.amazonaws.com", "DescribeVpcs", fmt.Sprintf("ev-read-%d", i), alice))
		eventually(t, "a failed receive counted", 30*time.Second, func() bool {
			return metric(w.metrics(), "sagefence_event_receive_errors_total", nil) > errorsBefore
		})
		before := proxy.Calls("sqs:ReceiveMessage")
		time.Sleep(4 * time.Second)
		n := proxy.Calls("sqs:ReceiveMessage") - before
		t.Logf("%d receive attempts in 4s while the queue fails", n)
		if n > 20 {
			t.Errorf("%d receive attempts in 4s while the queue fails: a busy loop", n)
		}
		if n == 0 {
			t.Error("no receive attempts in 4s while the queue fails: the consumer gave up")
		}
		if code, _ := w.get("/healthz"); code != http.StatusOK {
			t.Errorf("/healthz while the queue fails = %d", code)
		}
		// Back: a message is received again (and ignored), after the
		// backoff in progress.
		proxy.ClearRules()
		ignored := metric(w.metrics(), "sagefence_events_total", map[string]string{"outcome": "ignored"})
		q.send(t, cloudTrailEvent("ec2.amazonaws.com", "DescribeVpcs", fmt.Sprintf("ev-back-read-%d", i), alice))
		eventually(t, "the queue read again", time.Minute, func() bool {
			return metric(w.metrics(), "sagefence_events_total", map[string]string{"outcome": "ignored"}) > ignored
		})
	}

	// The queue is back; the notebook cannot be read (the rescan fails
	// midway, after the listing): ERROR, not PASS.
	proxy.Add(testenv.Rule{Op: "sagemaker:DescribeNotebookInstance", Fault: testenv.AccessDenied()})
	q.send(t, cloudTrailEvent("ec2.amazonaws.com", "DeleteRoute", "ev-del-1", alice))
	eventually(t, "the alert for nat-nb", time.Minute, func() bool { return len(alertsFor(hook.got(), "nat-nb")) > 0 })
	got := alertsFor(hook.got(), "nat-nb")
	if len(got) != 1 || got[0]["from"] != "FAIL" || got[0]["to"] != "ERROR" {
		t.Errorf("nat-nb alerts %v: want one FAIL -> ERROR", got)
	}
	proxy.ClearRules()

	// The webhook is down: the alert is retried, the failure counted, and
	// the next rescan still runs.
	hook.setStatus(http.StatusServiceUnavailable)
	posts := hook.postCount()
	rescans := metric(w.metrics(), "sagefence_scans_total", map[string]string{"kind": "rescan"})
	q.send(t, cloudTrailEvent("ec2.amazonaws.com", "CreateRoute", "ev-back-1", alice)) // nat-nb reads again: ERROR -> FAIL
	eventually(t, "a retried delivery", time.Minute, func() bool { return hook.postCount() >= posts+2 })
	q.send(t, cloudTrailEvent("ec2.amazonaws.com", "ReplaceRoute", "ev-back-2", alice))
	eventually(t, "the next rescan while alerts fail", time.Minute, func() bool {
		return metric(w.metrics(), "sagefence_scans_total", map[string]string{"kind": "rescan"}) >= rescans+2
	})
	eventually(t, "the failed alert counted", 2*time.Minute, func() bool {
		return metric(w.metrics(), "sagefence_alerts_total", map[string]string{"outcome": "failed"}) >= 1
	})
	if code, _ := w.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with the webhook down = %d", code)
	}
	if code := w.stop(); code != 0 {
		t.Errorf("SIGTERM: exit %d", code)
	}
}

// TestE2EWatchPushesToSecurityHub: with --push-securityhub, each recorded
// scan's findings reach Security Hub, and a rescan updates the finding of
// the notebook that changed.
func TestE2EWatchPushesToSecurityHub(t *testing.T) {
	m := moto.ForTest(t)
	ctx := context.Background()
	c := clientsFor(m.URL(), "us-east-1")
	str := must[string](t)
	net := must[testenv.Network](t)(testenv.CreateNetwork(ctx, c.ec2, "10.0.0.0/16"))
	open := str(testenv.CreateSecurityGroup(ctx, c.ec2, net.VPCID, testenv.SecurityGroup{Name: "open"}))
	str(testenv.CreateNotebook(ctx, c.sm, testenv.Notebook{Name: "quiet-nb", DirectInternetAccess: "Disabled", SubnetID: net.IsolatedSubnetID, SecurityGroupIDs: []string{open}}))
	q := newQueue(t, m.URL())
	proxy := testenv.NewFaultProxy(t, m.URL())
	proxy.Add(testenv.SecurityHubWorkflow(t, m.URL())...)
	hub := securityhub.NewFromConfig(testenv.Config(m.URL()))
	compliance := func() string {
		out, err := hub.GetFindings(ctx, &securityhub.GetFindingsInput{})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Findings {
			if aws.ToString(f.Resources[0].Details.AwsSageMakerNotebookInstance.NotebookInstanceName) == "quiet-nb" && f.Compliance != nil {
				return string(f.Compliance.Status)
			}
		}
		return ""
	}

	w := startWatch(t, proxy.URL(), "--regions", "us-east-1", "--db", filepath.Join(t.TempDir(), "w.db"), "--queue-url", q.url,
		"--debounce", "0", "--push-securityhub", "--interval", "1h")
	eventually(t, "quiet-nb's finding PASSED", time.Minute, func() bool { return compliance() == "PASSED" })
	if err := testenv.AddRoute(ctx, c.ec2, net.IsolatedRouteTableID, "0.0.0.0/0", net.NATGatewayID); err != nil {
		t.Fatal(err)
	}
	q.send(t, cloudTrailEvent("ec2.amazonaws.com", "CreateRoute", "ev-hub-1", alice))
	eventually(t, "quiet-nb's finding FAILED", time.Minute, func() bool { return compliance() == "FAILED" })
	if got := metric(w.metrics(), "sagefence_securityhub_push_failures_total", nil); got != 0 {
		t.Errorf("%v failed pushes", got)
	}
	if code := w.stop(); code != 0 {
		t.Errorf("SIGTERM: exit %d", code)
	}
}
