package collect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	orgtypes "github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/shard"
)

const caller = "100000000000"

// fakeOrg pages through accounts like ListAccounts.
type fakeOrg struct {
	accounts []orgtypes.Account
	err      error

	mu    sync.Mutex
	pages int
}

func (f *fakeOrg) ListAccounts(_ context.Context, in *organizations.ListAccountsInput, _ ...func(*organizations.Options)) (*organizations.ListAccountsOutput, error) {
	f.mu.Lock()
	f.pages++
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	size := int(aws.ToInt32(in.MaxResults))
	if size < 1 || size > 20 {
		return nil, fmt.Errorf("fake: MaxResults %d out of 1..20", size)
	}
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	end := min(start+size, len(f.accounts))
	out := &organizations.ListAccountsOutput{Accounts: f.accounts[start:end]}
	if end < len(f.accounts) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

// fakeSource is an organisation in memory: every account has the same
// enabled regions, each account-region perRegion notebooks in a VPC.
type fakeSource struct {
	org         *fakeOrg
	regionNames []string
	perRegion   int
	denied      map[string]error // AssumeRole fails for these accounts
	regionsErr  map[string]error // DescribeRegions fails in these accounts
	identityErr error            // GetCallerIdentity fails
	latency     time.Duration    // added to every SageMaker call
	block       bool             // SageMaker describes wait for the context
	// estate, if set, makes each account-region's clients instead of
	// bigEstate(perRegion).
	estate func(account, region string) (*fakeSageMaker, *fakeEC2)

	mu      sync.Mutex
	assumed map[string]int
	built   map[string]int            // account/region -> clients built
	ecs     map[string]*fakeEC2       // account/region -> the EC2 fake built last
	sms     map[string]*fakeSageMaker // account/region -> the SageMaker fake built last
}

// ec2Of is the EC2 fake built for account and region (nil if none was).
func (f *fakeSource) ec2Of(account, region string) *fakeEC2 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ecs[account+"/"+region]
}

// sageMakerOf is the SageMaker fake built for account and region.
func (f *fakeSource) sageMakerOf(account, region string) *fakeSageMaker {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sms[account+"/"+region]
}

func (f *fakeSource) identity(context.Context) (string, string, error) {
	if f.identityErr != nil {
		return "", "", f.identityErr
	}
	return caller, "aws", nil
}
func (f *fakeSource) organizations() OrganizationsAPI { return f.org }
func (f *fakeSource) own() accountSource              { return fakeAccount{f, caller} }

func (f *fakeSource) assume(ctx context.Context, partition, account string) (accountSource, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.assumed == nil {
		f.assumed = map[string]int{}
	}
	f.assumed[account]++
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := f.denied[account]; err != nil {
		return nil, err
	}
	return fakeAccount{f, account}, nil
}

func (f *fakeSource) assumeCount(account string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.assumed[account]
}

type fakeAccount struct {
	f  *fakeSource
	id string
}

func (a fakeAccount) regions() RegionsAPI {
	ec := &fakeEC2{errs: map[string]error{"DescribeRegions": a.f.regionsErr[a.id]}}
	for _, r := range a.f.regionNames {
		ec.regions = append(ec.regions, ec2types.Region{RegionName: aws.String(r), OptInStatus: aws.String("opt-in-not-required")})
	}
	ec.regions = append(ec.regions, ec2types.Region{RegionName: aws.String("ap-east-1"), OptInStatus: aws.String("not-opted-in")})
	return ec
}

