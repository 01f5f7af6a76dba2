package testenv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Call is one AWS API request as the FaultProxy understands it.
type Call struct {
	// Service is the SigV4 signing name from the Authorization header's
	// credential scope: "ec2", "sagemaker", "sts", ...
	Service string
	// Region is the signing region from the same scope.
	Region string
	// Operation is the API operation: the query protocol's Action, the part
	// of X-Amz-Target after the dot for JSON protocols, the operation of an
	// RPCv2 path, or "METHOD /path" for REST protocols, whose operation is
	// only known to the service model.
	Operation string
	// Params are the request's parameters: query-protocol form fields as
	// sent ("Filter.1.Name"), or the top-level fields of a JSON body (strings
	// as is, anything else as JSON text).
	Params map[string]string
	Header http.Header
	Body   []byte
}

// Op is the call's "service:Operation", the key rules and counters use.
func (c Call) Op() string { return c.Service + ":" + c.Operation }

// protocol is how a service encodes requests and errors.
type protocol int

const (
	protoEC2      protocol = iota // EC2 query: <Response><Errors><Error>
	protoQuery                    // AWS query (STS, IAM): <ErrorResponse><Error>
	protoJSON                     // JSON 1.0/1.1 with X-Amz-Target
	protoRESTJSON                 // REST-JSON and anything else
	protoRESTXML                  // REST-XML (S3): <Error>
)

var credentialScope = regexp.MustCompile(`Credential=[^/,]+/\d{8}/([^/,]+)/([^/,]+)/aws4_request`)

// ParseCall reads what an AWS SDK request is about. It consumes r.Body and
// returns it in Call.Body; the caller must restore it before forwarding.
func ParseCall(r *http.Request) (Call, error) {
	c, _, err := parseCall(r)
	return c, err
}

func parseCall(r *http.Request) (Call, protocol, error) {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return Call{}, 0, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	c := Call{Header: r.Header, Body: body, Params: map[string]string{}}
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		c.Region, c.Service = m[1], m[2]
	}
	ctype := r.Header.Get("Content-Type")
	target := r.Header.Get("X-Amz-Target")
	switch {
	case target != "":
		_, op, _ := strings.Cut(target, ".")
		c.Operation = op
		jsonParams(body, c.Params)
		if c.Service == "" {
			prefix, _, _ := strings.Cut(target, ".")
			c.Service = strings.ToLower(prefix)
		}
		return c, protoJSON, nil
	case strings.HasPrefix(ctype, "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return c, protoQuery, fmt.Errorf("parse query-protocol body: %w", err)
		}
		for k, v := range form {
			c.Params[k] = v[0]
		}
		c.Operation = form.Get("Action")
		if c.Service == "ec2" {
			return c, protoEC2, nil
		}
		return c, protoQuery, nil
	case strings.HasPrefix(r.URL.Path, "/service/") && strings.Contains(r.URL.Path, "/operation/"):
		// Smithy RPCv2: /service/{Service}/operation/{Operation}.
		_, op, _ := strings.Cut(r.URL.Path, "/operation/")
		c.Operation = op
		return c, protoJSON, nil
	}
	c.Operation = r.Method + " " + r.URL.Path
	for k, v := range r.URL.Query() {
		c.Params[k] = v[0]
	}
	if c.Service == "s3" {
		return c, protoRESTXML, nil
	}
	jsonParams(body, c.Params)
	return c, protoRESTJSON, nil
}

func jsonParams(body []byte, into map[string]string) {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return
	}
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			into[k] = s
		} else {
			into[k] = string(raw)
		}
	}
}

// ParamEquals is a Rule.When predicate: the call has parameter name with
// exactly value (e.g. ParamEquals("NotebookInstanceName", "nb-1")).
func ParamEquals(name, value string) func(Call) bool {
	return func(c Call) bool { v, ok := c.Params[name]; return ok && v == value }
}

