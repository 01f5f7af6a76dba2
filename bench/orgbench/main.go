//go:build unix

// Command orgbench measures sagefence against moto, the AWS emulator, end
// to end: it starts moto, builds an organisation (A accounts × R regions ×
// N notebooks on realistic networks, through the AWS SDK, reproducible by
// seed), measures how many calls per second the emulator itself serves at
// the tool's concurrency, runs `sagefence scan --org ... --stats` as a child
// process and reports wall time, calls per operation against the call
// budget, calls per second, the ratio to the emulator's own limit and peak
// RSS; then it scans a saved 100,000-notebook inventory (`scan --input`)
// and reports its wall time and peak RSS. Run it with bench/run.sh.
//
// moto answers calls signed with AssumeRole credentials as the account in
// the role's ARN, and Organizations CreateAccount gives the member account
// IDs: the organisation is real as far as the scan can tell.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/sagefence/sagefence/bench/inventorygen"
	"github.com/sagefence/sagefence/internal/collect"
	"github.com/sagefence/sagefence/internal/testenv"
)

const role = "OrganizationAccountAccessRole"

var allRegions = []string{"us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2", "eu-central-1", "ap-northeast-1"}

type config struct {
	accounts, regions, notebooks int
	seed                         uint64
	workers, concurrency         int
	calibrateCalls               int
	inventory                    int
	runs                         int
}

func main() {
	var c config
	flag.IntVar(&c.accounts, "accounts", 3, "accounts in the organisation, the management account included")
	flag.IntVar(&c.regions, "regions", 3, "regions per account")
	flag.IntVar(&c.notebooks, "notebooks", 200, "notebooks per account-region")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the estate's layout")
	flag.IntVar(&c.workers, "workers", collect.DefaultRegionConcurrency, "sagefence --workers")
	flag.IntVar(&c.concurrency, "concurrency", collect.DefaultConcurrency, "sagefence --concurrency")
	flag.IntVar(&c.calibrateCalls, "calibrate-calls", 4000, "calls of the emulator's own calls-per-second measurement")
	flag.IntVar(&c.inventory, "inventory", 100_000, "notebooks of the saved-inventory scan (0 skips it)")
	flag.IntVar(&c.runs, "runs", 3, "runs of each scan (the median is reported)")
	flag.Parse()
	if c.regions < 1 || c.regions > len(allRegions) || c.accounts < 1 || c.notebooks < 0 {
		fmt.Fprintf(os.Stderr, "orgbench: want 1 to %d regions and at least one account\n", len(allRegions))
		os.Exit(2)
	}
	if err := run(context.Background(), c); err != nil {
		fmt.Fprintln(os.Stderr, "orgbench:", err)
		os.Exit(1)
	}
}

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "orgbench: "+format+"\n", a...) }

func run(ctx context.Context, c config) error {
	dir, err := os.MkdirTemp("", "orgbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	binary := filepath.Join(dir, "sagefence")
	logf("building sagefence")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", binary, "github.com/sagefence/sagefence/cmd/sagefence").CombinedOutput(); err != nil {
		return fmt.Errorf("build sagefence: %w: %s", err, out)
	}

	fmt.Printf("## Organisation scan against moto (issue 5)\n\n")
	fmt.Printf("- Date: %s. Machine: `nproc` = %d, CPU %q, %s %s/%s, moto %s; load average before: %s.\n",
		time.Now().UTC().Format("2006-01-02"), runtime.NumCPU(), cpuModel(), runtime.Version(), runtime.GOOS, runtime.GOARCH, motoVersion(), loadAverage())

	if c.accounts > 0 && c.notebooks > 0 {
		if err := orgScan(ctx, c, binary, dir); err != nil {
			return err
		}
	}
	if c.inventory > 0 {
		if err := inventoryScan(ctx, c, binary, dir); err != nil {
			return err
		}
	}
	return nil
}

