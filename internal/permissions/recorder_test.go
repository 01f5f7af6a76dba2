package permissions

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/smithy-go/middleware"
)

func TestOperationName(t *testing.T) {
	for _, tc := range []struct{ service, op, want string }{
		{"EC2", "DescribeSubnets", "ec2:DescribeSubnets"},
		{"SageMaker", "ListNotebookInstances", "sagemaker:ListNotebookInstances"},
		{"STS", "GetCallerIdentity", "sts:GetCallerIdentity"},
		{"SecurityHub", "BatchImportFindings", "securityhub:BatchImportFindings"},
		{"Organizations", "ListAccounts", "organizations:ListAccounts"},
		{"IAM", "PassRole", "iam:PassRole"},
		{"S3", "ListObjectsV2", "s3:ListBucket"},
		{"S3", "HeadBucket", "s3:ListBucket"},
		{"S3", "HeadObject", "s3:GetObject"},
		{"S3", "UploadPart", "s3:PutObject"},
		{"S3", "PutObject", "s3:PutObject"},
		{"SSO OIDC", "CreateToken", "ssooidc:CreateToken"},
	} {
		if got := OperationName(tc.service, tc.op); got != tc.want {
			t.Errorf("OperationName(%q, %q) = %q, want %q", tc.service, tc.op, got, tc.want)
		}
	}
}

// stubHTTP answers every request without a network: 200 with a body that
// parses as an empty response, or a 500 for the operations in fail, and
// counts the attempts it saw.
type stubHTTP struct {
	mu       sync.Mutex
	fail     map[string]bool
	attempts int
}

func (s *stubHTTP) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	s.mu.Lock()
	s.attempts++
	s.mu.Unlock()
	op := req.Header.Get("X-Amz-Target") // JSON protocols
	if i := strings.LastIndex(op, "."); i >= 0 {
		op = op[i+1:]
	}
	if op == "" { // EC2 query protocol
		for _, kv := range strings.Split(string(body), "&") {
			if v, ok := strings.CutPrefix(kv, "Action="); ok {
				op = v
			}
		}
	}
	if op == "" && req.URL.Query().Has("list-type") { // S3 ListObjectsV2
		op = "ListObjectsV2"
	}
	resp := &http.Response{StatusCode: 200, Header: http.Header{}, Request: req}
	switch {
	case s.fail[op]:
		resp.StatusCode = 500
		resp.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp.Body = io.NopCloser(strings.NewReader(`{"__type":"InternalFailure","message":"stub"}`))
	case req.Header.Get("X-Amz-Target") != "":
		resp.Header.Set("Content-Type", "application/x-amz-json-1.1")
		resp.Body = io.NopCloser(strings.NewReader(`{}`))
	case op == "ListObjectsV2":
		resp.Header.Set("Content-Type", "application/xml")
		resp.Body = io.NopCloser(strings.NewReader(`<ListBucketResult><Name>b</Name><KeyCount>0</KeyCount></ListBucketResult>`))
	default:
		resp.Header.Set("Content-Type", "text/xml")
		resp.Body = io.NopCloser(strings.NewReader("<" + op + "Response><requestId>r</requestId></" + op + "Response>"))
	}
	return resp, nil
}

func stubConfig(rec *Recorder, stub *stubHTTP) aws.Config {
	return aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		HTTPClient:       stub,
		BaseEndpoint:     aws.String("http://127.0.0.1:1"),
		RetryMaxAttempts: 3,
		APIOptions:       []func(*middleware.Stack) error{rec.APIOption},
	}
}

func TestRecorderRecordsEveryInvokedOperationOnce(t *testing.T) {
	ctx := context.Background()
	rec := NewRecorder()
	stub := &stubHTTP{fail: map[string]bool{"DescribeNotebookInstance": true}}
	cfg := stubConfig(rec, stub)
	sm := sagemaker.NewFromConfig(cfg)
	ec := ec2.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })

	if _, err := sm.ListNotebookInstances(ctx, &sagemaker.ListNotebookInstancesInput{}); err != nil {
		t.Fatalf("ListNotebookInstances: %v", err)
	}
	// A failing operation, retried by the SDK, is still one recorded call.
	if _, err := sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{
		NotebookInstanceName: aws.String("nb"),
	}); err == nil {
		t.Fatal("DescribeNotebookInstance: want the stub's 500")
	}
	for range 2 {
		if _, err := ec.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{}); err != nil {
			t.Fatalf("DescribeSubnets: %v", err)
		}
	}
	if _, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("b")}); err != nil {
		t.Fatalf("ListObjectsV2: %v", err)
	}

	want := []string{"ec2:DescribeSubnets", "s3:ListBucket", "sagemaker:DescribeNotebookInstance", "sagemaker:ListNotebookInstances"}
	if got := rec.Operations(); !slices.Equal(got, want) {
		t.Errorf("Operations() = %v, want %v", got, want)
	}
	if stub.attempts <= 5 {
		t.Fatalf("stub saw %d attempts for 5 calls: the SDK did not retry, so this test proves nothing about retries", stub.attempts)
	}
	if n := rec.Count("sagemaker:DescribeNotebookInstance"); n != 1 {
		t.Errorf("a retried operation was recorded %d times, want 1 (stub saw %d attempts)", n, stub.attempts)
	}
	if n := rec.Count("ec2:DescribeSubnets"); n != 2 {
		t.Errorf("two DescribeSubnets calls recorded %d times", n)
	}
	if got := rec.Missing(ModeRemediate); len(got) != 0 {
		t.Errorf("Missing(remediate) = %v, want none", got)
	}
	// ListBucket is for the remediator's backups: an audit must not need it.
	if got := rec.Missing(ModeAudit); !slices.Equal(got, []string{"s3:ListBucket"}) {
		t.Errorf("Missing(audit) = %v, want [s3:ListBucket]", got)
	}
}

func TestRecorderReportsAnOperationMissingFromTheList(t *testing.T) {
	ctx := context.Background()
	rec := NewRecorder()
	ec := ec2.NewFromConfig(stubConfig(rec, &stubHTTP{}))
	if _, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ec.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	if got := rec.Missing(ModeRemediate); !slices.Equal(got, []string{"ec2:DescribeInstances"}) {
		t.Errorf("Missing = %v, want [ec2:DescribeInstances]", got)
	}
}
