package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/inventory"
)

// Organisation-wide collection. The accounts come from the caller alone,
// from a list, or from Organizations; each account other than the caller's
// is read through a role assumed once; then one bounded pool of workers
// reads the account-regions, each with its own SageMaker and EC2 clients
// (so each has its own adaptive rate limiter, see awsclient.Load). Account
// setup (AssumeRole, DescribeRegions) runs alongside, feeding the pool as
// each account is ready, so the first regions are read while later
// accounts are still being set up.

// Usage errors of the account options: nothing is read.
var (
	// ErrAccountOptions is matched (errors.Is) by every error about the
	// account options (IDs, Org with Accounts, a missing role).
	ErrAccountOptions = errors.New("invalid account selection")
)

// OrganizationsAPI is the Organizations call that lists the accounts.
type OrganizationsAPI interface {
	ListAccounts(ctx context.Context, in *organizations.ListAccountsInput, optFns ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error)
}

// orgPageSize is the largest page ListAccounts returns.
const orgPageSize = 20

// OrgAccounts returns the IDs of the organisation's ACTIVE accounts,
// sorted. It must be called from the management account or a delegated
// administrator. Suspended, closed and pending accounts cannot be read and
// are left out.
func OrgAccounts(ctx context.Context, api OrganizationsAPI) ([]string, error) {
	var ids []string
	pages := organizations.NewListAccountsPaginator(api, &organizations.ListAccountsInput{MaxResults: aws.Int32(orgPageSize)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the organization's accounts: %w", err)
		}
		for _, a := range page.Accounts {
			if active(a) {
				ids = append(ids, aws.ToString(a.Id))
			}
		}
	}
	return sortedSet(ids), nil
}

// active prefers State, which replaces Status (retired in September 2026).
func active(a orgtypes.Account) bool {
	if a.State != "" {
		return a.State == orgtypes.AccountStateActive
	}
	return a.Status == orgtypes.AccountStatusActive
}

// checkAccountOptions rejects account options that cannot be meant.
func (o CollectOptions) checkAccountOptions() error {
	var bad []string
	for _, id := range slices.Concat(o.Accounts, o.ExcludeAccounts, o.NetworkAccounts) {
		if !awsclient.ValidAccountID(id) {
			bad = append(bad, fmt.Sprintf("%q", id))
		}
	}
	switch {
	case len(bad) > 0:
		return fmt.Errorf("%w: %s is not a 12-digit account ID", ErrAccountOptions, strings.Join(bad, ", "))
	case o.Org && len(o.Accounts) > 0:
		return fmt.Errorf("%w: list the accounts or read them from the organization, not both", ErrAccountOptions)
	case (o.Org || len(o.Accounts) > 0 || len(o.NetworkAccounts) > 0) && o.Role.Name == "":
		return fmt.Errorf("%w: other accounts are read through a role: name it", ErrAccountOptions)
	case !o.Org && len(o.Accounts) == 0 && o.Shard.Count > 1:
		return fmt.Errorf("%w: a shard needs accounts to read (a list or the organization)", ErrAccountOptions)
	case !o.Org && len(o.Accounts) == 0 && len(o.NetworkAccounts) == 0 && o.Role.Name != "":
		return fmt.Errorf("%w: a role needs accounts to read (a list, the organization or network accounts)", ErrAccountOptions)
	}
	if o.Role.Name != "" {
		if err := o.Role.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrAccountOptions, err)
		}
	}
	return nil
}

// clientSource makes the clients collection needs: sdkSource from an
// aws.Config, fakes in tests and benchmarks.
type clientSource interface {
	identity(ctx context.Context) (account, partition string, err error)
	organizations() OrganizationsAPI
	// own is the caller's account, with the caller's credentials.
	own() accountSource
	// assume obtains credentials for account through the role (one
	// sts:AssumeRole) and returns its clients.
	assume(ctx context.Context, partition, account string) (accountSource, error)
}

// accountSource makes the clients of one account.
type accountSource interface {
	regions() RegionsAPI
	region(name string) (SageMakerAPI, EC2API)
}

// sdkSource builds SDK clients from cfg; home is the region of the global
// calls (STS, Organizations, DescribeRegions).
type sdkSource struct {
	cfg  aws.Config
	home string
	role awsclient.RoleOptions
}

func (s sdkSource) identity(ctx context.Context) (string, string, error) {
	account, partition, _, err := awsclient.Identity(ctx, sts.NewFromConfig(s.cfg, func(o *sts.Options) { o.Region = s.home }))
	return account, partition, err
}

func (s sdkSource) organizations() OrganizationsAPI {
	return organizations.NewFromConfig(s.cfg, func(o *organizations.Options) { o.Region = s.home })
}

func (s sdkSource) own() accountSource { return sdkAccount{cfg: s.cfg, home: s.home} }

