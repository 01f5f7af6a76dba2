package testenv

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// stubAWS answers every request with an empty success in the protocol the
// request used, so the SDK's calls through the proxy succeed without moto.
func stubAWS(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("X-Amz-Target") != "":
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			_, _ = w.Write([]byte(`{}`))
		case strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
			_ = r.ParseForm()
			action := r.PostForm.Get("Action")
			w.Header().Set("Content-Type", "text/xml")
			if strings.Contains(r.Header.Get("Authorization"), "/ec2/") {
				_, _ = w.Write([]byte(`<` + action + `Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId></` + action + `Response>`))
				return
			}
			_, _ = w.Write([]byte(`<` + action + `Response><` + action + `Result><Account>` + AccountID +
				`</Account><Arn>arn:aws:iam::` + AccountID + `:user/test</Arn></` + action + `Result></` + action + `Response>`))
		case strings.Contains(r.Header.Get("Authorization"), "/s3/"):
			w.Header().Set("Content-Type", "application/xml")
			_, _ = w.Write([]byte(`<ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>`))
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{}`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// clients are SDK clients whose calls go through a proxy, without retries
// so that every call is exactly one request.
type clients struct {
	ec2  *ec2.Client
	sm   *sagemaker.Client
	sts  *sts.Client
	org  *organizations.Client
	hub  *securityhub.Client
	s3   *s3.Client
	conf aws.Config
}

func newClients(url string) clients {
	cfg := Config(url)
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	return clients{
		ec2:  ec2.NewFromConfig(cfg),
		sm:   sagemaker.NewFromConfig(cfg),
		sts:  sts.NewFromConfig(cfg),
		org:  organizations.NewFromConfig(cfg),
		hub:  securityhub.NewFromConfig(cfg),
		s3:   s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }),
		conf: cfg,
	}
}

// calls names one SDK call of each protocol and the operation the proxy
// must see for it.
func protocolCalls(c clients) []struct {
	op   string
	call func(context.Context) error
} {
	return []struct {
		op   string
		call func(context.Context) error
	}{
		{"ec2:DescribeRouteTables", func(ctx context.Context) error {
			_, err := c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{})
			return err
		}},
		{"sagemaker:DescribeNotebookInstance", func(ctx context.Context) error {
			_, err := c.sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String("nb")})
			return err
		}},
		{"sts:GetCallerIdentity", func(ctx context.Context) error {
			_, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			return err
		}},
		{"organizations:ListAccounts", func(ctx context.Context) error {
			_, err := c.org.ListAccounts(ctx, &organizations.ListAccountsInput{})
			return err
		}},
		{"securityhub:POST /findings", func(ctx context.Context) error {
			_, err := c.hub.GetFindings(ctx, &securityhub.GetFindingsInput{})
			return err
		}},
		{"s3:GET /", func(ctx context.Context) error {
			_, err := c.s3.ListBuckets(ctx, &s3.ListBucketsInput{})
			return err
		}},
	}
}

func TestProxyNamesTheOperationOfEachProtocol(t *testing.T) {
	p := NewFaultProxy(t, stubAWS(t))
	c := newClients(p.URL())
	for _, pc := range protocolCalls(c) {
		if err := pc.call(context.Background()); err != nil {
			t.Errorf("%s through the proxy: %v", pc.op, err)
		}
		if got := p.Calls(pc.op); got != 1 {
			t.Errorf("Calls(%q) = %d, want 1; all counts: %v", pc.op, got, p.Counts())
		}
	}
	if got, want := p.Calls("*"), len(protocolCalls(c)); got != want {
		t.Errorf(`Calls("*") = %d, want %d`, got, want)
	}
	if got := p.Calls("ec2:*"); got != 1 {
		t.Errorf(`Calls("ec2:*") = %d, want 1`, got)
	}
}

func TestProxyFaultsReachTheSDKAsTheServiceWouldSendThem(t *testing.T) {
	p := NewFaultProxy(t, stubAWS(t))
	c := newClients(p.URL())
	calls := map[string]func(context.Context) error{}
	for _, pc := range protocolCalls(c) {
		calls[pc.op] = pc.call
	}
	tests := []struct {
		op         string
		fault      Fault
		wantCode   string
		wantStatus int
	}{
		{"ec2:DescribeRouteTables", AccessDenied(), "UnauthorizedOperation", 403},
		{"ec2:DescribeRouteTables", Throttle(), "RequestLimitExceeded", 503},
		{"ec2:DescribeRouteTables", ServerError(), "InternalError", 500},
		{"sagemaker:DescribeNotebookInstance", AccessDenied(), "AccessDeniedException", 400},
		{"sagemaker:DescribeNotebookInstance", Throttle(), "ThrottlingException", 400},
		{"sagemaker:DescribeNotebookInstance", ServerError(), "InternalFailure", 500},
		{"sagemaker:DescribeNotebookInstance", APIError(400, "ValidationException", "RecordNotFound"), "ValidationException", 400},
		{"sts:GetCallerIdentity", AccessDenied(), "AccessDenied", 403},
		{"sts:GetCallerIdentity", Throttle(), "Throttling", 400},
		{"organizations:ListAccounts", AccessDenied(), "AccessDeniedException", 400},
		{"securityhub:POST /findings", AccessDenied(), "AccessDeniedException", 403},
		{"securityhub:POST /findings", Throttle(), "ThrottlingException", 400},
		{"s3:GET /", AccessDenied(), "AccessDenied", 403},
		{"s3:GET /", Throttle(), "SlowDown", 503},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+tt.wantCode, func(t *testing.T) {
			p.ClearRules()
			p.Add(Rule{Op: tt.op, Fault: tt.fault})
			err := calls[tt.op](context.Background())
			var api smithy.APIError
			if !errors.As(err, &api) {
				t.Fatalf("error %v is not an API error", err)
			}
			if api.ErrorCode() != tt.wantCode {
				t.Errorf("code = %q, want %q (%v)", api.ErrorCode(), tt.wantCode, err)
			}
			if api.ErrorMessage() == "" {
				t.Errorf("message is empty: %v", err)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tt.wantStatus {
				t.Errorf("HTTP status: %v, want %d", err, tt.wantStatus)
			}
		})
	}
}

func TestProxyRuleSelection(t *testing.T) {
	describe := func(c clients, name string) error {
		_, err := c.sm.DescribeNotebookInstance(context.Background(),
			&sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String(name)})
		return err
	}
	tests := []struct {
		name string
		rule Rule
		// calls are the notebook names described in order; failed says which
		// of them must fail.
		calls  []string
		failed []bool
	}{
		{
			name:   "every third call",
			rule:   Rule{Op: "sagemaker:DescribeNotebookInstance", Every: 3, Fault: Throttle()},
			calls:  []string{"a", "a", "a", "a", "a", "a", "a"},
			failed: []bool{false, false, true, false, false, true, false},
		},
		{
			name:   "predicate on a body field",
			rule:   Rule{Op: "sagemaker:DescribeNotebookInstance", When: ParamEquals("NotebookInstanceName", "b"), Fault: AccessDenied()},
			calls:  []string{"a", "b", "c", "b"},
			failed: []bool{false, true, false, true},
		},
		{
			name:   "limit makes a fault transient",
			rule:   Rule{Op: "sagemaker:*", Limit: 2, Fault: ServerError()},
			calls:  []string{"a", "a", "a", "a"},
			failed: []bool{true, true, false, false},
		},
		{
			name:   "other operations are untouched",
			rule:   Rule{Op: "sagemaker:ListNotebookInstances", Fault: AccessDenied()},
			calls:  []string{"a", "b"},
			failed: []bool{false, false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewFaultProxy(t, stubAWS(t))
			p.Add(tt.rule)
			c := newClients(p.URL())
			want := 0
			for i, name := range tt.calls {
				err := describe(c, name)
				if (err != nil) != tt.failed[i] {
					t.Errorf("call %d (%s): err = %v, want failure %v", i, name, err, tt.failed[i])
				}
				if tt.failed[i] {
					want++
				}
			}
			if got := p.Injected("*"); got != want {
				t.Errorf("Injected = %d, want %d", got, want)
			}
			if got := p.Calls("sagemaker:DescribeNotebookInstance"); got != len(tt.calls) {
				t.Errorf("Calls = %d, want %d", got, len(tt.calls))
			}
		})
	}
}

func TestProxyFractionIsRepeatableForASeed(t *testing.T) {
	run := func(seed uint64) []bool {
		p := NewFaultProxy(t, stubAWS(t))
		p.Add(Rule{Op: "ec2:DescribeVpcs", Fraction: 1.0 / 3, Seed: seed, Fault: Throttle()})
		c := newClients(p.URL())
		var failed []bool
		for range 60 {
			_, err := c.ec2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
			failed = append(failed, err != nil)
		}
		return failed
	}
	a, b, other := run(7), run(7), run(8)
	n := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("call %d: seed 7 gave %v then %v", i, a[i], b[i])
		}
		if a[i] {
			n++
		}
	}
	if n < 8 || n > 32 {
		t.Errorf("%d of 60 calls faulted with fraction 1/3", n)
	}
	same := true
	for i := range a {
		same = same && a[i] == other[i]
	}
	if same {
		t.Errorf("seeds 7 and 8 faulted the same calls")
	}
}

func TestProxySlowCallEndsWithTheClientTimeout(t *testing.T) {
	p := NewFaultProxy(t, stubAWS(t))
	p.Add(Rule{Op: "*", Fault: Slow(10 * time.Second)})
	c := newClients(p.URL())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	if err == nil {
		t.Fatal("a call held for 10s succeeded within a 200ms deadline")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("call returned after %v", d)
	}
	// Close must not wait for the held call's 10s either.
	start = time.Now()
	p.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestProxySlowCallIsForwardedLate(t *testing.T) {
	p := NewFaultProxy(t, stubAWS(t))
	p.Add(Rule{Op: "sts:GetCallerIdentity", Fault: Slow(150 * time.Millisecond)})
	c := newClients(p.URL())
	start := time.Now()
	out, err := c.sts.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != AccountID {
		t.Errorf("account = %q: the call was not forwarded", aws.ToString(out.Account))
	}
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("call took %v, want at least the 150ms delay", d)
	}
}

func TestProxyDropClosesTheConnection(t *testing.T) {
	p := NewFaultProxy(t, stubAWS(t))
	p.Add(Rule{Op: "ec2:DescribeVpcs", Fault: Drop()})
	c := newClients(p.URL())
	_, err := c.ec2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	if err == nil {
		t.Fatal("dropped call succeeded")
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		t.Errorf("dropped call came back as API error %q; want a transport error", api.ErrorCode())
	}
	if p.Injected("ec2:DescribeVpcs") != 1 {
		t.Errorf("Injected = %d", p.Injected("ec2:DescribeVpcs"))
	}
}

func TestProxyCountsConcurrentCalls(t *testing.T) {
	p := NewFaultProxy(t, stubAWS(t))
	p.Add(Rule{Op: "ec2:DescribeSubnets", Every: 2, Fault: Throttle()})
	c := newClients(p.URL())
	const n = 40
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() { _, _ = c.ec2.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{}) })
	}
	wg.Wait()
	if got := p.Calls("ec2:DescribeSubnets"); got != n {
		t.Errorf("Calls = %d, want %d", got, n)
	}
	if got := p.Injected("ec2:DescribeSubnets"); got != n/2 {
		t.Errorf("Injected = %d, want %d", got, n/2)
	}
	p.ResetCounts()
	if got := p.Calls("*"); got != 0 {
		t.Errorf("after ResetCounts, Calls = %d", got)
	}
}

func TestParseCallReadsQueryAndJSONParameters(t *testing.T) {
	tests := []struct {
		name    string
		req     func() *http.Request
		wantOp  string
		wantKey string
		wantVal string
	}{
		{
			name: "ec2 query",
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("Action=DescribeSubnets&Version=2016-11-15&Filter.1.Name=subnet-id"))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/eu-west-1/ec2/aws4_request, SignedHeaders=host, Signature=x")
				return r
			},
			wantOp: "ec2:DescribeSubnets", wantKey: "Filter.1.Name", wantVal: "subnet-id",
		},
		{
			name: "json 1.1",
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"NotebookInstanceName":"nb-1","MaxResults":5}`))
				r.Header.Set("Content-Type", "application/x-amz-json-1.1")
				r.Header.Set("X-Amz-Target", "SageMaker.DescribeNotebookInstance")
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=x")
				return r
			},
			wantOp: "sagemaker:DescribeNotebookInstance", wantKey: "MaxResults", wantVal: "5",
		},
		{
			name: "json without a signature names the service from the target",
			req: func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
				r.Header.Set("X-Amz-Target", "SageMaker.ListTags")
				return r
			},
			wantOp: "sagemaker:ListTags",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCall(tt.req())
			if err != nil {
				t.Fatal(err)
			}
			if c.Op() != tt.wantOp {
				t.Errorf("Op = %q, want %q", c.Op(), tt.wantOp)
			}
			if tt.wantKey != "" && c.Params[tt.wantKey] != tt.wantVal {
				t.Errorf("Params[%q] = %q, want %q (%v)", tt.wantKey, c.Params[tt.wantKey], tt.wantVal, c.Params)
			}
		})
	}
}

