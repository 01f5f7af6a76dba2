package cli

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

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

// collectLive reads the account through the AWS SDK.
func collectLive(ctx context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error) {
	stats := awsclient.NewStats()
	cfg, err := loadAWS(ctx, o, stats)
	if err != nil {
		return nil, nil, err
	}
	inv, err := collect.Collect(ctx, cfg, collect.CollectOptions{Regions: o.Regions, Concurrency: o.Concurrency})
	if err != nil {
		return nil, nil, err
	}
	return inv, stats, nil
}