// Fault is what the proxy does to a call a rule selects. Build one with
// AccessDenied, Throttle, ServerError, APIError, Slow or Drop, or fill it
// in: Delay runs first, then Answer, then Rewrite and RewriteResponse,
// then Drop or Lost, then an error response when Status is set, else the
// call is forwarded (late).
type Fault struct {
	// Status is the HTTP status of the error response; 0 forwards the call.
	Status int
	// Code and Message form an AWS-shaped error body in the service's
	// protocol. An empty Code with a Status sends that status with an empty
	// body.
	Code    string
	Message string
	// Delay holds the call this long before acting (slowness). It ends
	// early when the client gives up.
	Delay time.Duration
	// Drop closes the connection without answering.
	Drop bool
	// Lost forwards the call first, so that the service acts on it, and
	// then drops the connection: the client cannot tell that it worked.
	Lost bool
	// Answer, when set, answers the call in the proxy with the HTTP status
	// and body it returns, in the service's protocol (JSON, or XML for EC2,
	// the query services and S3): the emulation of an operation moto lacks.
	Answer func(Call) (status int, body []byte)
	// Rewrite, when set, forwards the call with the body it returns: the
	// emulation of a service behaviour moto does not have.
	Rewrite func(Call) []byte
	// RewriteResponse, when set, forwards the call (after Rewrite, if
	// any) and hands the client the body it returns in place of the
	// service's, with the service's status and headers: a narrow fix of
	// an answer moto gets wrong. It sees every answer, errors included.
	RewriteResponse func(c Call, status int, body []byte) []byte

	// kind picks the protocol's own code and status for a denial or a
	// throttle, which differ between services.
	kind faultKind
}

type faultKind int

const (
	kindPlain faultKind = iota
	kindDenied
	kindThrottle
	kindServer
)

// AccessDenied answers the way each service denies an IAM action:
// UnauthorizedOperation (403) for EC2, AccessDenied (403) for query
// services such as STS and IAM and for S3, AccessDeniedException (400 for
// JSON services such as SageMaker, 403 for REST-JSON) otherwise.
func AccessDenied() Fault { return Fault{kind: kindDenied} }

// Throttle answers the way each service throttles: RequestLimitExceeded
// (503) for EC2, Throttling (400) for query services, SlowDown (503) for
// S3, ThrottlingException (400) otherwise.
func Throttle() Fault { return Fault{kind: kindThrottle} }

// ServerError answers HTTP 500 with the protocol's internal-error code
// (InternalError for EC2 and S3, InternalFailure otherwise).
func ServerError() Fault { return Fault{kind: kindServer} }

// APIError answers status with an AWS-shaped error of code and message.
func APIError(status int, code, message string) Fault {
	return Fault{Status: status, Code: code, Message: message}
}

// Slow forwards the call after d.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// Drop closes the connection without answering.
func Drop() Fault { return Fault{Drop: true} }

// LoseResponse forwards the call, so that the service acts on it, and then
// closes the connection without answering, as when a response is lost on
// the way back. An SDK retries such a call: a create that is not
// idempotent then runs twice.
func LoseResponse() Fault { return Fault{Lost: true} }

// resolve fills in the protocol-specific status and code of a denial,
// throttle or server error.
func (f Fault) resolve(p protocol, c Call) Fault {
	set := func(status int, code, msg string) {
		if f.Status == 0 {
			f.Status = status
		}
		if f.Code == "" {
			f.Code = code
		}
		if f.Message == "" {
			f.Message = msg
		}
	}
	switch f.kind {
	case kindDenied:
		msg := fmt.Sprintf("User: arn:aws:iam::%s:user/test is not authorized to perform: %s", AccountID, c.Op())
		switch p {
		case protoEC2:
			set(403, "UnauthorizedOperation", "You are not authorized to perform this operation.")
		case protoQuery, protoRESTXML:
			set(403, "AccessDenied", msg)
		case protoJSON:
			set(400, "AccessDeniedException", msg)
		default:
			set(403, "AccessDeniedException", msg)
		}
	case kindThrottle:
		switch p {
		case protoEC2:
			set(503, "RequestLimitExceeded", "Request limit exceeded.")
		case protoQuery:
			set(400, "Throttling", "Rate exceeded")
		case protoRESTXML:
			set(503, "SlowDown", "Please reduce your request rate.")
		default:
			set(400, "ThrottlingException", "Rate exceeded")
		}
	case kindServer:
		switch p {
		case protoEC2, protoRESTXML:
			set(500, "InternalError", "An internal error has occurred")
		default:
			set(500, "InternalFailure", "An internal error has occurred")
		}
	}
	return f
}