func TestProxyAnswersInTheServiceProtocol(t *testing.T) {
	p := NewFaultProxy(t, stubAWS(t))
	var region atomic.Value
	p.Add(Rule{Op: "sts:GetCallerIdentity", Fault: Fault{Answer: func(c Call) (int, []byte) {
		region.Store(c.Region)
		return 200, []byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Account>999988887777</Account>` +
			`<Arn>arn:aws:iam::999988887777:user/emulated</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`)
	}}})
	c := newClients(p.URL())
	out, err := c.sts.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Account) != "999988887777" {
		t.Errorf("account %q: the proxy's XML answer was not the one the SDK read", aws.ToString(out.Account))
	}
	if got, _ := region.Load().(string); got != Region {
		t.Errorf("Call.Region = %q, want the signing region %s", got, Region)
	}
}

func TestProxyRewritesTheForwardedBody(t *testing.T) {
	var got atomic.Value
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		got.Store(r.PostForm.Get("CidrBlock"))
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<CreateVpcResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><vpc><vpcId>vpc-1</vpcId></vpc></CreateVpcResponse>`))
	}))
	t.Cleanup(target.Close)
	p := NewFaultProxy(t, target.URL)
	p.Add(Rule{Op: "ec2:CreateVpc", Fault: Fault{Rewrite: func(c Call) []byte {
		return []byte(strings.Replace(string(c.Body), "10.0.0.0%2F16", "10.9.0.0%2F16", 1))
	}}})
	c := newClients(p.URL())
	if _, err := c.ec2.CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	if g, _ := got.Load().(string); g != "10.9.0.0/16" {
		t.Errorf("the service got CidrBlock %q, want the rewritten 10.9.0.0/16", g)
	}
}

