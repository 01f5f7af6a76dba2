package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/spf13/cobra"

	"github.com/sagefence/sagefence/internal/alert"
	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/awsop"
	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/dashboard"
	"github.com/sagefence/sagefence/internal/events"
	"github.com/sagefence/sagefence/internal/exceptions"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/history"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/iostreams"
	"github.com/sagefence/sagefence/internal/remediate"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
	"github.com/sagefence/sagefence/internal/watch"
)

type watchOptions struct {
	IO *iostreams.IOStreams

	Live            liveOptions
	regions         string
	ControlProfile  string
	OpenThreshold   string
	Exceptions      string
	Journal         string
	DB              string
	Interval        time.Duration
	Debounce        time.Duration
	Retention       time.Duration
	QueueURL        string
	Listen          string
	TokenFile       string
	Webhooks        []string
	SNSTopic        string
	PushSecurityHub bool

	// Collect replaces the live collection (tests).
	Collect collectFunc
}

func newWatchCmd(ios *iostreams.IOStreams) *cobra.Command {
	return watchCmd(&watchOptions{IO: ios, Collect: collectLive})
}

// watchCmd is the watch command filling o.
func watchCmd(o *watchOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Scan continuously: rescan on CloudTrail events, keep history, alert on transitions, serve a dashboard",
		Long: `Watch keeps the control continuously. It scans everything at start and every
--interval, and between those rescans the account-regions that CloudTrail
events name, within seconds: EventBridge sends the events (notebook lifecycle
and every network change that can open or close a path: routes, NAT and
internet gateways, security group rules, network ACLs, subnets, transit
gateways, prefix lists) to the SQS queue --queue-url; "sagefence
events-setup" prints that set-up. Events of one account-region within
--debounce make one rescan. An event in an account whose notebooks are not
scanned (a network account) rescans the region's account-regions; one in a
region not scanned is ignored.

Every scan is recorded in an SQLite history (--db): each notebook's status
over time, as transitions with their cause (the event, its caller, or the
schedule). A restart serves the history at once and scans everything. Alerts
go out on transitions only, one per notebook per change (--alert-webhook,
JSON with a Slack-compatible text line; --alert-sns-topic), never for the
baseline: the first scan that reads anything into an empty history.

On --listen (loopback by default): /healthz, /readyz (a full scan is
stored), /metrics (Prometheus), /api/v1/results (the scan's JSON report),
/api/v1/history?account=&region=&name= and / (a dashboard). A non-loopback
address needs --token-file: every path but /healthz and /readyz then needs
"Authorization: Bearer <token>". Nothing over HTTP changes AWS.

SIGTERM or SIGINT stops it cleanly: the scan in flight is abandoned, the
history committed, exit 0. Logs go to stderr (text on a terminal, JSON
otherwise). See docs/watch.md.`,
		Example: `  # one account, every enabled region, scheduled scans only
  sagefence watch --db /var/lib/sagefence/watch.db

  # an organization, event-driven, alerting Slack and SNS
  sagefence watch --org --role-name SagefenceAudit --queue-url https://sqs.us-east-1.amazonaws.com/111122223333/sagefence-events \
    --alert-webhook https://hooks.slack.com/services/T000/B000/XXXX --alert-sns-topic arn:aws:sns:us-east-1:111122223333:sagefence-alerts

  # serve the dashboard beyond this host
  sagefence watch --listen 0.0.0.0:8484 --token-file /run/secrets/sagefence-token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			return runWatch(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	addLiveFlags(f, &o.Live, &o.regions)
	f.StringVar(&o.ControlProfile, "control-profile", control.ProfileSOP, "control profile: sop or fsbp")
	f.StringVar(&o.OpenThreshold, "open-threshold", defaultOpenThreshold, openThresholdHelp)
	f.StringVar(&o.Exceptions, "exceptions", "", "YAML `FILE` of exceptions that mute FAIL and REVIEW results (read at start)")
	f.StringVar(&o.Journal, "journal", "", "remediation journal whose replaced notebooks are MUTED until finalize (default: the state directory's, when it exists)")
	f.StringVar(&o.DB, "db", "", "history database (default: $XDG_STATE_HOME/sagefence/history.db, else ~/.local/state/sagefence/history.db)")
	f.DurationVar(&o.Interval, "interval", 6*time.Hour, "full scan every `DURATION`")
	f.DurationVar(&o.Debounce, "debounce", 5*time.Second, "collapse the events of one account-region arriving within `DURATION` into one rescan (0: none)")
	f.DurationVar(&o.Retention, "retention", 90*24*time.Hour, "keep history (scans, transitions) this long; the current state is always kept")
	f.StringVar(&o.QueueURL, "queue-url", "", "SQS queue `URL` EventBridge sends CloudTrail events to (sagefence events-setup); without it, scheduled scans only")
	f.StringVar(&o.Listen, "listen", "127.0.0.1:8484", "HTTP `ADDRESS` of the dashboard, API and metrics (a non-loopback one needs --token-file)")
	f.StringVar(&o.TokenFile, "token-file", "", "`FILE` holding the bearer token every HTTP path but /healthz and /readyz requires")
	f.StringArrayVar(&o.Webhooks, "alert-webhook", nil, "POST each transition as JSON to `URL` (repeatable; Slack-compatible text)")
	f.StringVar(&o.SNSTopic, "alert-sns-topic", "", "publish each transition's JSON to this SNS topic `ARN`")
	f.BoolVar(&o.PushSecurityHub, "push-securityhub", false, "push each scan's findings to AWS Security Hub (as scan --push-securityhub)")
	addOrgFlags(f, &o.Live.Org)
	// One watch covers its whole selection: shards are for scan.
	_ = f.MarkHidden("shard")
	return cmd
}

func (o *watchOptions) validate(cmd *cobra.Command) error {
	var err error
	if o.Live.Regions, err = regionsFlag(o.regions); err != nil {
		return err
	}
	if err := o.Live.Org.validate(cmd.Flags(), false); err != nil {
		return err
	}
	if o.Live.Org.Shard.Count > 1 {
		return usageErrf("--shard does not apply to watch: run one watch per organization (or per set of --accounts)")
	}
	switch {
	case o.Interval < time.Minute:
		return usageErrf("--interval %s: want a minute or more", o.Interval)
	case o.Debounce < 0:
		return usageErrf("--debounce %s: want zero or more", o.Debounce)
	case o.Retention < time.Hour:
		return usageErrf("--retention %s: want an hour or more", o.Retention)
	case o.Live.Concurrency < 1 || o.Live.Concurrency > 256:
		return usageErrf("--concurrency %d: want 1 to 256", o.Live.Concurrency)
	case o.Live.CallTimeout <= 0:
		return usageErrf("--call-timeout must be positive")
	}
	if _, err := newEvaluator(o.ControlProfile, o.OpenThreshold); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(o.Listen)
	if err != nil || port == "" {
		return usageErrf("--listen %q: want HOST:PORT, for example 127.0.0.1:8484", o.Listen)
	}
	if !loopback(host) && o.TokenFile == "" {
		return usageErrf("--listen %s is reachable beyond this host: pass --token-file (or listen on 127.0.0.1)", o.Listen)
	}
	if o.QueueURL != "" {
		if _, err := queueRegion(o.QueueURL); err != nil {
			return usageErr(err)
		}
	}
	for i, h := range o.Webhooks {
		if err := alert.CheckWebhookURL(h); err != nil {
			return usageErrf("--alert-webhook (number %d): %v", i+1, err)
		}
	}
	if o.SNSTopic != "" {
		if a, err := arn.Parse(o.SNSTopic); err != nil || a.Service != "sns" || a.Region == "" {
			return usageErrf("--alert-sns-topic %q: want an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", o.SNSTopic)
		}
	}
	if o.DB != "" {
		if err := checkOutputFile("--db", o.DB); err != nil {
			return err
		}
	}
	return nil
}

// loopback reports whether a listen host is reachable from this host only.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// queueRegion is the region of an SQS queue URL
// (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME; an emulator's URL keeps
// the configured region).
func queueRegion(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Count(strings.Trim(u.Path, "/"), "/") != 1 {
		return "", fmt.Errorf("--queue-url %q: want https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE", raw)
	}
	parts := strings.Split(u.Hostname(), ".")
	if len(parts) >= 3 && parts[0] == "sqs" {
		if err := awsclient.CheckRegion("--queue-url", parts[1]); err != nil {
			return "", err
		}
		return parts[1], nil
	}
	return "", nil
}

// sqsPollTimeout bounds one receive from the event queue: its 20s long
// poll and the answer.
const sqsPollTimeout = 40 * time.Second

func runWatch(ctx context.Context, o *watchOptions) error {
	log := newLogger(o.IO)
	ev, err := newEvaluator(o.ControlProfile, o.OpenThreshold)
	if err != nil {
		return err
	}
	set, err := loadExceptions(o.Exceptions)
	if err != nil {
		return err
	}
	token := ""
	if o.TokenFile != "" {
		b, err := os.ReadFile(o.TokenFile)
		if err != nil {
			return usageErrf("--token-file: %v", unwrapPath(err))
		}
		if token = strings.TrimSpace(string(b)); len(token) < 16 {
			return usageErrf("--token-file %s: the token must be at least 16 characters", o.TokenFile)
		}
	}
	dbPath := o.DB
	if dbPath == "" {
		if dbPath, err = history.DefaultPath(); err != nil {
			return usageErr(err)
		}
	}
	// The port is taken before AWS is read, so a clash is a usage error.
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return usageErrf("--listen %s: %v", o.Listen, err)
	}
	defer ln.Close() // the server closes it too; the error paths before it need this
	// So is a history that cannot be opened (or is another kind of file).
	store, err := history.Open(ctx, dbPath)
	if err != nil {
		return usageErrf("--db: %v", err) // it names the file
	}
	defer store.Close()
	stats := awsclient.NewStats()
	o.Live.Stats = stats
	cfg, err := loadAWS(ctx, o.Live, stats)
	if err != nil {
		return usageErr(err)
	}
	o.Live.Config = &cfg
	// The queue and the alerts use a configuration of their own, so that
	// the scans' call counts are the scans' alone.
	side, err := loadAWS(ctx, o.Live, nil)
	if err != nil {
		return usageErr(err)
	}

	var w *watch.Watcher
	var sinks []alert.Sink
	for _, h := range o.Webhooks {
		sinks = append(sinks, alert.NewWebhook(h, &http.Client{Timeout: alert.DefaultWebhookTimeout}))
	}
	if o.SNSTopic != "" {
		a, _ := arn.Parse(o.SNSTopic)
		// The dispatcher retries with its own backoff: one SDK attempt each.
		sinks = append(sinks, alert.NewSNS(o.SNSTopic, sns.NewFromConfig(side, func(so *sns.Options) {
			so.Region = a.Region
			so.RetryMaxAttempts = 1
		})))
	}
	// The watcher exists before any alert is sent: these run only after
	// Notify.
	dispatcher := alert.NewDispatcher(sinks, alert.Options{Logger: log,
		OnDelivery: func(sink string, ok bool) {
			outcome := "sent"
			if !ok {
				outcome = "failed"
			}
			w.RecordAlert(sink, outcome, 1)
		},
		OnDrop: func(sink string, n int) { w.RecordAlert(sink, "dropped", n) },
	})

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var batches chan events.Batch
	var consumer *events.Consumer
	if o.QueueURL != "" {
		region, _ := queueRegion(o.QueueURL)
		client := sqs.NewFromConfig(side, func(so *sqs.Options) {
			if region != "" {
				so.Region = region
			}
			// A receive long-polls for 20s: its attempts need longer than
			// --call-timeout may allow.
			so.HTTPClient = awshttp.NewBuildableClient().WithTimeout(max(o.Live.CallTimeout, sqsPollTimeout))
			// The consumer backs off after a failed receive and counts it:
			// one attempt each, so that a failing queue is seen at once.
			so.RetryMaxAttempts = 1
		})
		debounce := o.Debounce
		if debounce == 0 {
			debounce = time.Nanosecond // no collapsing (the consumer's zero is its default)
		}
		consumer = &events.Consumer{API: client, QueueURL: o.QueueURL, Debounce: debounce, Logger: log}
		batches = make(chan events.Batch, 64)
		go func() {
			if err := consumer.Run(runCtx, batches); err != nil && runCtx.Err() == nil {
				log.Error("event consumer stopped", "err", err)
			}
			close(batches)
		}()
	}

	scanner := &watchScanner{o: o, ev: ev, exceptions: set, stats: stats, log: log}
	opts := watch.Options{Scan: scanner.scan, Store: store, Alerts: dispatcher, Interval: o.Interval,
		Retention: o.Retention, Profile: ev.Profile(), Version: Version(), Logger: log}
	if batches != nil {
		opts.Events = batches
		opts.Counters = consumer.Counters
	}
	if o.PushSecurityHub {
		push := &scanOptions{IO: &iostreams.IOStreams{Out: o.IO.Out, ErrOut: o.IO.ErrOut}, SecurityHub: newSecurityHub}
		opts.Push = func(ctx context.Context, rep *finding.Report) error {
			return errors.Join(pushSecurityHub(ctx, push, cfg, rep, scanner.consulted())...)
		}
	}
	w = watch.New(opts)

	srv := dashboard.NewServer(o.Listen, w.Handler(token))
	srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("watching", "listen", ln.Addr().String(), "db", dbPath, "interval", o.Interval, "queue", o.QueueURL != "", "alert_sinks", len(sinks))

	runErr := w.Run(runCtx)
	stop()
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Warn("HTTP shutdown", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("HTTP server", "err", err)
	}
	if err := dispatcher.Close(shutdown); err != nil {
		log.Warn("alerts not delivered before shutdown", "err", err)
	}
	if runErr != nil {
		return &exitError{code: ExitIncomplete, err: runErr}
	}
	log.Info("stopped")
	return nil
}

// newLogger logs to stderr: text on a terminal, JSON otherwise.
func newLogger(ios *iostreams.IOStreams) *slog.Logger {
	if ios.IsStderrTTY() {
		return slog.New(slog.NewTextHandler(ios.ErrOut, nil))
	}
	return slog.New(slog.NewJSONHandler(ios.ErrOut, nil))
}

// watchScanner runs the watch's scans: the live collection, narrowed to
// the account-regions of a rescan, and the evaluation as scan does it.
type watchScanner struct {
	o          *watchOptions
	ev         *control.Evaluator
	exceptions *exceptions.Set
	stats      *awsclient.Stats
	log        *slog.Logger
	// scanned are the accounts the last full scan read notebooks from:
	// a rescan of some keeps the others in scope for the paths that lead
	// there.
	scanned  []string
	readJrnl bool
}

func (s *watchScanner) consulted() []string {
	var c []string
	if s.readJrnl {
		c = append(c, remediate.MuteSource)
	}
	if s.o.Exceptions != "" {
		c = append(c, exceptions.Source)
	}
	return c
}

func (s *watchScanner) scan(ctx context.Context, scope []history.Scope) (watch.Result, error) {
	live := s.o.Live
	if scope != nil {
		narrowLive(&live, scope, s.scanned)
	}
	before := s.stats.Total()
	inv, _, err := s.o.Collect(ctx, live)
	after := s.stats.Total()
	res := watch.Result{Calls: after.Calls - before.Calls, Throttles: after.Throttles - before.Throttles}
	if err != nil {
		return res, err
	}
	rep := &finding.Report{SchemaVersion: finding.SchemaVersion, Tool: finding.Tool{Name: "sagefence", Version: Version()},
		Profile: s.ev.Profile(), StartedAt: inv.CollectedAt}
	rep.Results, rep.Errors = s.ev.Evaluate(inv)
	read, err := muteReplaced(ctx, s.o.Journal, rep)
	if err != nil {
		s.log.Warn("journal", "err", oneLine(err.Error()))
	}
	s.readJrnl = read
	exceptions.Apply(rep, s.exceptions, time.Now().UTC())
	rep.FinishedAt = time.Now().UTC()
	rep.Summarize()
	res.Report, res.Read = rep, readScopes(inv)
	res.Unread = unreadStudio(inv, res.Read)
	if scope == nil {
		s.scanned = s.scanned[:0]
		for _, r := range res.Read {
			if !slices.Contains(s.scanned, r.AccountID) {
				s.scanned = append(s.scanned, r.AccountID)
			}
		}
	}
	return res, nil
}

// narrowLive turns the watch's selection into a rescan of scope: its
// regions, and its accounts (the others scanned stay in scope for
// networking, as do the configured network accounts).
func narrowLive(live *liveOptions, scope []history.Scope, scanned []string) {
	var accounts, regions []string
	for _, s := range scope {
		if !slices.Contains(accounts, s.AccountID) {
			accounts = append(accounts, s.AccountID)
		}
		if !slices.Contains(regions, s.Region) {
			regions = append(regions, s.Region)
		}
	}
	slices.Sort(accounts)
	slices.Sort(regions)
	live.Regions = regions
	if !live.Org.Org && len(live.Org.Accounts) == 0 {
		return // the caller's account alone
	}
	org := live.Org
	org.Org, org.Accounts = false, accounts
	network := slices.Clone(org.NetworkAccounts)
	for _, a := range scanned {
		if !slices.Contains(accounts, a) && !slices.Contains(network, a) {
			network = append(network, a)
		}
	}
	org.NetworkAccounts = network
	live.Org = org
}

// readScopes are the account-regions whose notebooks an inventory listed:
// a region whose listing failed, or an account that could not be read,
// is not among them (its stored state is kept as it was).
func readScopes(inv *inventory.Inventory) []history.Scope {
	failedAccount := map[string]bool{}
	for _, e := range inv.Errors {
		if e.AccountID != "" && e.Region == "" && (e.Operation == awsop.AssumeRole || e.Operation == awsop.DescribeRegions) {
			failedAccount[e.AccountID] = true
		}
	}
	var out []history.Scope
	for _, r := range inv.Regions {
		if r.NetworkOnly || failedAccount[r.AccountID] {
			continue
		}
		listed := true
		for _, e := range r.Errors {
			if e.Resource == "" && (e.Operation == awsop.ListNotebookInstances || e.Code == "RegionNotEnabled") {
				listed = false
			}
		}
		if listed {
			out = append(out, history.Scope{AccountID: r.AccountID, Region: r.Region})
		}
	}
	return out
}

// unreadStudio are the Studio results of read account-regions that the scan
// could not read, so that the history keeps them instead of taking them
// for deleted: every domain's and profile's when ListDomains failed, a
// domain's profiles when it could not be described or its profiles listed.
func unreadStudio(inv *inventory.Inventory, read []history.Scope) []history.Unread {
	var out []history.Unread
	for _, r := range inv.Regions {
		sc := history.Scope{AccountID: r.AccountID, Region: r.Region}
		if !slices.Contains(read, sc) {
			continue
		}
		if slices.ContainsFunc(r.Errors, func(e inventory.CollectError) bool { return e.Operation == awsop.ListDomains && e.Resource == "" }) {
			out = append(out, history.Unread{Scope: sc, Prefix: reportfmt.DomainPrefix}, history.Unread{Scope: sc, Prefix: reportfmt.UserProfilePrefix})
			continue
		}
		for _, d := range r.StudioDomains {
			if d.Error != nil || slices.ContainsFunc(d.Errors, func(e inventory.CollectError) bool { return e.Operation == awsop.ListUserProfiles }) {
				out = append(out, history.Unread{Scope: sc, Prefix: reportfmt.UserProfilePrefix + d.Name + "/"})
			}
		}
	}
	return out
}

// watchResources are the ARNs of an event queue URL and an SNS topic ARN
// as flags give them (empty when not given), for preflight.
func watchResources(queueURL, topic string) (queueARN, topicARN string, err error) {
	if queueURL != "" {
		region, err := queueRegion(queueURL)
		if err != nil {
			return "", "", usageErr(err)
		}
		if region == "" {
			return "", "", usageErrf("--queue-url %q: want https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE", queueURL)
		}
		u, _ := url.Parse(queueURL)
		account, name, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
		queueARN = fmt.Sprintf("arn:%s:sqs:%s:%s:%s", awsclient.PartitionOf(region), region, account, name)
	}
	if topic != "" {
		if a, err := arn.Parse(topic); err != nil || a.Service != "sns" || a.Region == "" {
			return "", "", usageErrf("--alert-sns-topic %q: want an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", topic)
		}
		topicARN = topic
	}
	return queueARN, topicARN, nil
}
