// Package control is the control "SageMaker notebook instances must not have
// direct internet access" (CONTROL.md): it turns an inventory into one
// finding.Result per notebook with sub-checks, evidence, remediation and the
// AWS CLI commands that reproduce the verdict. It is pure: no I/O, no clock.
package control

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/netpath"
)

// Sub-check IDs.
const (
	CheckDirect       = "direct-internet-access"
	CheckEgress       = "internet-egress-path"
	CheckPublicSubnet = "public-subnet"
	CheckOpenIngress  = "open-ingress"
)

// Profiles.
const (
	// ProfileSOP lets every sub-check decide (the default).
	ProfileSOP = "sop"
	// ProfileFSBP decides on direct-internet-access alone, for parity with
	// Security Hub SageMaker.1 and the AWS Config managed rule; the other
	// sub-checks are reported as informational.
	ProfileFSBP = "fsbp"
)

// Profiles lists the valid profile names.
func Profiles() []string { return []string{ProfileSOP, ProfileFSBP} }

// Options configure an evaluation.
type Options struct {
	Profile string
	// OpenV4Bits and OpenV6Bits set the open threshold (netpath.Options):
	// egress that reaches more public addresses than one such prefix holds
	// is open. 0 means /8 and /32.
	OpenV4Bits, OpenV6Bits int
}

// Evaluator evaluates inventories. It holds the parsed compliance catalog.
type Evaluator struct {
	profile    string
	paths      netpath.Options
	compliance map[string][]string
	// studioCompliance is the mapping of the Studio control.
	studioCompliance map[string][]string
}

// New returns an Evaluator for a profile.
func New(opts Options) (*Evaluator, error) {
	p := opts.Profile
	if p == "" {
		p = ProfileSOP
	}
	if p != ProfileSOP && p != ProfileFSBP {
		return nil, fmt.Errorf("unknown control profile %q (want %s)", p, strings.Join(Profiles(), " or "))
	}
	fw, err := Catalog()
	if err != nil {
		return nil, err
	}
	if opts.OpenV4Bits < 0 || opts.OpenV4Bits > 32 || opts.OpenV6Bits < 0 || opts.OpenV6Bits > 128 {
		return nil, fmt.Errorf("open threshold /%d, /%d: want an IPv4 prefix length 0-32 and an IPv6 one 0-128", opts.OpenV4Bits, opts.OpenV6Bits)
	}
	studio, err := CatalogFor(finding.ControlIDStudio)
	if err != nil {
		return nil, err
	}
	return &Evaluator{profile: p, paths: netpath.Options{OpenV4Bits: opts.OpenV4Bits, OpenV6Bits: opts.OpenV6Bits},
		compliance: complianceMap(fw), studioCompliance: complianceMap(studio)}, nil
}

// Profile is the evaluator's profile name.
func (e *Evaluator) Profile() string { return e.profile }