func (a fakeAccount) region(name string) (SageMakerAPI, EC2API) {
	a.f.mu.Lock()
	if a.f.built == nil {
		a.f.built = map[string]int{}
	}
	a.f.built[a.id+"/"+name]++
	a.f.mu.Unlock()
	var sm *fakeSageMaker
	var ec *fakeEC2
	if a.f.estate != nil {
		sm, ec = a.f.estate(a.id, name)
	} else {
		sm, ec = bigEstate(a.f.perRegion)
	}
	a.f.mu.Lock()
	if a.f.ecs == nil {
		a.f.ecs, a.f.sms = map[string]*fakeEC2{}, map[string]*fakeSageMaker{}
	}
	a.f.ecs[a.id+"/"+name], a.f.sms[a.id+"/"+name] = ec, sm
	a.f.mu.Unlock()
	sm.block = a.f.block
	return slowSageMaker{sm, a.f.latency}, ec
}

// slowSageMaker adds latency to every call, like a remote API.
type slowSageMaker struct {
	SageMakerAPI
	d time.Duration
}

func (s slowSageMaker) wait(ctx context.Context) error {
	if s.d == 0 {
		return nil
	}
	t := time.NewTimer(s.d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s slowSageMaker) ListNotebookInstances(ctx context.Context, in *sagemaker.ListNotebookInstancesInput, o ...func(*sagemaker.Options)) (*sagemaker.ListNotebookInstancesOutput, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.SageMakerAPI.ListNotebookInstances(ctx, in, o...)
}

func (s slowSageMaker) DescribeNotebookInstance(ctx context.Context, in *sagemaker.DescribeNotebookInstanceInput, o ...func(*sagemaker.Options)) (*sagemaker.DescribeNotebookInstanceOutput, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.SageMakerAPI.DescribeNotebookInstance(ctx, in, o...)
}

func (s slowSageMaker) ListTags(ctx context.Context, in *sagemaker.ListTagsInput, o ...func(*sagemaker.Options)) (*sagemaker.ListTagsOutput, error) {
	if err := s.wait(ctx); err != nil {
		return nil, err
	}
	return s.SageMakerAPI.ListTags(ctx, in, o...)
}

// accountIDs makes n account IDs after the caller's.
func accountIDs(n int) []string {
	var ids []string
	for i := 1; i <= n; i++ {
		ids = append(ids, fmt.Sprintf("%012d", 200000000000+i))
	}
	return ids
}

func orgOf(ids []string, states map[string]orgtypes.AccountState) *fakeOrg {
	f := &fakeOrg{}
	for _, id := range ids {
		st := orgtypes.AccountStateActive
		if s, ok := states[id]; ok {
			st = s
		}
		f.accounts = append(f.accounts, orgtypes.Account{Id: aws.String(id), State: st})
	}
	return f
}

// accountRegions lists "account/region" of every region read.
func accountRegions(inv *inventory.Inventory) []string {
	var out []string
	for _, r := range inv.Regions {
		out = append(out, r.AccountID+"/"+r.Region)
	}
	return out
}

var audit = awsclient.RoleOptions{Name: "Audit"}

func TestOrgCollectionReadsEveryActiveAccountOnce(t *testing.T) {
	ids := append([]string{caller}, accountIDs(44)...) // 45 accounts: three pages
	suspended, closed, legacy := ids[3], ids[30], ids[41]
	org := orgOf(ids, map[string]orgtypes.AccountState{suspended: orgtypes.AccountStateSuspended, closed: orgtypes.AccountStateClosed})
	// An account that only reports the older Status field.
	org.accounts[41] = orgtypes.Account{Id: aws.String(legacy), Status: orgtypes.AccountStatusPendingClosure}
	src := &fakeSource{org: org, regionNames: []string{"eu-west-1", "us-east-1"}, perRegion: 2}
	var mu sync.Mutex
	read := map[string]int{}
	inv, err := collectFrom(context.Background(), src, "us-east-1", CollectOptions{
		Org: true, Role: audit, Regions: []string{"us-east-1", "eu-west-1"},
		RegionRead: func(account, region string, _ time.Duration, notebooks int) {
			mu.Lock()
			defer mu.Unlock()
			read[account+"/"+region] += notebooks
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Errors) != 0 {
		t.Fatalf("errors: %+v", inv.Errors)
	}
	if org.pages != 3 {
		t.Errorf("ListAccounts pages = %d, want 3 for 45 accounts", org.pages)
	}
	var want []string
	for _, id := range ids {
		if id == suspended || id == closed || id == legacy {
			continue
		}
		want = append(want, id+"/eu-west-1", id+"/us-east-1")
	}
	if got := accountRegions(inv); !slices.Equal(got, want) {
		t.Errorf("account-regions read:\n%v\nwant (sorted, ACTIVE only):\n%v", got, want)
	}
	for _, r := range inv.Regions {
		if len(r.Notebooks) != 2 || len(r.Subnets) != 2 {
			t.Errorf("%s/%s: %d notebooks, %d subnets", r.AccountID, r.Region, len(r.Notebooks), len(r.Subnets))
		}
		if read[r.AccountID+"/"+r.Region] != 2 {
			t.Errorf("%s/%s: RegionRead said %d notebooks", r.AccountID, r.Region, read[r.AccountID+"/"+r.Region])
		}
	}
	for _, id := range ids {
		n := src.assumeCount(id)
		switch {
		case id == caller && n != 0:
			t.Errorf("assumed a role into the caller's own account %d times", n)
		case id != caller && slices.Contains(want, id+"/us-east-1") && n != 1:
			t.Errorf("account %s: %d AssumeRole, want 1", id, n)
		case (id == suspended || id == closed || id == legacy) && n != 0:
			t.Errorf("inactive account %s: %d AssumeRole", id, n)
		}
	}
	for k, n := range src.built {
		if n != 1 {
			t.Errorf("%s: clients built %d times, want once per account-region", k, n)
		}
	}
}

func TestOneAccountsFailureIsRecordedAgainstItAndTheRestIsRead(t *testing.T) {
	ids := accountIDs(4)
	src := &fakeSource{
		org:         orgOf(append([]string{caller}, ids...), nil),
		regionNames: []string{"us-east-1"},
		perRegion:   1,
		denied:      map[string]error{ids[1]: denied("AccessDenied")},
		regionsErr:  map[string]error{ids[2]: denied("UnauthorizedOperation")},
	}
	inv, err := collectFrom(context.Background(), src, "us-east-1", CollectOptions{Org: true, Role: audit})
	if err != nil {
		t.Fatal(err)
	}
	wantErrs := []inventory.CollectError{
		{AccountID: ids[1], Operation: "sts:AssumeRole", Resource: "arn:aws:iam::" + ids[1] + ":role/Audit", Code: "AccessDenied", Message: "User is not authorized to perform this operation"},
		{AccountID: ids[2], Operation: "ec2:DescribeRegions", Code: "UnauthorizedOperation", Message: "User is not authorized to perform this operation"},
	}
	if !slices.Equal(inv.Errors, wantErrs) {
		t.Errorf("errors:\n%+v\nwant:\n%+v", inv.Errors, wantErrs)
	}
	// The denied account has no region; the one without a region list is
	// read in the home region; the others are read.
	want := []string{caller + "/us-east-1", ids[0] + "/us-east-1", ids[2] + "/us-east-1", ids[3] + "/us-east-1"}
	if got := accountRegions(inv); !slices.Equal(got, want) {
		t.Errorf("account-regions %v, want %v", got, want)
	}
}

func TestAccountListingFailureIsRecorded(t *testing.T) {
	src := &fakeSource{org: &fakeOrg{err: denied("AccessDeniedException")}, regionNames: []string{"us-east-1"}}
	inv, err := collectFrom(context.Background(), src, "us-east-1", CollectOptions{Org: true, Role: audit})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Errors) != 1 || inv.Errors[0].Operation != "organizations:ListAccounts" || inv.Errors[0].AccountID != caller ||
		inv.Errors[0].Code != "AccessDeniedException" || len(inv.Regions) != 0 {
		t.Errorf("errors %+v, regions %v", inv.Errors, accountRegions(inv))
	}
}

func TestAccountListExclusionsAndShards(t *testing.T) {
	ids := accountIDs(12)
	src := &fakeSource{regionNames: []string{"us-east-1"}, perRegion: 1}
	ctx := context.Background()

	inv, err := collectFrom(ctx, src, "us-east-1", CollectOptions{Accounts: append(ids, ids[0]), ExcludeAccounts: ids[:2], Role: audit})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, id := range ids[2:] {
		want = append(want, id+"/us-east-1")
	}
	if got := accountRegions(inv); !slices.Equal(got, want) {
		t.Errorf("listed less excluded: %v, want %v", got, want)
	}

	seen := map[string]int{}
	for k := range 3 {
		inv, err := collectFrom(ctx, src, "us-east-1", CollectOptions{Accounts: ids, Role: audit, Shard: shard.Shard{Index: k, Count: 3}})
		if err != nil {
			t.Fatal(err)
		}
		if s := inv.Shard; s == nil || s.Index != k || s.Count != 3 {
			t.Errorf("shard %d/3: inventory records shard %+v", k, s)
		}
		for _, r := range inv.Regions {
			seen[r.AccountID]++
			if shard.Of(r.AccountID, 3) != k {
				t.Errorf("shard %d read %s, which belongs to shard %d", k, r.AccountID, shard.Of(r.AccountID, 3))
			}
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("account %s read by %d shards, want 1", id, seen[id])
		}
	}
}

func TestCallerOutsideTheSetIsNotRead(t *testing.T) {
	ids := accountIDs(2)
	src := &fakeSource{org: orgOf(append([]string{caller}, ids...), nil), regionNames: []string{"us-east-1"}, perRegion: 1,
		regionsErr: map[string]error{caller: denied("UnauthorizedOperation")}}
	// The caller may lack read permissions in its own (management)
	// account: excluded, it is not read, and its region list is only
	// used to check the requested names.
	inv, err := collectFrom(context.Background(), src, "us-east-1", CollectOptions{Org: true, Role: audit, ExcludeAccounts: []string{caller}, Regions: []string{"us-east-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Errors) != 0 {
		t.Errorf("errors %+v", inv.Errors)
	}
	if got, want := accountRegions(inv), []string{ids[0] + "/us-east-1", ids[1] + "/us-east-1"}; !slices.Equal(got, want) {
		t.Errorf("read %v, want %v", got, want)
	}
}

func TestUnknownRegionStopsBeforeAnyAccountIsRead(t *testing.T) {
	src := &fakeSource{org: orgOf(append([]string{caller}, accountIDs(3)...), nil), regionNames: []string{"us-east-1"}}
	_, err := collectFrom(context.Background(), src, "us-east-1", CollectOptions{Org: true, Role: audit, Regions: []string{"us-east-1", "eu-nowhere-1"}})
	if !errors.Is(err, ErrUnknownRegion) {
		t.Fatalf("err = %v, want ErrUnknownRegion", err)
	}
	if len(src.assumed) != 0 || len(src.built) != 0 {
		t.Errorf("accounts were read: assumed %v, built %v", src.assumed, src.built)
	}
}

func TestAccountOptionsAreChecked(t *testing.T) {
	tests := []struct {
		name string
		opts CollectOptions
		ok   bool
	}{
		{"caller only", CollectOptions{}, true},
		{"org with a role", CollectOptions{Org: true, Role: audit}, true},
		{"list with a role and a shard", CollectOptions{Accounts: []string{"123456789012"}, Role: audit, Shard: shard.Shard{Index: 1, Count: 2}}, true},
		{"org without a role", CollectOptions{Org: true}, false},
		{"list without a role", CollectOptions{Accounts: []string{"123456789012"}}, false},
		{"org and a list", CollectOptions{Org: true, Accounts: []string{"123456789012"}, Role: audit}, false},
		{"malformed account", CollectOptions{Accounts: []string{"1234"}, Role: audit}, false},
		{"malformed exclusion", CollectOptions{Org: true, Role: audit, ExcludeAccounts: []string{"x"}}, false},
		{"role without accounts", CollectOptions{Role: audit}, false},
		{"shard without accounts", CollectOptions{Shard: shard.Shard{Index: 0, Count: 2}}, false},
		{"invalid role name", CollectOptions{Org: true, Role: awsclient.RoleOptions{Name: "bad name"}}, false},
		{"network accounts with a role", CollectOptions{NetworkAccounts: []string{"123456789012"}, Role: audit}, true},
		{"network accounts with the organization", CollectOptions{Org: true, NetworkAccounts: []string{"123456789012"}, Role: audit}, true},
		{"network accounts without a role", CollectOptions{NetworkAccounts: []string{"123456789012"}}, false},
		{"malformed network account", CollectOptions{NetworkAccounts: []string{"12345678901"}, Role: audit}, false},
		{"network accounts and a shard without accounts", CollectOptions{NetworkAccounts: []string{"123456789012"}, Role: audit, Shard: shard.Shard{Index: 0, Count: 2}}, false},
	}
	for _, tt := range tests {
		err := tt.opts.checkAccountOptions()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrAccountOptions)) {
			t.Errorf("%s: %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}

// TestWorkersBoundTheAccountRegionsInFlight: with slow calls, the pool
// keeps exactly its number of account-regions busy, never more.
func TestWorkersBoundTheAccountRegionsInFlight(t *testing.T) {
	src := &fakeSource{regionNames: []string{"eu-west-1", "us-east-1"}, perRegion: 3, latency: 10 * time.Millisecond}
	type span struct{ start, end time.Time }
	var mu sync.Mutex
	var spans []span
	_, err := collectFrom(context.Background(), src, "us-east-1", CollectOptions{
		Accounts: accountIDs(6), Role: audit, RegionConcurrency: 3,
		RegionRead: func(_, _ string, took time.Duration, _ int) {
			end := time.Now()
			mu.Lock()
			defer mu.Unlock()
			spans = append(spans, span{end.Add(-took), end})
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 12 {
		t.Fatalf("%d account-regions read, want 12", len(spans))
	}
	most := 0
	for _, s := range spans {
		mid := s.start.Add(s.end.Sub(s.start) / 2)
		n := 0
		for _, o := range spans {
			if !o.start.After(mid) && o.end.After(mid) {
				n++
			}
		}
		most = max(most, n)
	}
	if most > 3 {
		t.Errorf("%d account-regions in flight at once with 3 workers", most)
	}
	if most < 2 {
		t.Errorf("at most %d account-region in flight: the pool does not run in parallel", most)
	}
}

// TestCancellationEndsPromptlyAndLeavesNoAccountUnaccounted: every account
// is either read (with Canceled errors where it was cut short) or named in
// an error, so a partial report says what it lacks.
func TestCancellationEndsPromptlyAndLeavesNoAccountUnaccounted(t *testing.T) {
	ids := accountIDs(30)
	src := &fakeSource{regionNames: []string{"eu-west-1", "us-east-1"}, perRegion: 5, block: true}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	inv, err := collectFrom(ctx, src, "us-east-1", CollectOptions{Accounts: ids, Role: audit, RegionConcurrency: 4})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("collection returned %v after start, cancelled at 100ms", d)
	}
	named := map[string]bool{}
	for _, e := range inv.Errors {
		named[e.AccountID] = true
	}
	incomplete := 0
	for _, r := range inv.Regions {
		named[r.AccountID] = true
		for _, nb := range r.Notebooks {
			if nb.Error != nil && nb.Error.Code == CodeCanceled {
				incomplete++
			}
		}
		for _, e := range r.Errors {
			if e.Code == CodeCanceled {
				incomplete++
			}
		}
	}
	for _, id := range ids {
		if !named[id] {
			t.Errorf("account %s is neither read nor named in an error", id)
		}
	}
	if incomplete == 0 {
		t.Error("nothing is marked cancelled")
	}
}
