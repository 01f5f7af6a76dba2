package awsclient

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/sagefence/sagefence/internal/testenv"
)

var moto testenv.SharedMoto

func TestMain(m *testing.M) { testenv.Main(m, &moto) }

func TestPartitionOf(t *testing.T) {
	tests := map[string]string{
		"us-east-1":       "aws",
		"eu-west-3":       "aws",
		"ap-southeast-7":  "aws",
		"cn-north-1":      "aws-cn",
		"cn-northwest-1":  "aws-cn",
		"us-gov-west-1":   "aws-us-gov",
		"us-iso-east-1":   "aws-iso",
		"us-isob-east-1":  "aws-iso-b",
		"eu-isoe-west-1":  "aws-iso-e",
		"us-isof-south-1": "aws-iso-f",
	}
	for region, want := range tests {
		if got := PartitionOf(region); got != want {
			t.Errorf("PartitionOf(%q) = %q, want %q", region, got, want)
		}
	}
}

func TestPartitionFromARN(t *testing.T) {
	tests := map[string]string{
		"arn:aws:iam::123456789012:user/a":                             "aws",
		"arn:aws-cn:sts::123456789012:assumed-role/r/s":                "aws-cn",
		"arn:aws-us-gov:sagemaker:us-gov-west-1:1:notebook-instance/x": "aws-us-gov",
		"not-an-arn":                    "",
		"arn::iam::123456789012:user/a": "",
		"arn:aws:iam":                   "",
	}
	for arn, want := range tests {
		if got := PartitionFromARN(arn); got != want {
			t.Errorf("PartitionFromARN(%q) = %q, want %q", arn, got, want)
		}
	}
}

func TestLoadRejectsAnUnknownProfile(t *testing.T) {
	testenv.SetAWSEnv(t, "http://127.0.0.1:1")
	if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte("[profile audit]\nregion = eu-west-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The environment's region would beat the profile's.
	for _, k := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	ctx := context.Background()

	cfg, err := Load(ctx, Options{Profile: "audit"})
	if err != nil {
		t.Fatalf("known profile: %v", err)
	}
	if cfg.Region != "eu-west-1" {
		t.Errorf("region from profile = %q, want eu-west-1", cfg.Region)
	}

	_, err = Load(ctx, Options{Profile: "nope"})
	if !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("--profile nope: err = %v, want ErrUnknownProfile", err)
	}
	if err != nil && !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("error does not name the profile: %v", err)
	}

	t.Setenv("AWS_PROFILE", "nope")
	if _, err := Load(ctx, Options{}); !errors.Is(err, ErrUnknownProfile) {
		t.Errorf("AWS_PROFILE=nope: err = %v, want ErrUnknownProfile", err)
	}
}

