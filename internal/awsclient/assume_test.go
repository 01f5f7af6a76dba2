package awsclient

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/sagefence/sagefence/internal/testenv"
)

func TestRoleOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    RoleOptions
		ok   bool
	}{
		{"plain name", RoleOptions{Name: "SagefenceAudit"}, true},
		{"name with a path", RoleOptions{Name: "security/audit/SagefenceAudit"}, true},
		{"every allowed character", RoleOptions{Name: "a+b=c,d.e@f_g-h", SessionName: "ci@run-42", ExternalID: "urn:org/x-1"}, true},
		{"empty name", RoleOptions{}, false},
		{"an ARN instead of a name", RoleOptions{Name: "arn:aws:iam::123456789012:role/x"}, false},
		{"name too long", RoleOptions{Name: strings.Repeat("r", 65)}, false},
		{"space in the session name", RoleOptions{Name: "r", SessionName: "my session"}, false},
		{"one-character session name", RoleOptions{Name: "r", SessionName: "s"}, false},
		{"external ID with a space", RoleOptions{Name: "r", ExternalID: "a b"}, false},
	}
	for _, tt := range tests {
		if err := tt.o.Validate(); (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

func TestValidAccountIDAndRoleARN(t *testing.T) {
	for id, want := range map[string]bool{"123456789012": true, "12345678901": false, "1234567890123": false, "12345678901a": false, "": false} {
		if ValidAccountID(id) != want {
			t.Errorf("ValidAccountID(%q) = %v", id, !want)
		}
	}
	if got := RoleARN("aws-cn", "111122223333", "audit/Reader"); got != "arn:aws-cn:iam::111122223333:role/audit/Reader" {
		t.Errorf("RoleARN = %q", got)
	}
}

func TestLoadUsesAdaptiveRetries(t *testing.T) {
	testenv.SetAWSEnv(t, "")
	cfg, err := Load(context.Background(), Options{Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Retryer().(*retry.AdaptiveMode); !ok {
		t.Errorf("retryer is %T, want *retry.AdaptiveMode (client-side rate limiting on throttles)", cfg.Retryer())
	}
	// Each client gets its own retryer, so its own token bucket.
	if cfg.Retryer() == cfg.Retryer() {
		t.Error("the retryer factory returns a shared retryer")
	}
}

// TestAssumeRoleMapsToTheTargetAccountOnce: moto answers assumed-role
// credentials as the account in the role's ARN; every client built from
// the returned config shares the one AssumeRole.
func TestAssumeRoleMapsToTheTargetAccountOnce(t *testing.T) {
	cfg, p, st := proxied(t, Options{Region: "us-east-1"})
	const child = "210987654321"
	acfg := AssumeRole(cfg, "us-east-1", RoleARN("aws", child, "OrganizationAccountAccessRole"), RoleOptions{Name: "OrganizationAccountAccessRole", ExternalID: "ext-1"})
	ctx := context.Background()
	var wg sync.WaitGroup
	accounts := make([]string, 8)
	errs := make([]error, 8)
	for i := range accounts {
		wg.Go(func() {
			accounts[i], _, _, errs[i] = Identity(ctx, sts.NewFromConfig(acfg))
		})
	}
	wg.Wait()
	for i := range accounts {
		if errs[i] != nil || accounts[i] != child {
			t.Errorf("client %d: account %q, err %v; want %s", i, accounts[i], errs[i], child)
		}
	}
	if got := st.Op("sts:AssumeRole").Calls; got != 1 {
		t.Errorf("sts:AssumeRole calls = %d, want 1 shared by 8 clients", got)
	}
	if got := p.Calls("sts:AssumeRole"); got != 1 {
		t.Errorf("proxy saw %d AssumeRole requests", got)
	}
	// The caller's own config is untouched.
	if acct, _, _, err := Identity(ctx, sts.NewFromConfig(cfg)); err != nil || acct != testenv.AccountID {
		t.Errorf("caller identity = %q, %v", acct, err)
	}
}

func TestAssumeRolePassesSessionNameAndExternalID(t *testing.T) {
	cfg, p, _ := proxied(t, Options{Region: "us-east-1"})
	arn := RoleARN("aws", "210987654321", "Audit")
	var mu sync.Mutex
	var seen map[string]string
	p.Add(testenv.Rule{Op: "sts:AssumeRole", Limit: 1, When: func(c testenv.Call) bool {
		mu.Lock()
		defer mu.Unlock()
		seen = c.Params
		return false
	}})
	acfg := AssumeRole(cfg, "us-east-1", arn, RoleOptions{Name: "Audit", ExternalID: "ext-42"})
	if _, err := acfg.Credentials.Retrieve(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]string{"RoleArn": arn, "RoleSessionName": DefaultRoleSessionName, "ExternalId": "ext-42", "DurationSeconds": "3600"}
	for k, v := range want {
		if seen[k] != v {
			t.Errorf("AssumeRole %s = %q, want %q", k, seen[k], v)
		}
	}
}

func TestAssumeRoleDeniedIsAnAPIError(t *testing.T) {
	cfg, p, st := proxied(t, Options{Region: "us-east-1"})
	p.Add(testenv.Rule{Op: "sts:AssumeRole", Fault: testenv.AccessDenied()})
	acfg := AssumeRole(cfg, "us-east-1", RoleARN("aws", "210987654321", "Audit"), RoleOptions{Name: "Audit"})
	_, err := acfg.Credentials.Retrieve(context.Background())
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "AccessDenied" {
		t.Fatalf("err = %v, want the AccessDenied API error", err)
	}
	if got := st.Op("sts:AssumeRole"); got.Calls != 1 || got.Attempts != 1 {
		t.Errorf("stats %+v: a denial is not retried", got)
	}
}

func TestStatsPrintRegions(t *testing.T) {
	st := NewStats()
	st.updateRegion("eu-west-1", func(r *RegionStats) { r.Calls = 40; r.Throttles = 2 })
	st.RecordRegion("111122223333", "eu-west-1", 2*time.Second, 10)
	st.RecordRegion("444455556666", "eu-west-1", 3*time.Second, 5)
	st.updateRegion("us-east-1", func(r *RegionStats) { r.Calls = 3 })
	var b bytes.Buffer
	st.Print(&b, 0)
	want := `
region     calls  throttled  accounts  notebooks  busy  slowest            
eu-west-1  40     2          2         15         5s    3s (444455556666)  
us-east-1  3      0          0         0          0s    -                  
`
	if got := b.String(); !strings.HasSuffix(got, want) {
		t.Errorf("Print:\n%s\nwant it to end with:\n%s", got, want)
	}
	if r := st.Regions()["eu-west-1"]; r.AccountRegions != 2 || r.Notebooks != 15 || r.Busy != 5*time.Second {
		t.Errorf("Regions = %+v", r)
	}
	// Without recorded account-regions there is no region table.
	b.Reset()
	NewStats().Print(&b, time.Second)
	if strings.Contains(b.String(), "region") {
		t.Errorf("region table printed with nothing recorded:\n%s", b.String())
	}
}