func (s sdkSource) assume(ctx context.Context, partition, account string) (accountSource, error) {
	cfg := awsclient.AssumeRole(s.cfg, s.home, awsclient.RoleARN(partition, account, s.role.Name), s.role)
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, err
	}
	return sdkAccount{cfg: cfg, home: s.home}, nil
}

type sdkAccount struct {
	cfg  aws.Config
	home string
}

func (a sdkAccount) regions() RegionsAPI {
	return ec2.NewFromConfig(a.cfg, func(o *ec2.Options) { o.Region = a.home })
}

func (a sdkAccount) region(r string) (SageMakerAPI, EC2API) {
	return sagemaker.NewFromConfig(a.cfg, func(o *sagemaker.Options) { o.Region = r }),
		ec2.NewFromConfig(a.cfg, func(o *ec2.Options) { o.Region = r })
}

// work is one account-region for the pool.
type work struct {
	account string
	src     accountSource
	region  string
}

// run is one collection in progress.
type run struct {
	src       clientSource
	opts      CollectOptions
	home      string
	requested []string
	caller    string
	partition string

	// ownList is the caller's region list, read once up front (it
	// validates the requested regions before anything else is read).
	ownList RegionList
	ownErr  error
	// scope are the accounts whose networking the follow-up phase may
	// read (followup.go).
	scope []string

	mu  sync.Mutex
	inv *inventory.Inventory
	// sessions are the accounts' clients, or why none could be had, each
	// obtained once (one AssumeRole per account).
	sessions map[string]session
	// clients are the EC2 clients of the account-regions read that hold
	// transit gateway attachments, and of those the follow-up phase read:
	// a later read there reuses the client and its rate limiter.
	clients map[acctRegion]EC2API
}

// session is an account's clients, or the error that denied them.
type session struct {
	src accountSource
	err error
}

// acctRegion names one account-region.
type acctRegion struct{ account, region string }

// collectFrom is Collect over any client source.
func collectFrom(ctx context.Context, src clientSource, home string, opts CollectOptions) (*inventory.Inventory, error) {
	requested, err := checkRegionNames(opts.Regions)
	if err != nil {
		return nil, err
	}
	if err := opts.checkAccountOptions(); err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	r := &run{
		src: src, opts: opts, home: home, requested: requested,
		sessions: map[string]session{}, clients: map[acctRegion]EC2API{},
		inv: &inventory.Inventory{
			SchemaVersion: inventory.SchemaVersion,
			CollectedAt:   now().UTC(),
			Partition:     awsclient.PartitionOf(home),
			Regions:       []inventory.Region{},
			Resources:     Options{Resources: opts.Resources}.resources(),
		},
	}
	if s := opts.Shard; s.Count > 1 {
		r.inv.Shard = &inventory.Shard{Index: s.Index, Count: s.Count}
	}

	r.caller, r.partition, err = src.identity(ctx)
	if err != nil {
		// Without an identity nothing can be attributed to an account;
		// stop here and let the report say why.
		r.inv.Errors = append(r.inv.Errors, collectError("", home, awsop.GetCallerIdentity, "", err))
		return r.inv, nil
	}
	r.inv.Partition = r.partition

	accounts, scope, err := r.accounts(ctx)
	if err != nil {
		r.inv.Errors = append(r.inv.Errors, collectError(r.caller, "", awsop.ListAccounts, "", err))
		return r.inv, nil
	}
	if slices.Contains(accounts, r.caller) || len(requested) > 0 {
		r.ownList, r.ownErr = Regions(ctx, src.own().regions(), r.partition, requested)
		if errors.Is(r.ownErr, ErrUnknownRegion) {
			return nil, r.ownErr
		}
	}

	r.scope = scope
	r.pool(ctx, accounts)
	r.followUp(ctx)

	slices.SortFunc(r.inv.Regions, func(a, b inventory.Region) int {
		if c := strings.Compare(a.AccountID, b.AccountID); c != 0 {
			return c
		}
		return strings.Compare(a.Region, b.Region)
	})
	slices.SortStableFunc(r.inv.Errors, func(a, b inventory.CollectError) int {
		if c := strings.Compare(a.AccountID, b.AccountID); c != 0 {
			return c
		}
		return strings.Compare(a.Operation, b.Operation)
	})
	return r.inv, nil
}

// accounts decides which accounts to read notebooks from: the
// organisation's ACTIVE ones, the listed ones, or the caller's; less the
// excluded ones, the network accounts and those of other shards. scope
// adds back the other shards' accounts and the network accounts: every
// account whose networking a path may be followed into.
func (r *run) accounts(ctx context.Context) (read, scope []string, err error) {
	var ids []string
	switch {
	case r.opts.Org:
		list, err := OrgAccounts(ctx, r.src.organizations())
		if err != nil {
			return nil, nil, err
		}
		ids = list
	case len(r.opts.Accounts) > 0:
		ids = sortedSet(r.opts.Accounts)
	default:
		ids = []string{r.caller}
	}
	ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(r.opts.ExcludeAccounts, id) })
	scope = sortedSet(ids, r.opts.NetworkAccounts)
	ids = slices.DeleteFunc(ids, func(id string) bool { return slices.Contains(r.opts.NetworkAccounts, id) })
	return r.opts.Shard.Filter(ids), scope, nil
}