func orgScan(ctx context.Context, c config, binary, dir string) error {
	logf("starting moto")
	m, err := testenv.StartMoto(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	regions := allRegions[:c.regions]

	start := time.Now()
	accounts, err := buildOrg(ctx, m.URL(), c, regions)
	if err != nil {
		return err
	}
	logf("estate: %d accounts × %d regions × %d notebooks in %s", len(accounts), len(regions), c.notebooks, time.Since(start).Round(time.Second))

	inFlight := c.workers * c.concurrency
	rate, err := emulatorRate(ctx, m.URL(), accounts, regions, c, inFlight)
	if err != nil {
		return err
	}
	logf("emulator: %.0f calls/s with %d calls in flight", rate, inFlight)

	args := []string{"scan", "--org", "--role-name", role, "--regions", strings.Join(regions, ","), "--stats",
		"--workers", strconv.Itoa(c.workers), "--concurrency", strconv.Itoa(c.concurrency),
		"--format", "json", "--output", filepath.Join(dir, "org.json")}
	var runs []childRun
	for i := range c.runs {
		r, err := runChild(ctx, binary, testenv.Environ(m.URL()), args)
		if err != nil {
			return err
		}
		if r.code != 1 && r.code != 0 {
			return fmt.Errorf("scan exited %d: %s", r.code, r.stderr)
		}
		logf("org scan run %d: %s, %d calls, peak RSS %d MB", i+1, r.wall.Round(time.Millisecond), r.ops["total"], r.rssKB/1024)
		runs = append(runs, r)
	}
	r := median(runs)

	a, n := len(accounts), c.notebooks
	ar := a * len(regions)
	ec2Calls := 0
	for op, v := range r.ops {
		if strings.HasPrefix(op, "ec2:") && op != "ec2:DescribeRegions" {
			ec2Calls += v
		}
	}
	budget := []struct {
		op        string
		got, want int
		atMost    bool
	}{
		{"sagemaker:ListNotebookInstances", r.ops["sagemaker:ListNotebookInstances"], ar * ((n + 99) / 100), false},
		{"sagemaker:DescribeNotebookInstance", r.ops["sagemaker:DescribeNotebookInstance"], ar * n, false},
		{"sagemaker:ListTags", r.ops["sagemaker:ListTags"], ar * n, false},
		{"ec2 describes in the regions", ec2Calls, ar * 12, true},
		{"ec2:DescribeRegions", r.ops["ec2:DescribeRegions"], a, false},
		{"sts:AssumeRole", r.ops["sts:AssumeRole"], a - 1, false},
		{"sts:GetCallerIdentity", r.ops["sts:GetCallerIdentity"], 1, false},
		{"organizations:ListAccounts", r.ops["organizations:ListAccounts"], (a + 19) / 20, false},
	}
	total := r.ops["total"]
	ideal := time.Duration(float64(total) / rate * float64(time.Second))
	fmt.Printf("- Estate: %d accounts (the management account and %d member accounts) × %d regions (%s) × %d notebooks = %d notebooks, seed %d: per account-region two VPCs (public, NAT and isolated subnets, NAT and internet gateways), four security groups, one notebook in ten with direct internet access, the rest in a random subnet and group, two tags each.\n",
		a, a-1, len(regions), strings.Join(regions, ", "), n, ar*n, c.seed)
	fmt.Printf("- Command: `bench/run.sh -accounts %d -regions %d -notebooks %d -seed %d` (median of %d runs; sagefence `--workers %d --concurrency %d`, the defaults).\n\n",
		a, len(regions), n, c.seed, len(runs), c.workers, c.concurrency)
	fmt.Printf("| operation | calls | budget |\n|---|---:|---:|\n")
	for _, b := range budget {
		rel := "="
		if b.atMost {
			rel = "≤"
		}
		mark := ""
		if (b.atMost && b.got > b.want) || (!b.atMost && b.got != b.want) {
			mark = " **(over budget)**"
		}
		fmt.Printf("| %s | %d | %s %d%s |\n", b.op, b.got, rel, b.want, mark)
	}
	fmt.Printf("| total | %d | |\n\n", total)
	fmt.Printf("| measure | value |\n|---|---:|\n")
	fmt.Printf("| emulator alone (%d calls in flight, Describe and ListTags) | %.0f calls/s |\n", inFlight, rate)
	fmt.Printf("| scan wall time | %s |\n", r.wall.Round(time.Millisecond))
	fmt.Printf("| scan calls per second | %.0f |\n", float64(total)/r.wall.Seconds())
	fmt.Printf("| calls ÷ emulator rate (the floor) | %s |\n", ideal.Round(time.Millisecond))
	fmt.Printf("| wall ÷ floor (target ≤ 1.3) | **%.2f** |\n", r.wall.Seconds()/ideal.Seconds())
	fmt.Printf("| scan peak RSS | %d MB |\n", r.rssKB/1024)
	fmt.Printf("| all runs: wall | %s |\n\n", walls(runs))
	return nil
}

// buildOrg creates the organisation and every account's estate and
// returns the account IDs, the management account first.
func buildOrg(ctx context.Context, url string, c config, regions []string) ([]string, error) {
	base := setupConfig(url)
	org := organizations.NewFromConfig(base)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		return nil, fmt.Errorf("create organization: %w", err)
	}
	accounts := []string{testenv.AccountID}
	for i := 1; i < c.accounts; i++ {
		name := fmt.Sprintf("member-%03d", i)
		out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{AccountName: aws.String(name), Email: aws.String(name + "@example.com")})
		if err != nil {
			return nil, fmt.Errorf("create account %s: %w", name, err)
		}
		accounts = append(accounts, aws.ToString(out.CreateAccountStatus.AccountId))
	}
	var g errgroup.Group
	g.SetLimit(8)
	for ai, account := range accounts {
		cfg, err := accountConfig(ctx, base, account)
		if err != nil {
			return nil, err
		}
		for ri, region := range regions {
			g.Go(func() error {
				rc := cfg.Copy()
				rc.Region = region
				rng := rand.New(rand.NewPCG(c.seed, uint64(ai)<<32|uint64(ri)))
				return buildRegion(ctx, ec2.NewFromConfig(rc), sagemaker.NewFromConfig(rc), rng, c.notebooks)
			})
		}
	}
	return accounts, g.Wait()
}

