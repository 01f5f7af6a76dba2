// Package awsclient builds the AWS SDK configuration every command uses:
// the default credential chain with an optional named profile, region and
// endpoint overrides, a retryer that backs off on throttling and rate-limits
// adaptively, a per-request timeout, call statistics (Stats) and
// configurations for a role assumed in another account (AssumeRole). It
// also knows AWS partitions and region names (a region name is checked
// without calling AWS) and resolves the caller's identity. It never
// creates service clients beyond STS; callers build theirs from the
// returned aws.Config.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
)

// ErrUnknownProfile is matched (errors.Is) by the error Load returns when
// the requested profile (--profile or AWS_PROFILE) is not in the shared
// config or credentials files: a usage error, not an AWS failure.
var ErrUnknownProfile = errors.New("unknown AWS profile")

// DefaultMaxAttempts is how many times a call is tried when
// Options.MaxAttempts is 0. Higher than the SDK's 3 because a scan makes
// bursts of describe calls, and a throttled call that gives up turns a
// notebook into ERROR.
const DefaultMaxAttempts = 8

// maxIdleConns bounds the idle connections kept per host (and in all):
// at least the calls an organisation scan keeps in flight by default
// (8 account-regions × 8 notebooks).
const maxIdleConns = 128

// Options select the configuration to load. Zero values mean the SDK's
// defaults (environment, shared config, default chain).
type Options struct {
	// Profile is a named profile from ~/.aws/config or ~/.aws/credentials.
	Profile string
	// Region overrides the configured region.
	Region string
	// EndpointURL sends every service to one endpoint (an emulator, a
	// proxy). When empty, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>
	// keep working as the SDK defines them.
	EndpointURL string
	// MaxAttempts bounds the attempts per call, retries included;
	// 0 means DefaultMaxAttempts.
	MaxAttempts int
	// MaxBackoff caps the delay between attempts; 0 means the SDK's 20s.
	MaxBackoff time.Duration
	// CallTimeout bounds each HTTP attempt (connect, send, read the whole
	// response). An attempt that times out is retried like any transient
	// error, so a call can take up to MaxAttempts × CallTimeout plus
	// backoff. 0 means no timeout beyond the context's.
	CallTimeout time.Duration
	// Stats, if set, counts every call made through the configuration.
	Stats *Stats
}

// Load resolves an aws.Config for opts. A configured region (opts.Region,
// AWS_REGION, AWS_DEFAULT_REGION or the profile's) that is not an AWS
// region is a *RegionError naming where it was set.
func Load(ctx context.Context, opts Options) (aws.Config, error) {
	maxAttempts := opts.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	loadOpts := []func(*config.LoadOptions) error{
		// The standard retryer already retries ThrottlingException,
		// RequestLimitExceeded and 5xx with exponential backoff and jitter
		// (1s base for throttles); only the number of attempts and the cap
		// on the backoff are ours. Adaptive mode adds a client-side token
		// bucket that slows the sending rate after a throttle and recovers
		// it gradually (CUBIC). Every client gets its own retryer, and
		// collection builds one client per service per account-region, so
		// the bucket is per account, region and service: the scope AWS
		// throttles in.
		config.WithRetryer(func() aws.Retryer {
			return retry.NewAdaptiveMode(func(a *retry.AdaptiveModeOptions) {
				a.StandardOptions = append(a.StandardOptions, func(o *retry.StandardOptions) {
					// No retry quota: it is spent by retries that fail and
					// would end calls after one attempt under sustained
					// throttling; the adaptive sending rate slows the client.
					o.RateLimiter = ratelimit.None
					o.MaxAttempts = maxAttempts
					if opts.MaxBackoff > 0 {
						o.MaxBackoff = opts.MaxBackoff
					}
				})
			})
		}),
	}
	// The SDK's own log lines (an IMDSv1 fallback, a deprecation) are not
	// for sagefence's users: stderr carries sagefence's errors and status
	// only. What fails is returned as an error and said once.
	loadOpts = append(loadOpts, config.WithLogger(logging.Nop{}))
	if opts.Profile != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(opts.Region))
	}
	if opts.EndpointURL != "" {
		loadOpts = append(loadOpts, config.WithBaseEndpoint(opts.EndpointURL))
	}
	// An organisation scan keeps many calls in flight to the same host (an
	// emulator, or one region's endpoint for several accounts): keep enough
	// idle connections that they are reused rather than reopened.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = maxIdleConns
		t.MaxIdleConnsPerHost = maxIdleConns
	})
	if opts.CallTimeout > 0 {
		httpClient = httpClient.WithTimeout(opts.CallTimeout)
	}
	loadOpts = append(loadOpts, config.WithHTTPClient(httpClient))
	if opts.Stats != nil {
		loadOpts = append(loadOpts, config.WithAPIOptions([]func(*middleware.Stack) error{opts.Stats.APIOption}))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		var notExist config.SharedConfigProfileNotExistError
		if errors.As(err, &notExist) {
			return aws.Config{}, fmt.Errorf("%w %q (not in the shared config or credentials file): %w", ErrUnknownProfile, notExist.Profile, err)
		}
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	// A region that is not one would reach AWS as a host name that does
	// not resolve, or an emulator that answers anything: refuse it here,
	// before any call, naming where it was set.
	if err := configuredRegion(cfg); err != nil {
		return aws.Config{}, err
	}
	return cfg, nil
}

// STSAPI is the STS call Identity needs.
type STSAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// Identity returns the caller's account ID, partition and ARN.
func Identity(ctx context.Context, api STSAPI) (account, partition, arn string, err error) {
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", "", "", fmt.Errorf("resolve caller identity: %w", err)
	}
	arn = aws.ToString(out.Arn)
	partition = PartitionFromARN(arn)
	if partition == "" {
		return "", "", "", fmt.Errorf("sts:GetCallerIdentity returned an unusable ARN %q", arn)
	}
	return aws.ToString(out.Account), partition, arn, nil
}