// Evaluate returns the results for every notebook in the inventory, then,
// within each account-region, for every Studio domain and user profile of
// its own (studio.go), sorted by account, region and name, and every
// collection error. The caller sets the report's tool, profile and times.
func (e *Evaluator) Evaluate(inv *inventory.Inventory) ([]finding.Result, []finding.Error) {
	var errs []finding.Error
	for _, ce := range inv.Errors {
		errs = append(errs, toError(ce, ce.AccountID, ce.Region))
	}
	partition := inv.Partition
	if partition == "" {
		partition = "aws"
	}
	// Evaluate in output order, into a slice allocated once: results are
	// large, and sorting them afterwards would move each several times.
	type ref struct{ r, n int }
	total := 0
	for ri := range inv.Regions {
		total += len(inv.Regions[ri].Notebooks)
	}
	order := make([]ref, 0, total)
	for ri := range inv.Regions {
		reg := &inv.Regions[ri]
		for _, ce := range reg.Errors {
			errs = append(errs, toError(ce, reg.AccountID, reg.Region))
		}
		for ni := range reg.Notebooks {
			if nb := &reg.Notebooks[ni]; nb.Error != nil && !recorded(reg.Errors, nb.Error) {
				errs = append(errs, toError(*nb.Error, reg.AccountID, reg.Region))
			}
		}
		errs = append(errs, studioErrors(reg)...)
	}
	// Sort regions by account and region, then notebooks by name within
	// each: cheaper than comparing every pair on all three keys.
	regionOrder := make([]int, len(inv.Regions))
	for i := range regionOrder {
		regionOrder[i] = i
	}
	sort.SliceStable(regionOrder, func(i, j int) bool {
		a, b := &inv.Regions[regionOrder[i]], &inv.Regions[regionOrder[j]]
		if a.AccountID != b.AccountID {
			return a.AccountID < b.AccountID
		}
		return a.Region < b.Region
	})
	for _, ri := range regionOrder {
		nbs := inv.Regions[ri].Notebooks
		start := len(order)
		for ni := range nbs {
			order = append(order, ref{ri, ni})
		}
		part := order[start:]
		byName := func(a, b ref) int { return strings.Compare(nbs[a.n].Name, nbs[b.n].Name) }
		// A region's notebooks are often listed by name already.
		if !slices.IsSortedFunc(part, byName) {
			slices.SortStableFunc(part, byName)
		}
	}
	regions := make([]*regionEval, len(inv.Regions))
	results := make([]finding.Result, len(order))
	paths := netpath.New(inv, e.paths)
	for i, o := range order {
		if regions[o.r] == nil {
			reg := &inv.Regions[o.r]
			regions[o.r] = &regionEval{reg: reg, ix: paths.Index(reg.AccountID, reg.Region), derived: map[derivedKey]*derived{}}
		}
		e.evaluate(&results[i], regions[o.r], &inv.Regions[o.r].Notebooks[o.n], partition)
	}
	return e.withStudio(inv, paths, results, partition), errs
}

// withStudio appends the Studio results of every account-region to the
// notebooks' and, when there are any, orders the whole by account and
// region, keeping each region's notebooks (by name) before its domains and
// profiles (by name).
func (e *Evaluator) withStudio(inv *inventory.Inventory, paths *netpath.Resolver, results []finding.Result, partition string) []finding.Result {
	n := len(results)
	for ri := range inv.Regions {
		reg := &inv.Regions[ri]
		if len(reg.StudioDomains) == 0 {
			continue
		}
		results = append(results, e.evaluateStudio(reg, paths.Index(reg.AccountID, reg.Region), partition)...)
	}
	if len(results) > n {
		slices.SortStableFunc(results, func(a, b finding.Result) int {
			if c := strings.Compare(a.AccountID, b.AccountID); c != 0 {
				return c
			}
			return strings.Compare(a.Region, b.Region)
		})
	}
	return results
}

// studioErrors are the failed reads of the region's domains, profiles and
// their children, for the report's errors.
func studioErrors(reg *inventory.Region) []finding.Error {
	var errs []finding.Error
	add := func(ce *inventory.CollectError) {
		if !recorded(reg.Errors, ce) {
			errs = append(errs, toError(*ce, reg.AccountID, reg.Region))
		}
	}
	for di := range reg.StudioDomains {
		d := &reg.StudioDomains[di]
		if d.Error != nil {
			add(d.Error)
		}
		for i := range d.Errors {
			add(&d.Errors[i])
		}
		for pi := range d.UserProfiles {
			if p := &d.UserProfiles[pi]; p.Error != nil {
				add(p.Error)
			}
		}
	}
	return errs
}

// regionEval holds one region's index and the verdict parts shared by the
// notebooks of the same placement.
type regionEval struct {
	reg     *inventory.Region
	ix      netpath.Index
	derived map[derivedKey]*derived
}

type derivedKey struct {
	a   *netpath.Analysis
	dia string
}