// buildRegion lays out one account-region.
func buildRegion(ctx context.Context, ec *ec2.Client, sm *sagemaker.Client, rng *rand.Rand, n int) error {
	type vpc struct {
		subnets []string
		groups  []string
	}
	var vpcs []vpc
	for v := range 2 {
		net, err := testenv.CreateNetwork(ctx, ec, fmt.Sprintf("10.%d.0.0/16", v))
		if err != nil {
			return err
		}
		x := vpc{subnets: []string{net.PublicSubnetID, net.PrivateSubnetID, net.IsolatedSubnetID}}
		for _, sg := range []testenv.SecurityGroup{
			{Name: "default-egress"},
			{Name: "vpc-only", Egress: []testenv.Perm{testenv.AllTraffic(fmt.Sprintf("10.%d.0.0/16", v))}, RevokeDefaultEgress: true},
			{Name: "https-anywhere", Egress: []testenv.Perm{testenv.TCP(443, "0.0.0.0/0")}, RevokeDefaultEgress: true},
			{Name: "partner", Egress: []testenv.Perm{testenv.TCP(443, "52.94.0.0/22")}, RevokeDefaultEgress: true},
		} {
			id, err := testenv.CreateSecurityGroup(ctx, ec, net.VPCID, sg)
			if err != nil {
				return err
			}
			x.groups = append(x.groups, id)
		}
		vpcs = append(vpcs, x)
	}
	nbs := make([]testenv.Notebook, n)
	for i := range nbs {
		nb := testenv.Notebook{Name: fmt.Sprintf("nb-%04d", i), Tags: map[string]string{
			"team": fmt.Sprintf("team-%d", rng.IntN(12)), "env": []string{"dev", "staging", "prod"}[rng.IntN(3)],
		}}
		if rng.IntN(10) == 0 {
			nb.DirectInternetAccess = "Enabled"
		} else {
			v := vpcs[rng.IntN(len(vpcs))]
			nb.DirectInternetAccess = "Disabled"
			nb.SubnetID = v.subnets[rng.IntN(len(v.subnets))]
			nb.SecurityGroupIDs = []string{v.groups[rng.IntN(len(v.groups))]}
		}
		nbs[i] = nb
	}
	var g errgroup.Group
	g.SetLimit(4)
	for _, nb := range nbs {
		g.Go(func() error {
			_, err := testenv.CreateNotebook(ctx, sm, nb)
			return err
		})
	}
	return g.Wait()
}

