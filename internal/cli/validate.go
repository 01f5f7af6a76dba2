package cli

import (
	"github.com/sagefence/sagefence/internal/awsclient"
)

// Input every command checks the same way, before it reads AWS. The
// configured region (environment, shared config) is checked where the SDK
// configuration is loaded (awsclient.Load), before any call.

// regionsFlag splits --regions and checks every name, naming the flag.
// An empty value is no regions (the command's default).
func regionsFlag(value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	regions := splitList(value)
	if len(regions) == 0 {
		return nil, usageErrf("--regions: no region given")
	}
	for _, r := range regions {
		if err := awsclient.CheckRegion("--regions", r); err != nil {
			return nil, usageErr(err)
		}
	}
	return regions, nil
}