func TestLoadAppliesRegionEndpointAndRetryDefaults(t *testing.T) {
	testenv.SetAWSEnv(t, "")
	cfg, err := Load(context.Background(), Options{Region: "eu-central-1", EndpointURL: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-central-1" {
		t.Errorf("region = %q", cfg.Region)
	}
	if got := aws.ToString(cfg.BaseEndpoint); got != "http://127.0.0.1:9" {
		t.Errorf("BaseEndpoint = %q", got)
	}
	if got := cfg.Retryer().MaxAttempts(); got != DefaultMaxAttempts {
		t.Errorf("MaxAttempts = %d, want %d", got, DefaultMaxAttempts)
	}
	cfg, err = Load(context.Background(), Options{MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Retryer().MaxAttempts(); got != 2 {
		t.Errorf("MaxAttempts = %d, want 2", got)
	}
}

func TestSDKEndpointVariablesWorkWithoutTheFlag(t *testing.T) {
	m := moto.ForTest(t)
	ctx := context.Background()

	t.Run("AWS_ENDPOINT_URL", func(t *testing.T) {
		testenv.SetAWSEnv(t, m.URL())
		cfg, err := Load(ctx, Options{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Errorf("call through AWS_ENDPOINT_URL: %v", err)
		}
	})
	t.Run("AWS_ENDPOINT_URL_STS beats AWS_ENDPOINT_URL", func(t *testing.T) {
		testenv.SetAWSEnv(t, "http://127.0.0.1:1") // nothing listens there
		t.Setenv("AWS_ENDPOINT_URL_STS", m.URL())
		cfg, err := Load(ctx, Options{MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Errorf("call through AWS_ENDPOINT_URL_STS: %v", err)
		}
		if _, err := ec2.NewFromConfig(cfg).DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err == nil {
			t.Errorf("EC2 reached moto although only STS points there")
		}
	})
}

func TestIdentity(t *testing.T) {
	m := moto.ForTest(t)
	testenv.SetAWSEnv(t, m.URL())
	cfg, err := Load(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	account, partition, arn, err := Identity(context.Background(), sts.NewFromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if account != testenv.AccountID || partition != "aws" || !strings.HasPrefix(arn, "arn:aws:") {
		t.Errorf("Identity = %q %q %q", account, partition, arn)
	}
}

type fakeSTS struct {
	out *sts.GetCallerIdentityOutput
	err error
}

func (f fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	return f.out, f.err
}

func TestIdentityFailures(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}
	_, _, _, err := Identity(context.Background(), fakeSTS{err: denied})
	if !errors.Is(err, denied) {
		t.Errorf("err = %v, want the STS error wrapped", err)
	}
	_, _, _, err = Identity(context.Background(), fakeSTS{out: &sts.GetCallerIdentityOutput{Account: aws.String("1"), Arn: aws.String("bogus")}})
	if err == nil {
		t.Errorf("an identity without a usable ARN was accepted")
	}
	acct, part, _, err := Identity(context.Background(), fakeSTS{out: &sts.GetCallerIdentityOutput{
		Account: aws.String("111122223333"), Arn: aws.String("arn:aws-cn:iam::111122223333:user/x"),
	}})
	if err != nil || acct != "111122223333" || part != "aws-cn" {
		t.Errorf("Identity = %q %q %v", acct, part, err)
	}
}

// proxied loads a config whose calls go through a fault proxy in front of
// moto, with quick backoff so retries do not slow the suite.
func proxied(t *testing.T, opts Options) (aws.Config, *testenv.FaultProxy, *Stats) {
	t.Helper()
	m := moto.ForTest(t)
	p := testenv.NewFaultProxy(t, m.URL())
	testenv.SetAWSEnv(t, "")
	st := NewStats()
	opts.EndpointURL = p.URL()
	opts.Stats = st
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 5 * time.Millisecond
	}
	cfg, err := Load(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, p, st
}

func TestRetriesAndStats(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		rule    testenv.Rule
		wantErr string // API error code, "" for success
		want    OpStats
	}{
		{
			name: "throttled twice then answered",
			rule: testenv.Rule{Op: "ec2:DescribeVpcs", Limit: 2, Fault: testenv.Throttle()},
			want: OpStats{Calls: 1, Attempts: 3, Retries: 2, Throttles: 2},
		},
		{
			name: "HTTP 500 is retried",
			rule: testenv.Rule{Op: "ec2:DescribeVpcs", Limit: 1, Fault: testenv.ServerError()},
			want: OpStats{Calls: 1, Attempts: 2, Retries: 1},
		},
		{
			name:    "access denied is not retried",
			rule:    testenv.Rule{Op: "ec2:DescribeVpcs", Fault: testenv.AccessDenied()},
			wantErr: "UnauthorizedOperation",
			want:    OpStats{Calls: 1, Attempts: 1, Errors: 1},
		},
		{
			name:    "throttling that never ends gives up after MaxAttempts",
			opts:    Options{MaxAttempts: 4},
			rule:    testenv.Rule{Op: "ec2:DescribeVpcs", Fault: testenv.Throttle()},
			wantErr: "RequestLimitExceeded",
			want:    OpStats{Calls: 1, Attempts: 4, Retries: 3, Throttles: 4, Errors: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, p, st := proxied(t, tt.opts)
			p.Add(tt.rule)
			_, err := ec2.NewFromConfig(cfg).DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
			var api smithy.APIError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("call failed: %v", err)
			case tt.wantErr != "" && (!errors.As(err, &api) || api.ErrorCode() != tt.wantErr):
				t.Fatalf("err = %v, want %s", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, st.Op("ec2:DescribeVpcs")); diff != "" {
				t.Errorf("stats (-want +got):\n%s", diff)
			}
			if got := p.Calls("ec2:DescribeVpcs"); got != tt.want.Attempts {
				t.Errorf("proxy saw %d requests, stats counted %d attempts", got, tt.want.Attempts)
			}
		})
	}
}

func TestCallTimeoutBoundsASlowEndpoint(t *testing.T) {
	cfg, p, st := proxied(t, Options{CallTimeout: 200 * time.Millisecond, MaxAttempts: 2})
	p.Add(testenv.Rule{Op: "*", Fault: testenv.Slow(30 * time.Second)})
	start := time.Now()
	_, err := sts.NewFromConfig(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err == nil {
		t.Fatal("a call held for 30s succeeded")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("call took %v with a 200ms call timeout", d)
	}
	if got := st.Op("sts:GetCallerIdentity"); got.Attempts != 2 || got.Errors != 1 {
		t.Errorf("stats = %+v, want 2 attempts (the timeout is retried) and 1 error", got)
	}
}

func TestStatsPrint(t *testing.T) {
	st := NewStats()
	st.update("sagemaker:DescribeNotebookInstance", func(o *OpStats) { *o = OpStats{Calls: 120, Attempts: 130, Retries: 10, Throttles: 9, Errors: 1} })
	st.update("ec2:DescribeSubnets", func(o *OpStats) { *o = OpStats{Calls: 1, Attempts: 1} })
	var b bytes.Buffer
	st.Print(&b, 1500*time.Millisecond)
	want := `operation                           calls  attempts  retries  throttled  errors  
ec2:DescribeSubnets                 1      1         0        0          0       
sagemaker:DescribeNotebookInstance  120    130       10       9          1       
total                               121    131       10       9          1       
wall time: 1.5s, 80.7 calls/s
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("Print (-want +got):\n%s", diff)
	}
	if got := st.Total(); got.Calls != 121 || got.Throttles != 9 {
		t.Errorf("Total = %+v", got)
	}
}

// TestSustainedThrottlingKeepsEveryAttempt: a call that throttling
// defeats has had all its attempts, however many calls of the same client
// were throttled before it. The SDK's retry quota (500 tokens, 5 a retry,
// kept by retries that fail) would otherwise refuse every retry once about
// fourteen calls had used up theirs, ending calls after one attempt; the
// adaptive mode's sending rate is what slows a throttled client. (Through
// a throttling proxy this takes minutes, the adaptive rate at work: the
// retryer is asked directly, as the SDK asks it before each retry.)
func TestSustainedThrottlingKeepsEveryAttempt(t *testing.T) {
	cfg, err := Load(context.Background(), Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Retryer()
	throttle := &smithy.GenericAPIError{Code: "RequestLimitExceeded", Message: "Request limit exceeded."}
	for i := range 1000 {
		if _, err := r.GetRetryToken(context.Background(), throttle); err != nil {
			t.Fatalf("retry %d refused: %v", i+1, err)
		}
	}
}