// derived is what a verdict takes from an Analysis: the same for every
// notebook of one placement.
type derived struct {
	// checks are all four sub-checks; results of one placement share the
	// slice (results are read-only once evaluated).
	checks   []finding.Check
	path     finding.InternetPath
	evidence finding.Evidence
	// status, severity and remediation follow from the checks.
	status      finding.Status
	severity    finding.Severity
	remediation string
	// hops are the deciding path.
	hops []finding.Hop
	// reproduce renders each notebook's commands.
	reproduce placementCommands
}

// recorded reports whether a notebook's error is already among the region's.
func recorded(errs []inventory.CollectError, e *inventory.CollectError) bool {
	for _, x := range errs {
		if x.Operation == e.Operation && x.Resource == e.Resource && x.Message == e.Message {
			return true
		}
	}
	return false
}

func toError(ce inventory.CollectError, account, region string) finding.Error {
	if ce.AccountID != "" {
		account = ce.AccountID
	}
	if ce.Region != "" {
		region = ce.Region
	}
	return finding.Error{AccountID: account, Region: region, Operation: ce.Operation, Resource: ce.Resource, Code: ce.Code, Message: ce.Message}
}

func (e *Evaluator) evaluate(r *finding.Result, re *regionEval, nb *inventory.Notebook, partition string) {
	reg := re.reg
	*r = finding.Result{
		ControlID: finding.ControlID,
		AccountID: reg.AccountID,
		Region:    reg.Region,
		Resource: finding.Resource{
			Type: finding.ResourceType,
			Name: nb.Name,
			ARN:  nb.ARN,
			Tags: nb.Tags,
		},
		Compliance: e.compliance,
	}
	if r.Resource.ARN == "" && nb.Name != "" {
		r.Resource.ARN = "arn:" + partition + ":sagemaker:" + reg.Region + ":" + reg.AccountID + ":notebook-instance/" + strings.ToLower(nb.Name)
	}

	if nb.Error != nil {
		r.Status, r.Severity, r.InternetPath = finding.StatusError, finding.SeverityHigh, finding.PathUnknown
		r.Checks = []finding.Check{{ID: CheckDirect, Status: finding.StatusError, Severity: finding.SeverityHigh,
			Message: "could not be evaluated: " + nb.Error.Operation + " failed: " + nb.Error.Message}}
		r.Remediation = remediationError
		r.Reproduce = finding.TemplateCommands(describeOnly{}, finding.CommandArgs{Name: nb.Name, Region: reg.Region})
		return
	}

	var a *netpath.Analysis
	if nb.SubnetID != "" {
		a = re.ix.Analyze(nb)
	}
	// The direct check depends only on DirectInternetAccess and whether
	// there is a subnet, which the analysis (nil without one) tells.
	key := derivedKey{a: a, dia: nb.DirectInternetAccess}
	d, ok := re.derived[key]
	if !ok {
		d = e.derive(nb, reg.AccountID, reg.Region, a)
		re.derived[key] = d
	}
	checks := d.checks
	r.InternetPath = d.path
	r.Checks = checks
	r.Status, r.Severity = d.status, d.severity
	r.Evidence = d.evidence
	r.Evidence.DirectInternetAccess = nb.DirectInternetAccess
	r.Evidence.NotebookStatus = nb.Status
	r.Evidence.RootAccess = nb.RootAccess
	r.Evidence.SubnetID = nb.SubnetID
	r.Evidence.SecurityGroupIDs = nb.SecurityGroupIDs
	r.Evidence.NetworkInterfaceID = nb.NetworkInterfaceID
	r.Remediation = d.remediation
	r.Hops = d.hops
	r.Reproduce = finding.TemplateCommands(&d.reproduce, finding.CommandArgs{Name: nb.Name, Region: reg.Region, NetworkInterfaceID: nb.NetworkInterfaceID})
}