// Rule selects calls and the fault to inject into them.
type Rule struct {
	// Op is "service:Operation", "service:*" or "*".
	Op string
	// When, if set, must also hold (e.g. ParamEquals).
	When func(Call) bool
	// Every injects into every Nth matching call only (N, 2N, ...). 0 and 1
	// mean every call.
	Every int
	// Fraction, when above 0, injects into that share of matching calls,
	// drawn from a generator seeded with Seed, so a run is repeatable for a
	// given order of calls.
	Fraction float64
	Seed     uint64
	// Limit stops injecting after this many faults; 0 is no limit. Limit 1
	// makes a call fail once and then succeed on retry.
	Limit int
	Fault Fault
}

func (r *Rule) matches(c Call) bool {
	switch {
	case r.Op == "*" || r.Op == "":
	case strings.HasSuffix(r.Op, ":*"):
		if c.Service != strings.TrimSuffix(r.Op, ":*") {
			return false
		}
	case r.Op != c.Op():
		return false
	}
	return r.When == nil || r.When(c)
}

type ruleState struct {
	Rule
	seen     int
	injected int
	rng      *rand.Rand
}

// fires decides whether this matching call gets the fault. Called with the
// proxy's lock held.
func (s *ruleState) fires() bool {
	if s.Limit > 0 && s.injected >= s.Limit {
		return false
	}
	s.seen++
	switch {
	case s.Fraction > 0:
		if s.rng.Float64() >= s.Fraction {
			return false
		}
	case s.Every > 1:
		if s.seen%s.Every != 0 {
			return false
		}
	}
	s.injected++
	return true
}

// FaultProxy is a reverse proxy in front of moto that counts every request
// per "service:Operation" and injects faults by rule. Point the SDK's
// endpoint at URL().
type FaultProxy struct {
	srv     *httptest.Server
	forward *httputil.ReverseProxy
	stop    chan struct{}

	mu       sync.Mutex
	rules    []*ruleState
	calls    map[string]int
	injected map[string]int
}

// NewFaultProxy starts a proxy to target (moto's URL) that lives as long as t.
func NewFaultProxy(t testing.TB, target string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("fault proxy target %q: %v", target, err)
	}
	p := &FaultProxy{
		stop:     make(chan struct{}),
		calls:    map[string]int{},
		injected: map[string]int{},
	}
	p.forward = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
		},
		// A client that gives up mid-call is expected here; keep it quiet.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

// URL is the proxy's base URL.
func (p *FaultProxy) URL() string { return p.srv.URL }

// Close stops the proxy, cutting short any delayed call.
func (p *FaultProxy) Close() {
	select {
	case <-p.stop:
		return
	default:
	}
	close(p.stop)
	p.srv.CloseClientConnections()
	p.srv.Close()
}

// Add appends rules; the first rule that fires for a call decides it.
func (p *FaultProxy) Add(rules ...Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, r := range rules {
		p.rules = append(p.rules, &ruleState{
			Rule: r,
			rng:  rand.New(rand.NewPCG(r.Seed, r.Seed^0x9e3779b97f4a7c15)),
		})
	}
}

// ClearRules removes every rule; calls pass through again.
func (p *FaultProxy) ClearRules() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Calls is how many requests (attempts, retries included) the proxy
// received for op ("sagemaker:ListNotebookInstances"), "service:*" or "*".
func (p *FaultProxy) Calls(op string) int { return p.sum(p.calls, op) }

// Injected is how many of those requests got a fault.
func (p *FaultProxy) Injected(op string) int { return p.sum(p.injected, op) }

func (p *FaultProxy) sum(m map[string]int, op string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := Rule{Op: op}
	n := 0
	for k, v := range m {
		svc, name, _ := strings.Cut(k, ":")
		if r.matches(Call{Service: svc, Operation: name}) {
			n += v
		}
	}
	return n
}

// Counts returns a copy of the per-operation request counts.
func (p *FaultProxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.calls))
	for k, v := range p.calls {
		out[k] = v
	}
	return out
}