// pool sets the accounts up and reads their regions, Workers account-regions
// at once.
func (r *run) pool(ctx context.Context, accounts []string) {
	workers := r.opts.RegionConcurrency
	if workers <= 0 {
		workers = DefaultRegionConcurrency
	}
	items := make(chan work)
	go func() {
		// Setting up is two quick calls per account; bounding it like the
		// pool keeps a large organisation from opening hundreds of
		// sessions before their regions can be read.
		var setup errgroup.Group
		setup.SetLimit(workers)
		for _, id := range accounts {
			setup.Go(func() error {
				for _, w := range r.setup(ctx, id) {
					items <- w // the workers drain items until it is closed
				}
				return nil
			})
		}
		_ = setup.Wait() // failures are recorded in the inventory
		close(items)
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for w := range items {
				start := time.Now()
				sm, ec := w.src.region(w.region)
				reg := Region(ctx, sm, ec, w.account, w.region, Options{Concurrency: r.opts.Concurrency, Resources: r.opts.Resources})
				took := time.Since(start)
				r.mu.Lock()
				r.inv.Regions = append(r.inv.Regions, reg)
				if len(reg.TransitGatewayAttachments) > 0 {
					// The follow-up phase may read more here; other
					// regions' clients are not kept for a large scan's
					// whole length.
					r.clients[acctRegion{w.account, w.region}] = ec
				}
				r.mu.Unlock()
				if r.opts.RegionRead != nil {
					r.opts.RegionRead(w.account, w.region, took, len(reg.Notebooks))
				}
			}
		})
	}
	wg.Wait()
}

// setup obtains an account's clients and region list and returns its
// account-regions to read. A failure is recorded against the account: an
// account whose role cannot be assumed has no notebooks to show, so the
// error is what names it in the report.
func (r *run) setup(ctx context.Context, id string) []work {
	var src accountSource
	var list RegionList
	var err error
	if id == r.caller {
		// The caller's own account is read with the caller's credentials:
		// no AssumeRole into itself (see docs/scale.md).
		src, list, err = r.src.own(), r.ownList, r.ownErr
	} else {
		if src, err = r.session(ctx, id); err != nil {
			return nil
		}
		list, err = Regions(ctx, src.regions(), r.partition, r.requested)
	}
	switch {
	case errors.Is(err, ErrUnknownRegion):
		// Only when the caller's own region list could not be read:
		// the requested regions were not checked before.
		r.addError(inventory.CollectError{AccountID: id, Operation: awsop.DescribeRegions, Code: "UnknownRegion", Message: err.Error()})
		return nil
	case err != nil:
		// The region list could not be read and none was requested: read
		// the configured region only, and say the rest was not covered.
		r.addError(collectError(id, "", awsop.DescribeRegions, "", err))
		list = RegionList{Enabled: []string{r.home}}
	}
	for _, reg := range list.NotEnabled {
		r.addRegion(inventory.Region{
			AccountID: id,
			Region:    reg,
			Notebooks: []inventory.Notebook{},
			Errors: []inventory.CollectError{{
				AccountID: id, Region: reg, Operation: awsop.DescribeRegions, Code: "RegionNotEnabled",
				Message: "region " + reg + " is not enabled in account " + id + " (an opt-in region); it was not read",
			}},
		})
	}
	out := make([]work, 0, len(list.Enabled))
	for _, reg := range list.Enabled {
		out = append(out, work{account: id, src: src, region: reg})
	}
	return out
}

// session returns the clients of account: the caller's own, or through
// the role, assumed once per account and remembered (a denial too, which
// is recorded against the account the first time).
func (r *run) session(ctx context.Context, account string) (accountSource, error) {
	if account == r.caller {
		return r.src.own(), nil
	}
	r.mu.Lock()
	s, ok := r.sessions[account]
	r.mu.Unlock()
	if ok {
		return s.src, s.err
	}
	src, err := r.src.assume(ctx, r.partition, account)
	if err != nil {
		r.addError(collectError(account, "", awsop.AssumeRole, awsclient.RoleARN(r.partition, account, r.opts.Role.Name), err))
	}
	r.mu.Lock()
	r.sessions[account] = session{src: src, err: err}
	r.mu.Unlock()
	return src, err
}

func (r *run) addError(ce inventory.CollectError) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inv.Errors = append(r.inv.Errors, ce)
}

func (r *run) addRegion(reg inventory.Region) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inv.Regions = append(r.inv.Regions, reg)
}