// derive computes the verdict parts that depend only on the placement.
func (e *Evaluator) derive(nb *inventory.Notebook, account, region string, a *netpath.Analysis) *derived {
	d := &derived{}
	direct := directCheck(nb)
	isDirect := direct.Status == finding.StatusFail
	d.checks = []finding.Check{direct, egressCheck(nb, a, isDirect), publicSubnetCheck(nb, a), openIngressCheck(nb, a)}
	switch {
	case direct.Status == finding.StatusError:
		d.path = finding.PathUnknown
	case isDirect:
		d.path = finding.PathDirect
	case a == nil:
		d.path = finding.PathDirect // no subnet: only reachable with a FAIL direct check
	case len(a.Unknowns) > 0:
		d.path = finding.PathUnknown
	case a.Best() != nil:
		d.path = finding.InternetPath(a.Best().Path)
	default:
		d.path = finding.PathNone
	}
	if e.profile == ProfileFSBP {
		for i := 1; i < len(d.checks); i++ {
			d.checks[i].Informational = true
		}
	}
	fillEvidence(&d.evidence, a)
	d.hops = decidingHops(a)
	d.status, d.severity = decide(d.checks)
	d.remediation = remediation(d.status, d.checks, a)
	d.reproduce = newPlacementCommands(nb, account, region, a)
	return d
}

// decide computes the worst deciding sub-check and its severity.
func decide(checks []finding.Check) (finding.Status, finding.Severity) {
	status := finding.StatusPass
	for _, c := range checks {
		if c.Informational {
			continue
		}
		if c.Status.Rank() > status.Rank() {
			status = c.Status
		}
	}
	sev := finding.SeverityInformational
	switch status {
	case finding.StatusError:
		sev = finding.SeverityHigh
	case finding.StatusFail, finding.StatusReview:
		for _, c := range checks {
			if !c.Informational && c.Status == status && c.Severity.Rank() > sev.Rank() {
				sev = c.Severity
			}
		}
	}
	return status, sev
}

func directCheck(nb *inventory.Notebook) finding.Check {
	c := finding.Check{ID: CheckDirect, Severity: finding.SeverityHigh}
	switch {
	case nb.DirectInternetAccess == inventory.DirectInternetAccessEnabled && nb.SubnetID == "":
		c.Status = finding.StatusFail
		c.Message = "DirectInternetAccess is Enabled and the notebook has no VPC subnet: SageMaker gives it its own internet access"
	case nb.DirectInternetAccess == inventory.DirectInternetAccessEnabled:
		c.Status = finding.StatusFail
		c.Message = "DirectInternetAccess is Enabled: SageMaker gives the notebook its own internet access, whatever the VPC's routes, security groups and network ACLs say"
	case nb.DirectInternetAccess == inventory.DirectInternetAccessDisabled && nb.SubnetID == "":
		c.Status = finding.StatusFail
		c.Message = "DirectInternetAccess is Disabled but no SubnetId is recorded: a notebook outside a VPC always has direct internet access"
	case nb.DirectInternetAccess == inventory.DirectInternetAccessDisabled:
		c.Status = finding.StatusPass
		c.Message = "DirectInternetAccess is Disabled: the notebook's traffic goes through its VPC subnet"
	case nb.DirectInternetAccess == "":
		c.Status = finding.StatusError
		c.Message = "DirectInternetAccess was not returned by DescribeNotebookInstance: cannot be evaluated"
	default:
		c.Status = finding.StatusError
		c.Message = fmt.Sprintf("DirectInternetAccess has an unrecognised value %q: cannot be evaluated", nb.DirectInternetAccess)
	}
	return c
}

func missingMessage(a *netpath.Analysis) string {
	return "could not be evaluated: " + strings.Join(a.Missing(), "; ")
}

