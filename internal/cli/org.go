package cli

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/collect"
	"github.com/sagefence/sagefence/internal/shard"
)

// orgOptions select the accounts of a live scan and how they are read
// (docs/scale.md).
type orgOptions struct {
	Org             bool
	Accounts        []string
	ExcludeAccounts []string
	// NetworkAccounts are read for networking only (transit gateways and
	// the VPCs behind them), never for notebooks.
	NetworkAccounts []string
	RoleName        string
	ExternalID      string
	RoleSessionName string
	Shard           shard.Shard
	// Workers bounds the account-regions read at once.
	Workers int

	shardText string
}

// orgFlagNames are the flags addOrgFlags defines; they all read AWS.
var orgFlagNames = []string{"org", "accounts", "exclude-accounts", "network-accounts", "role-name", "external-id", "role-session-name", "shard", "workers"}

func addOrgFlags(f *pflag.FlagSet, o *orgOptions) {
	f.BoolVar(&o.Org, "org", false, "scan every ACTIVE account of the organization (organizations:ListAccounts; run from the management or a delegated-administrator account); needs --role-name")
	f.StringSliceVar(&o.Accounts, "accounts", nil, "comma-separated account `IDs` to scan through --role-name (the caller's own account is read with its own credentials)")
	f.StringSliceVar(&o.ExcludeAccounts, "exclude-accounts", nil, "comma-separated account `IDs` never to scan")
	f.StringSliceVar(&o.NetworkAccounts, "network-accounts", nil, "comma-separated account `IDs` whose transit gateways and egress VPCs the path analysis may read, through --role-name; their notebooks are not scanned (a path into an account out of scope is REVIEW)")
	f.StringVar(&o.RoleName, "role-name", "", "role to assume in each account, as arn:<partition>:iam::<account>:role/`NAME` (one AssumeRole per account)")
	f.StringVar(&o.ExternalID, "external-id", "", "external ID to pass to AssumeRole")
	f.StringVar(&o.RoleSessionName, "role-session-name", awsclient.DefaultRoleSessionName, "role session name, as CloudTrail shows it")
	f.StringVar(&o.shardText, "shard", "", "scan only the accounts of shard `K/N` (0 ≤ K < N): FNV-1a-64(account ID) mod N = K; join the shards' JSON reports with sagefence merge")
	f.IntVar(&o.Workers, "workers", collect.DefaultRegionConcurrency, "account-regions read at once (each describes --concurrency notebooks at once)")
}

// validate checks the account flags; input is true when --input is set.
func (o *orgOptions) validate(f *pflag.FlagSet, input bool) error {
	if input {
		for _, name := range orgFlagNames {
			if f.Changed(name) {
				return usageErrf("--%s reads AWS and cannot be combined with --input", name)
			}
		}
		return nil
	}
	var err error
	if o.Shard, err = shard.Parse(o.shardText); err != nil {
		return usageErrf("--shard: %v", err)
	}
	if o.Accounts, err = accountList("--accounts", o.Accounts); err != nil {
		return err
	}
	if o.ExcludeAccounts, err = accountList("--exclude-accounts", o.ExcludeAccounts); err != nil {
		return err
	}
	if o.NetworkAccounts, err = accountList("--network-accounts", o.NetworkAccounts); err != nil {
		return err
	}
	multi := o.Org || len(o.Accounts) > 0
	network := len(o.NetworkAccounts) > 0
	switch {
	case o.Org && len(o.Accounts) > 0:
		return usageErrf("--org and --accounts cannot be combined: use --exclude-accounts to leave organization accounts out")
	case multi && o.RoleName == "":
		return usageErrf("--org and --accounts need --role-name: other accounts are read through a role assumed in each")
	case network && o.RoleName == "":
		return usageErrf("--network-accounts needs --role-name: network accounts are read through a role assumed in each")
	case !multi && !network && o.RoleName != "":
		return usageErrf("--role-name needs --org or --accounts, or --network-accounts (without them the caller's own account is scanned with its own credentials)")
	case !multi && o.Shard.Count > 1:
		return usageErrf("--shard needs --org or --accounts: it splits accounts")
	case !multi && len(o.ExcludeAccounts) > 0:
		return usageErrf("--exclude-accounts needs --org or --accounts")
	case !multi && !network && (f.Changed("external-id") || f.Changed("role-session-name")):
		return usageErrf("--external-id and --role-session-name need --org or --accounts, or --network-accounts")
	case o.Workers < 1 || o.Workers > 256:
		return usageErrf("--workers %d: want 1 to 256", o.Workers)
	}
	if multi || network {
		if err := o.role().Validate(); err != nil {
			return usageErrf("--role-name, --external-id or --role-session-name: %v", err)
		}
	}
	return nil
}

// accountList trims and checks account IDs.
func accountList(flag string, in []string) ([]string, error) {
	var out []string
	for _, id := range in {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if !awsclient.ValidAccountID(id) {
			return nil, usageErrf("%s: %q is not a 12-digit account ID", flag, id)
		}
		out = append(out, id)
	}
	return out, nil
}

func (o *orgOptions) role() awsclient.RoleOptions {
	return awsclient.RoleOptions{Name: o.RoleName, ExternalID: o.ExternalID, SessionName: o.RoleSessionName}
}

// apply copies the account selection into collection options.
func (o *orgOptions) apply(c *collect.CollectOptions) {
	c.Org = o.Org
	c.Accounts = o.Accounts
	c.ExcludeAccounts = o.ExcludeAccounts
	c.NetworkAccounts = o.NetworkAccounts
	c.Shard = o.Shard
	c.RegionConcurrency = o.Workers
	if o.RoleName != "" {
		c.Role = o.role()
	}
}