// setupConfig is an SDK config for moto with the HTTP settings sagefence
// uses (enough idle connections for every call in flight).
func setupConfig(url string) aws.Config {
	cfg := testenv.Config(url)
	cfg.HTTPClient = awshttp.NewBuildableClient().WithTimeout(time.Minute).WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 256, 256
	})
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 8; o.MaxBackoff = 200 * time.Millisecond })
	}
	return cfg
}

// accountConfig is base signed as account: through the role for a member.
func accountConfig(ctx context.Context, base aws.Config, account string) (aws.Config, error) {
	if account == testenv.AccountID {
		return base, nil
	}
	out, err := sts.NewFromConfig(base).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + account + ":role/" + role), RoleSessionName: aws.String("orgbench"),
	})
	if err != nil {
		return aws.Config{}, fmt.Errorf("assume role in %s: %w", account, err)
	}
	cfg := base.Copy()
	cr := out.Credentials
	cfg.Credentials = credentials.NewStaticCredentialsProvider(aws.ToString(cr.AccessKeyId), aws.ToString(cr.SecretAccessKey), aws.ToString(cr.SessionToken))
	return cfg, nil
}

// emulatorRate measures the calls per second moto serves with inFlight
// calls at once: DescribeNotebookInstance and ListTags (the bulk of a
// scan) on notebooks of every account-region, from a simple loop.
func emulatorRate(ctx context.Context, url string, accounts, regions []string, c config, inFlight int) (float64, error) {
	base := setupConfig(url)
	type target struct {
		sm  *sagemaker.Client
		arn string
	}
	var targets []target
	for _, account := range accounts {
		cfg, err := accountConfig(ctx, base, account)
		if err != nil {
			return 0, err
		}
		for _, region := range regions {
			rc := cfg.Copy()
			rc.Region = region
			sm := sagemaker.NewFromConfig(rc)
			out, err := sm.ListNotebookInstances(ctx, &sagemaker.ListNotebookInstancesInput{MaxResults: aws.Int32(100)})
			if err != nil {
				return 0, fmt.Errorf("list notebooks: %w", err)
			}
			for _, nb := range out.NotebookInstances {
				targets = append(targets, target{sm, aws.ToString(nb.NotebookInstanceArn)})
			}
		}
	}
	if len(targets) == 0 {
		return 0, errors.New("no notebooks to call")
	}
	var next atomic.Int64
	var g errgroup.Group
	start := time.Now()
	for range inFlight {
		g.Go(func() error {
			for {
				i := int(next.Add(1)) - 1
				if i >= c.calibrateCalls {
					return nil
				}
				t := targets[i%len(targets)]
				var err error
				if i%2 == 0 {
					name := t.arn[strings.LastIndexByte(t.arn, '/')+1:]
					_, err = t.sm.DescribeNotebookInstance(ctx, &sagemaker.DescribeNotebookInstanceInput{NotebookInstanceName: aws.String(name)})
				} else {
					_, err = t.sm.ListTags(ctx, &sagemaker.ListTagsInput{ResourceArn: aws.String(t.arn)})
				}
				if err != nil {
					return fmt.Errorf("calibration call: %w", err)
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return float64(c.calibrateCalls) / time.Since(start).Seconds(), nil
}

func inventoryScan(ctx context.Context, c config, binary, dir string) error {
	in := filepath.Join(dir, "inventory.json")
	if err := inventorygen.Generate(inventorygen.Options{Notebooks: c.inventory, Seed: c.seed}).WriteFile(in); err != nil {
		return err
	}
	st, err := os.Stat(in)
	if err != nil {
		return err
	}
	out := filepath.Join(dir, "report.json")
	var runs []childRun
	for i := range c.runs {
		r, err := runChild(ctx, binary, testenv.Environ(""), []string{"scan", "--input", in, "--format", "json", "--output", out})
		if err != nil {
			return err
		}
		if r.code == 2 {
			return fmt.Errorf("scan --input exited 2: %s", r.stderr)
		}
		logf("inventory scan run %d: %s, peak RSS %d MB", i+1, r.wall.Round(time.Millisecond), r.rssKB/1024)
		runs = append(runs, r)
	}
	r := median(runs)
	rep, _ := os.Stat(out)
	fmt.Printf("### %d notebooks from a saved inventory\n\n", c.inventory)
	fmt.Printf("`sagefence scan --input inventory.json --format json --output report.json`, the binary as a child process "+
		"(inventory from bench/inventorygen, seed %d: %.0f MB in; report %.0f MB out; median of %d runs).\n\n",
		c.seed, float64(st.Size())/(1<<20), float64(rep.Size())/(1<<20), len(runs))
	fmt.Printf("| measure | value | target |\n|---|---:|---:|\n")
	fmt.Printf("| wall time | %s | < 2 s |\n", r.wall.Round(time.Millisecond))
	fmt.Printf("| peak RSS | %d MB | < 600 MB |\n", r.rssKB/1024)
	fmt.Printf("| all runs: wall | %s | |\n\n", walls(runs))
	return nil
}

// childRun is one run of the binary.
type childRun struct {
	code   int
	wall   time.Duration
	rssKB  int64
	ops    map[string]int // --stats calls per operation, and "total"
	stderr string
}

func runChild(ctx context.Context, binary string, env, args []string) (childRun, error) {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = env
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	start := time.Now()
	err := cmd.Run()
	r := childRun{wall: time.Since(start), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("run sagefence: %w", err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.rssKB = int64(ru.Maxrss)
		if runtime.GOOS == "darwin" { // bytes there, kilobytes on Linux
			r.rssKB /= 1024
		}
	}
	r.ops = parseStats(r.stderr)
	return r, nil
}

// parseStats reads the calls column of --stats' operation table.
func parseStats(s string) map[string]int {
	ops := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || (f[0] != "total" && !strings.Contains(f[0], ":")) {
			continue
		}
		if n, err := strconv.Atoi(f[1]); err == nil {
			if _, dup := ops[f[0]]; !dup {
				ops[f[0]] = n
			}
		}
	}
	return ops
}

func median(runs []childRun) childRun {
	s := slices.Clone(runs)
	sort.Slice(s, func(i, j int) bool { return s[i].wall < s[j].wall })
	return s[len(s)/2]
}

func walls(runs []childRun) string {
	var parts []string
	for _, r := range runs {
		parts = append(parts, r.wall.Round(10*time.Millisecond).String())
	}
	return strings.Join(parts, ", ")
}

func cpuModel() string {
	data, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

var motoOnce = sync.OnceValue(func() string {
	out, err := exec.Command("python3", "-c", "import moto; print(moto.__version__)").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
})

func motoVersion() string { return motoOnce() }