func egressCheck(nb *inventory.Notebook, a *netpath.Analysis, direct bool) finding.Check {
	c := finding.Check{ID: CheckEgress, Severity: finding.SeverityMedium}
	switch {
	case direct:
		c.Status = finding.StatusNotApplicable
		c.Message = "not applicable: direct internet access bypasses the VPC"
		return c
	case nb.DirectInternetAccess != inventory.DirectInternetAccessDisabled:
		c.Status = finding.StatusNotApplicable
		c.Message = "not applicable: DirectInternetAccess is unknown"
		return c
	case a == nil:
		c.Status = finding.StatusNotApplicable
		c.Message = "not applicable: no subnet"
		return c
	case len(a.Unknowns) > 0:
		c.Status = finding.StatusError
		c.Severity = finding.SeverityHigh
		c.Message = missingMessage(a)
		return c
	}
	var exit, opaque *netpath.Egress
	for i := range a.Egress {
		eg := &a.Egress[i]
		switch {
		case eg.Opaque && opaque == nil:
			opaque = eg
		case !eg.Opaque && exit == nil:
			exit = eg
		}
	}
	switch {
	case a.Open:
		c.Status = finding.StatusFail
		if exit != nil && exit.Path == netpath.PathIGW {
			c.Severity = finding.SeverityHigh
		}
		r := openReach(a)
		c.Message = fmt.Sprintf("internet path %s: %s reachable, above the open threshold", pathWords(exit), reachWords(r))
		if r.Rule != "" {
			c.Message += "; widest rule " + r.Rule
		}
	case opaque != nil:
		c.Status = finding.StatusReview
		c.Message = "public traffic leaves the VPC through something the scanner cannot see past: " + opaque.Reason
		if r := opaque.Route(); r != "" {
			c.Message += " (first hop " + r + ")"
		}
	case exit != nil:
		c.Status = finding.StatusPass
		c.Message = fmt.Sprintf("controlled egress: internet path %s, but only %s reachable, within the open threshold", pathWords(exit), reachWords(exitReach(a)))
	default:
		c.Status = finding.StatusPass
		c.Message = "no internet path: " + noPathReason(a)
	}
	return c
}

// openReach is the first family whose reachable space is open.
func openReach(a *netpath.Analysis) netpath.Reach {
	for _, r := range a.Reach {
		if r.Open {
			return r
		}
	}
	return netpath.Reach{}
}

// exitReach is the reachable space of the first family that has some.
func exitReach(a *netpath.Analysis) netpath.Reach {
	for _, r := range a.Reach {
		if r.Addresses > 0 {
			return r
		}
	}
	return netpath.Reach{}
}

// pathWords names an exit by its hops: "via nat-1 (0.0.0.0/0) and igw-2".
func pathWords(e *netpath.Egress) string {
	if e == nil {
		return ""
	}
	var via []string
	for _, h := range e.Hops {
		switch h.Kind {
		case "nat-gateway", "internet-gateway", "egress-only-internet-gateway", "transit-gateway-attachment":
			if len(via) == 0 || via[len(via)-1] != h.ResourceID {
				via = append(via, h.ResourceID)
			}
		}
	}
	s := "via " + strings.Join(via, " -> ")
	if r := e.Route(); r != "" {
		s += " (route " + r + ")"
	}
	return s
}

// reachWords renders reachable space: "3,702,258,432 public IPv4
// addresses (100% of the public IPv4 space)".
func reachWords(r netpath.Reach) string {
	fam := "IPv4"
	if r.IPv6 {
		fam = "IPv6"
	}
	var n string
	if r.IPv6 {
		n = fmt.Sprintf("%.3g", r.Addresses)
	} else {
		n = commas(uint64(r.Addresses))
	}
	share := fmt.Sprintf("%.2g%%", 100*r.Share)
	if r.Share >= 0.9995 {
		share = "100%"
	} else if r.Share >= 0.01 {
		share = fmt.Sprintf("%.1f%%", 100*r.Share)
	}
	return fmt.Sprintf("%s public %s addresses (%s of the public %s space; threshold /%d)", n, fam, share, fam, r.Threshold)
}

