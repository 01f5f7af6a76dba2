package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

var shared SharedMoto

func TestMain(m *testing.M) { Main(m, &shared) }

func TestCloseStopsMotoAndItsProcessGroup(t *testing.T) {
	m := MotoForTest(t)
	pid := m.cmd.Process.Pid
	if err := syscall.Kill(-pid, 0); err != nil {
		t.Fatalf("moto is not the leader of its own process group: %v", err)
	}
	m.Close()
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists after Close (kill 0: %v)", pid, err)
	}
	m.Close() // a second Close is harmless
}

func TestResetDropsEveryResource(t *testing.T) {
	m := shared.ForTest(t)
	ctx := context.Background()
	c := ec2.NewFromConfig(Config(m.URL()))
	vpc, err := CreateVPC(ctx, c, "10.9.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	out, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{
		{Name: aws.String("vpc-id"), Values: []string{vpc}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Vpcs) != 0 {
		t.Errorf("VPC %s survived Reset", vpc)
	}
}

// fakeTB records whether a helper skipped or failed.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }

func TestMissingMotoSkipsLocallyAndFailsOnCI(t *testing.T) {
	tests := []struct {
		ci          string
		err         error
		wantSkipped bool
	}{
		{ci: "", err: ErrMotoNotInstalled, wantSkipped: true},
		{ci: "true", err: ErrMotoNotInstalled, wantSkipped: false},
		{ci: "", err: fmt.Errorf("moto_server exited with status 1"), wantSkipped: false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("CI=%q/%v", tt.ci, tt.err), func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			f := &fakeTB{}
			skipOrFail(f, tt.err)
			if f.skipped != tt.wantSkipped || f.failed == tt.wantSkipped {
				t.Errorf("skipped=%v failed=%v, want skipped=%v", f.skipped, f.failed, tt.wantSkipped)
			}
		})
	}
}

func TestStartMotoWithoutMotoReportsNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := StartMoto(context.Background())
	if !errors.Is(err, ErrMotoNotInstalled) {
		t.Errorf("err = %v, want ErrMotoNotInstalled", err)
	}
}

func TestSetAWSEnvIsolatesTheSDK(t *testing.T) {
	home := t.TempDir()
	// A developer's real profile that must not leak into tests.
	if err := os.WriteFile(home+"/config", []byte("[default]\nregion = eu-west-3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", home+"/config")
	t.Setenv("AWS_PROFILE", "default")
	t.Setenv("AWS_ENDPOINT_URL_EC2", "http://example.invalid")
	env := strings.Join(Environ("u"), " ")
	if !strings.Contains(env, "AWS_EC2_METADATA_DISABLED=true") || strings.Contains(env, "AWS_PROFILE") ||
		strings.Contains(env, "example.invalid") {
		t.Errorf("Environ keeps the user's AWS settings: %s", env)
	}

	SetAWSEnv(t, "http://127.0.0.1:1")
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != Region {
		t.Errorf("region = %q, want %q", cfg.Region, Region)
	}
	if aws.ToString(cfg.BaseEndpoint) != "http://127.0.0.1:1" {
		t.Errorf("BaseEndpoint = %q", aws.ToString(cfg.BaseEndpoint))
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if creds.AccessKeyID != "testing" {
		t.Errorf("access key = %q", creds.AccessKeyID)
	}
	if got, ok := os.LookupEnv("AWS_ENDPOINT_URL_EC2"); ok {
		t.Errorf("AWS_ENDPOINT_URL_EC2 = %q, want it unset", got)
	}
	if got, ok := os.LookupEnv("AWS_PROFILE"); ok {
		t.Errorf("AWS_PROFILE = %q, want it unset", got)
	}
	if b, err := os.ReadFile(os.Getenv("AWS_CONFIG_FILE")); err != nil || len(b) != 0 {
		t.Errorf("AWS_CONFIG_FILE is not an empty file: %q %v", b, err)
	}
}

func TestStartMotoHonoursContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 1*time.Millisecond)
	defer cancel()
	time.Sleep(2 * time.Millisecond)
	m, err := StartMoto(ctx)
	if err == nil {
		m.Close()
		t.Fatal("StartMoto succeeded with an expired context")
	}
}