// ResetCounts zeroes the counters (not the rules' own progress).
func (p *FaultProxy) ResetCounts() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = map[string]int{}
	p.injected = map[string]int{}
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	c, proto, err := parseCall(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(c.Body))
	r.ContentLength = int64(len(c.Body))

	p.mu.Lock()
	p.calls[c.Op()]++
	var fault *Fault
	for _, rs := range p.rules {
		if rs.matches(c) && rs.fires() {
			f := rs.Fault.resolve(proto, c)
			fault = &f
			p.injected[c.Op()]++
			break
		}
	}
	p.mu.Unlock()

	if fault == nil {
		p.forward.ServeHTTP(w, r)
		return
	}
	if fault.Delay > 0 {
		t := time.NewTimer(fault.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-p.stop:
			t.Stop()
			return
		}
	}
	switch {
	case fault.Answer != nil:
		status, body := fault.Answer(c)
		h := w.Header()
		h.Set("X-Amzn-Requestid", "f4a7c1e2-0000-4000-8000-000000000000")
		switch proto {
		case protoJSON:
			h.Set("Content-Type", "application/x-amz-json-1.1")
		case protoEC2, protoQuery:
			h.Set("Content-Type", "text/xml")
		case protoRESTXML:
			h.Set("Content-Type", "application/xml")
		default:
			h.Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	case fault.Rewrite != nil || fault.RewriteResponse != nil:
		if fault.Rewrite != nil {
			body := fault.Rewrite(c)
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			r.Header.Del("Content-Length")
		}
		if fault.RewriteResponse == nil {
			p.forward.ServeHTTP(w, r)
			return
		}
		p.forwardRewritten(w, r, c, fault.RewriteResponse)
	case fault.Drop, fault.Lost:
		if fault.Lost {
			p.forward.ServeHTTP(httptest.NewRecorder(), r)
		}
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("fault proxy: connection cannot be hijacked")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			conn.Close()
		}
	case fault.Status != 0:
		writeError(w, proto, *fault)
	default:
		p.forward.ServeHTTP(w, r)
	}
}

// forwardRewritten forwards r and answers w with the service's status and
// headers and the body rewrite makes of the service's body.
func (p *FaultProxy) forwardRewritten(w http.ResponseWriter, r *http.Request, c Call, rewrite func(Call, int, []byte) []byte) {
	// The rewrite needs the body as the service wrote it, not compressed.
	r.Header.Del("Accept-Encoding")
	rec := httptest.NewRecorder()
	p.forward.ServeHTTP(rec, r)
	res := rec.Result()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		http.Error(w, "fault proxy: read the service's answer: "+err.Error(), http.StatusBadGateway)
		return
	}
	body = rewrite(c, res.StatusCode, body)
	h := w.Header()
	for k, v := range res.Header {
		h[k] = v
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(body)
}

// writeError writes an error response shaped like the real service's, so
// the SDK's deserializers extract the code and message.
func writeError(w http.ResponseWriter, p protocol, f Fault) {
	const reqID = "f4a7c1e2-0000-4000-8000-000000000000"
	h := w.Header()
	h.Set("X-Amzn-Requestid", reqID)
	if f.Code == "" {
		w.WriteHeader(f.Status)
		return
	}
	var body []byte
	switch p {
	case protoEC2:
		h.Set("Content-Type", "text/xml;charset=UTF-8")
		body = fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>`+
			`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`,
			xmlText(f.Code), xmlText(f.Message), reqID)
	case protoQuery:
		h.Set("Content-Type", "text/xml")
		typ := "Sender"
		if f.Status >= 500 {
			typ = "Receiver"
		}
		body = fmt.Appendf(nil, `<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			typ, xmlText(f.Code), xmlText(f.Message), reqID)
	case protoRESTXML:
		h.Set("Content-Type", "application/xml")
		body = fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>`+
			`<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`,
			xmlText(f.Code), xmlText(f.Message), reqID)
	case protoJSON:
		h.Set("Content-Type", "application/x-amz-json-1.1")
		body, _ = json.Marshal(map[string]string{"__type": f.Code, "message": f.Message})
	default:
		h.Set("Content-Type", "application/json")
		h.Set("X-Amzn-Errortype", f.Code)
		body, _ = json.Marshal(map[string]string{"message": f.Message})
	}
	w.WriteHeader(f.Status)
	_, _ = w.Write(body)
}

func xmlText(s string) string { return html.EscapeString(s) }