func TestProxyLosesTheAnswerAfterForwarding(t *testing.T) {
	var reached atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"></DescribeVpcsResponse>`))
	}))
	t.Cleanup(target.Close)
	p := NewFaultProxy(t, target.URL)
	p.Add(Rule{Op: "ec2:DescribeVpcs", Fault: LoseResponse()})
	c := newClients(p.URL())
	if _, err := c.ec2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{}); err == nil {
		t.Fatal("a call whose answer was lost succeeded")
	}
	if n := reached.Load(); n != 1 {
		t.Errorf("the service got the call %d times, want 1", n)
	}
}

func TestProxyRewritesTheAnswer(t *testing.T) {
	var gotCIDR atomic.Value
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		gotCIDR.Store(r.PostForm.Get("CidrBlock"))
		w.Header().Set("Content-Type", "text/xml")
		w.Header().Set("X-Amzn-Requestid", "from-the-service")
		_, _ = w.Write([]byte(`<CreateVpcResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><vpc><vpcId>vpc-1</vpcId>` +
			`<cidrBlock>` + r.PostForm.Get("CidrBlock") + `</cidrBlock></vpc></CreateVpcResponse>`))
	}))
	t.Cleanup(target.Close)
	p := NewFaultProxy(t, target.URL)
	var seenStatus atomic.Int32
	p.Add(Rule{Op: "ec2:CreateVpc", Fault: Fault{
		Rewrite: func(c Call) []byte {
			return []byte(strings.Replace(string(c.Body), "10.0.0.0%2F16", "10.9.0.0%2F16", 1))
		},
		RewriteResponse: func(c Call, status int, body []byte) []byte {
			seenStatus.Store(int32(status))
			return []byte(strings.Replace(string(body), "vpc-1", "vpc-rewritten-answer", 1))
		},
	}})
	c := newClients(p.URL())
	out, err := c.ec2.CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	if id := aws.ToString(out.Vpc.VpcId); id != "vpc-rewritten-answer" {
		t.Errorf("VpcId = %q: the SDK did not read the rewritten answer", id)
	}
	if cidr := aws.ToString(out.Vpc.CidrBlock); cidr != "10.9.0.0/16" {
		t.Errorf("CidrBlock = %q: the request rewrite did not run before the answer's", cidr)
	}
	if g, _ := gotCIDR.Load().(string); g != "10.9.0.0/16" {
		t.Errorf("the service got CidrBlock %q", g)
	}
	if s := seenStatus.Load(); s != 200 {
		t.Errorf("RewriteResponse saw status %d, want 200", s)
	}
}

// The rewrite sees error answers with their status, and the client gets
// that status: a fix must not turn an error into a success by accident.
func TestProxyAnswerRewriteKeepsTheStatus(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code><Message>gone</Message></Error></Errors><RequestID>1</RequestID></Response>`))
	}))
	t.Cleanup(target.Close)
	p := NewFaultProxy(t, target.URL)
	var seen atomic.Int32
	p.Add(Rule{Op: "ec2:DescribeVpcs", Fault: Fault{RewriteResponse: func(c Call, status int, body []byte) []byte {
		seen.Store(int32(status))
		return []byte(strings.Replace(string(body), "gone", "gone, said the proxy", 1))
	}}})
	c := newClients(p.URL())
	_, err := c.ec2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidVpcID.NotFound" || api.ErrorMessage() != "gone, said the proxy" {
		t.Fatalf("err = %v, want the service's InvalidVpcID.NotFound with the rewritten message", err)
	}
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusBadRequest {
		t.Errorf("HTTP status: %v, want 400", err)
	}
	if s := seen.Load(); s != http.StatusBadRequest {
		t.Errorf("RewriteResponse saw status %d, want 400", s)
	}
}
