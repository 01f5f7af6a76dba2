package cli

import (
	"context"
	"errors"

	"github.com/sagefence/sagefence/internal/inventory"
)

// collectLive reads the account through the AWS SDK.
func collectLive(ctx context.Context, o liveOptions) (*inventory.Inventory, statsPrinter, error) {
	return nil, nil, errors.New("live collection is not wired yet")
}