func commas(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func noPathReason(a *netpath.Analysis) string {
	if len(a.DeadEnds) > 0 {
		var rs []string
		for i, d := range a.DeadEnds {
			if i == 3 {
				rs = append(rs, fmt.Sprintf("and %d more", len(a.DeadEnds)-3))
				break
			}
			rs = append(rs, d.Reason)
		}
		return strings.Join(rs, "; ")
	}
	if len(a.PublicRoutes) == 0 {
		return "route table " + a.RouteTableID + " has no active route for public destinations"
	}
	return "the security groups and network ACL allow no public destination"
}

func publicSubnetCheck(nb *inventory.Notebook, a *netpath.Analysis) finding.Check {
	c := finding.Check{ID: CheckPublicSubnet, Severity: finding.SeverityMedium}
	switch {
	case a == nil:
		c.Status = finding.StatusNotApplicable
		c.Message = "not applicable: no subnet"
	case len(a.Unknowns) > 0:
		c.Status = finding.StatusError
		c.Severity = finding.SeverityHigh
		c.Message = missingMessage(a)
	case a.IGWRouteV4 != "" && a.Subnet.MapPublicIPOnLaunch:
		c.Status = finding.StatusFail
		c.Message = fmt.Sprintf("subnet %s is public: route %s and MapPublicIpOnLaunch is true", a.Subnet.ID, a.IGWRouteV4)
	case a.IGWRouteV4 != "":
		c.Status = finding.StatusPass
		c.Message = fmt.Sprintf("subnet %s routes to an internet gateway (%s) but MapPublicIpOnLaunch is false", a.Subnet.ID, a.IGWRouteV4)
	default:
		c.Status = finding.StatusPass
		c.Message = fmt.Sprintf("subnet %s has no route to an internet gateway", a.Subnet.ID)
	}
	return c
}

func openIngressCheck(nb *inventory.Notebook, a *netpath.Analysis) finding.Check {
	c := finding.Check{ID: CheckOpenIngress, Severity: finding.SeverityHigh}
	switch {
	case a == nil:
		c.Status = finding.StatusNotApplicable
		c.Message = "not applicable: no customer network interface"
	case len(a.Unknowns) > 0:
		c.Status = finding.StatusError
		c.Message = missingMessage(a)
	case a.OpenIngressRule != "" && a.InboundReachable:
		c.Status = finding.StatusFail
		c.Message = fmt.Sprintf("%s admits the whole internet and the network interface is internet-reachable", a.OpenIngressRule)
	case a.OpenIngressRule != "":
		c.Status = finding.StatusPass
		c.Message = fmt.Sprintf("%s admits the whole internet, but the network interface is not reachable from the internet", a.OpenIngressRule)
	default:
		c.Status = finding.StatusPass
		c.Message = "no security group admits the whole internet"
	}
	return c
}

func fillEvidence(ev *finding.Evidence, a *netpath.Analysis) {
	if a == nil {
		return
	}
	ev.VPCID = a.VPCID
	ev.RouteTableID = a.RouteTableID
	ev.RouteTableSource = a.RouteTableSource
	ev.NetworkACLID = a.NetworkACLID
	ev.PublicIP = a.PublicIP
	if a.Subnet != nil {
		m := a.Subnet.MapPublicIPOnLaunch
		ev.MapPublicIPOnLaunch = &m
	}
	if len(a.PublicRoutes) > 0 {
		ev.Routes = make([]string, len(a.PublicRoutes))
		for i, r := range a.PublicRoutes {
			ev.Routes[i] = r.String()
		}
	}
	if b := a.Best(); b != nil {
		ev.DecidingRoute = b.Route()
		if a.Open {
			ev.DecidingRule = openReach(a).Rule
		}
	}
	notes := slices.Clone(a.Notes)
	for _, r := range a.Reach {
		if r.Addresses > 0 {
			notes = append(notes, "reachable through exits: "+reachWords(r))
		}
	}
	for _, e := range a.Egress {
		if e.Opaque {
			notes = append(notes, "sight ends: "+e.Reason)
		}
	}
	for _, d := range a.DeadEnds {
		notes = append(notes, "dead end: "+d.Reason)
	}
	ev.Notes = append(notes, a.Missing()...)
}

// decidingHops are the hops of the path that decided internet_path: the
// most exposed way out, else the first dead end.
func decidingHops(a *netpath.Analysis) []finding.Hop {
	if a == nil || len(a.Unknowns) > 0 {
		return nil
	}
	var hops []netpath.Hop
	switch {
	case a.Best() != nil:
		hops = a.Best().Hops
	case len(a.DeadEnds) > 0:
		hops = a.DeadEnds[0].Hops
	}
	if len(hops) == 0 {
		return nil
	}
	out := make([]finding.Hop, 0, len(hops)+1)
	for _, h := range hops {
		out = append(out, finding.Hop{Kind: h.Kind, ResourceID: h.ResourceID, AccountID: h.AccountID, Region: h.Region, Decision: h.Decision})
	}
	end := finding.Hop{Kind: "end"}
	switch {
	case a.Best() != nil && a.Best().Opaque:
		end.Decision = "sight ends: " + a.Best().Reason
	case a.Best() != nil:
		end.Decision = "internet"
	default:
		end.Decision = a.DeadEnds[0].Reason
	}
	return append(out, end)
}

const remediationError = "Grant the read permissions the scan needs (sagefence iam-policy --for audit) and scan again; until then treat the notebook as exposed."

func remediation(status finding.Status, checks []finding.Check, a *netpath.Analysis) string {
	return remediationOf(status, checks, remediationError, func(parts []string, c finding.Check) []string {
		switch c.ID {
		case CheckDirect:
			parts = append(parts, "DirectInternetAccess cannot be changed in place: recreate the notebook with DirectInternetAccess=Disabled in a private subnet after saving /home/ec2-user/SageMaker to S3 (sagefence plan --fix direct).")
		case CheckEgress:
			parts = append(parts, "Restrict the security groups' egress to the destinations the notebook needs, or send it through an inspected proxy (sagefence plan --fix egress).")
			if nat := centralNAT(a); nat != "" {
				parts = append(parts, "Egress is central ("+nat+"): the security group is the local remedy; the central egress is the network team's to restrict.")
			}
		case CheckPublicSubnet:
			parts = append(parts, "Move the notebook to a private subnet; disable MapPublicIpOnLaunch on "+a.Subnet.ID+" (sagefence plan --fix public-subnet).")
		}
		return parts
	})
}

// remediationOf is the remediation of a verdict: none for a PASS,
// errorText for an ERROR, else the text of each deciding check that fails
// or needs review, in check order. fix appends a check's text for a FAIL;
// a REVIEW of the egress path and open ingress read the same in every
// control.
func remediationOf(status finding.Status, checks []finding.Check, errorText string, fix func(parts []string, c finding.Check) []string) string {
	switch status {
	case finding.StatusPass:
		return "None required."
	case finding.StatusError:
		return errorText
	}
	var parts []string
	for _, c := range checks {
		if c.Informational || (c.Status != finding.StatusFail && c.Status != finding.StatusReview) {
			continue
		}
		switch {
		case c.ID == CheckEgress && c.Status == finding.StatusReview:
			parts = append(parts, "Confirm that the transit or appliance path filters internet traffic, or record the necessity as an exception.")
		case c.ID == CheckOpenIngress:
			parts = append(parts, "Remove the security-group ingress rule open to 0.0.0.0/0 or ::/0.")
		default:
			parts = fix(parts, c)
		}
	}
	return strings.Join(parts, " ")
}

// centralNAT names the NAT gateway an open path reaches through a transit
// gateway, with its account: "nat-1 in account 222233334444".
func centralNAT(a *netpath.Analysis) string {
	b := a.Best()
	if b == nil || b.Opaque {
		return ""
	}
	transit := false
	for _, h := range b.Hops {
		switch {
		case h.Kind == "transit-gateway-attachment":
			transit = true
		case transit && h.Kind == "nat-gateway":
			return h.ResourceID + " in account " + h.AccountID
		}
	}
	return ""
}
