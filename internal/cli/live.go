package cli

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
	"github.com/spf13/pflag"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/collect"
	"github.com/sagefence/sagefence/internal/inventory"
)

// loadAWS resolves the SDK configuration for the live options, checking
// that credentials can be had: a missing profile or missing credentials are
// configuration errors (exit 2), found before any notebook is read.
func loadAWS(ctx context.Context, o liveOptions, stats *awsclient.Stats) (aws.Config, error) {
	cfg, err := awsclient.Load(ctx, awsclient.Options{
		Profile:     o.Profile,
		EndpointURL: o.EndpointURL,
		CallTimeout: o.CallTimeout,
		Stats:       stats,
	})
	if err != nil {
		return cfg, err
	}
	if cfg.Credentials == nil {
		return cfg, fmt.Errorf("no AWS credentials found (set a profile with --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return cfg, fmt.Errorf("no usable AWS credentials: %w", err)
	}
	return cfg, nil
}

// collectLive reads the account through the AWS SDK, counting calls in
// o.Stats (a new Stats when nil) and telling o.Progress and o.Identity how
// it goes.
func collectLive(ctx context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error) {
	stats := o.Stats
	if stats == nil {
		stats = awsclient.NewStats()
	}
	var cfg aws.Config
	if o.Config != nil {
		cfg = *o.Config
	} else {
		var err error
		if cfg, err = loadAWS(ctx, o, stats); err != nil {
			return nil, nil, err
		}
	}
	if o.Identity != nil {
		cfg.APIOptions = append(slices.Clip(cfg.APIOptions), identityRecorder(o.Identity))
	}
	copts := collect.CollectOptions{Regions: o.Regions, Concurrency: o.Concurrency, Resources: o.Resources,
		RegionRead: func(account, region string, took time.Duration, notebooks int) {
			stats.RecordRegion(account, region, took, notebooks)
			if o.Progress != nil {
				o.Progress(account, region, notebooks)
			}
		}}
	o.Org.apply(&copts)
	inv, err := collect.Collect(ctx, cfg, copts)
	if err != nil {
		return nil, nil, err
	}
	return inv, stats, nil
}

// identityRecorder hands fn the caller's identity as collect's own
// sts:GetCallerIdentity returns it: the inventory keeps the account but not
// the ARN, and the evidence manifest needs both without a second call.
func identityRecorder(fn func(account, arn string)) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("sagefence.cli.Identity",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
				middleware.InitializeOutput, middleware.Metadata, error,
			) {
				out, md, err := next.HandleInitialize(ctx, in)
				if id, ok := out.Result.(*sts.GetCallerIdentityOutput); ok && err == nil {
					fn(aws.ToString(id.Account), aws.ToString(id.Arn))
				}
				return out, md, err
			}), middleware.After)
		if err != nil {
			return fmt.Errorf("add identity recorder: %w", err)
		}
		return nil
	}
}

// addLiveFlags adds the flags of a live scan's reading: profile, regions
// (as text, parsed by regionsFlag), endpoint, concurrency and call timeout.
func addLiveFlags(f *pflag.FlagSet, o *liveOptions, regions *string) {
	f.StringVar(&o.Profile, "profile", "", "AWS shared-config profile (default: the SDK's default chain)")
	f.StringVar(regions, "regions", "", "comma-separated regions to scan (default: every enabled region of the caller's partition)")
	f.StringVar(&o.EndpointURL, "endpoint-url", "", "send every AWS call to this endpoint (an emulator); AWS_ENDPOINT_URL is honoured too")
	f.IntVar(&o.Concurrency, "concurrency", 8, "notebooks described at once per region")
	f.DurationVar(&o.CallTimeout, "call-timeout", 30*time.Second, "give up on one attempt of an AWS call after this long (it is retried; a call may take up to 8 attempts)")
}
