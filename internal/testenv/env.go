package testenv

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region tests use unless they need several.
const Region = "us-east-1"

// AccountID is the account moto answers as.
const AccountID = "123456789012"

// Env returns the environment entries ("KEY=value") that point the AWS SDK
// (and the AWS CLI) at url with fake credentials in us-east-1, cut off from
// the user's ~/.aws and from instance metadata. url may be empty. Use
// Environ for a command's whole environment: variables the user already
// has (AWS_PROFILE, AWS_ENDPOINT_URL_EC2, ...) must be removed, not set
// empty, because botocore treats an empty AWS_PROFILE as a profile name.
func Env(url string) []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=testing",
		"AWS_SECRET_ACCESS_KEY=testing",
		"AWS_SESSION_TOKEN=testing",
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}
	if url != "" {
		env = append(env, "AWS_ENDPOINT_URL="+url)
	}
	return env
}

// Environ is this process's environment without any AWS_ variable, plus
// Env(url): the environment for a command under test (the CLI, moto).
func Environ(url string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env, Env(url)...)
}

// SetAWSEnv makes this process's environment Environ(url) for the duration
// of t, with AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE pointing at
// empty files in t's temporary directory (a test may write profiles into
// them: their paths are in the environment). Like t.Setenv, it cannot be
// used in parallel tests.
func SetAWSEnv(t testing.TB, url string) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "") // registers the restore of the old value
			os.Unsetenv(k)
		}
	}
	for _, kv := range Env(url) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	for _, k := range []string{"AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"} {
		p := filepath.Join(dir, strings.ToLower(k))
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatalf("create empty %s: %v", k, err)
		}
		t.Setenv(k, p)
	}
}

// Config returns an SDK config for url with static fake credentials in
// us-east-1, built without reading the environment or any file. Tests use
// it to build estates and to call moto directly; it retries only a couple
// of times, quickly.
func Config(url string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(url),
		HTTPClient:   &http.Client{Timeout: 30 * time.Second},
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 50 * time.Millisecond
			})
		},
	}
}

// SyncBuffer is a bytes.Buffer that a process or goroutine may write while
// the test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
