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
}

// Evaluator evaluates inventories. It holds the parsed compliance catalog.
type Evaluator struct {
	profile    string
	compliance map[string][]string
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
	return &Evaluator{profile: p, compliance: complianceMap(fw)}, nil
}

// Profile is the evaluator's profile name.
func (e *Evaluator) Profile() string { return e.profile }

// Evaluate returns the results for every notebook in the inventory, sorted by
// account, region and name, and every collection error. The caller sets the
// report's tool, profile and times.
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
	for i, o := range order {
		if regions[o.r] == nil {
			regions[o.r] = &regionEval{reg: &inv.Regions[o.r], ix: netpath.NewIndex(&inv.Regions[o.r]), derived: map[derivedKey]*derived{}}
		}
		e.evaluate(&results[i], regions[o.r], &inv.Regions[o.r].Notebooks[o.n], partition)
	}
	return results, errs
}

// regionEval holds one region's index and the verdict parts shared by the
// notebooks of the same placement.
type regionEval struct {
	reg     *inventory.Region
	ix      *netpath.Index
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
		d = e.derive(nb, reg.Region, a)
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
	r.Reproduce = finding.TemplateCommands(&d.reproduce, finding.CommandArgs{Name: nb.Name, Region: reg.Region, NetworkInterfaceID: nb.NetworkInterfaceID})
}

// derive computes the verdict parts that depend only on the placement.
func (e *Evaluator) derive(nb *inventory.Notebook, region string, a *netpath.Analysis) *derived {
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
	case len(a.Missing) > 0:
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
	d.status, d.severity = decide(d.checks)
	d.remediation = remediation(d.status, d.checks, a)
	d.reproduce = newPlacementCommands(nb, region, a)
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
	return "could not be evaluated: " + strings.Join(a.Missing, "; ")
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
	case len(a.Missing) > 0:
		c.Status = finding.StatusError
		c.Severity = finding.SeverityHigh
		c.Message = missingMessage(a)
		return c
	}
	var review *netpath.Egress
	var controlled *netpath.Egress
	for i := range a.Egress {
		eg := &a.Egress[i]
		if eg.Route.PrefixList {
			// A customer-managed prefix list's ranges are not in the
			// inventory: a person must look at them.
			if review == nil {
				review = eg
			}
			continue
		}
		switch eg.Path {
		case netpath.PathIGW, netpath.PathIPv6, netpath.PathNAT:
			if eg.Open {
				c.Status = finding.StatusFail
				if eg.Path == netpath.PathIGW {
					c.Severity = finding.SeverityHigh
				}
				c.Message = fmt.Sprintf("internet path via %s (%s) and %s allows the whole internet", eg.Route.Target, eg.Route.Destination, eg.Rule)
				return c
			}
			if controlled == nil {
				controlled = eg
			}
		case netpath.PathAppliance, netpath.PathTransit:
			if review == nil {
				review = eg
			}
		}
	}
	switch {
	case review != nil:
		c.Status = finding.StatusReview
		what := "an appliance"
		switch {
		case review.Route.PrefixList:
			what = "a prefix-list route"
		case review.Path == netpath.PathTransit:
			what = "a transit path"
		}
		c.Message = fmt.Sprintf("public traffic leaves the VPC through %s (%s via %s) that the scanner cannot see past; security groups and network ACL allow public destinations", what, review.Route.Destination, review.Route.Target)
		if review.Route.Note != "" {
			c.Message += " (" + review.Route.Note + ")"
		}
	case controlled != nil:
		c.Status = finding.StatusPass
		c.Message = fmt.Sprintf("controlled egress: %s routes through %s, but security groups and network ACL allow only specific public destinations", controlled.Route.Destination, controlled.Route.Target)
	default:
		c.Status = finding.StatusPass
		c.Message = "no internet path: " + noPathReason(a)
	}
	return c
}

func noPathReason(a *netpath.Analysis) string {
	if len(a.PublicRoutes) == 0 {
		return "route table " + a.RouteTableID + " has no active route for public destinations"
	}
	return "routes to public destinations exist, but none is usable by the network interface or allowed by its security groups and network ACL"
}

func publicSubnetCheck(nb *inventory.Notebook, a *netpath.Analysis) finding.Check {
	c := finding.Check{ID: CheckPublicSubnet, Severity: finding.SeverityMedium}
	switch {
	case a == nil:
		c.Status = finding.StatusNotApplicable
		c.Message = "not applicable: no subnet"
	case len(a.Missing) > 0:
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
	case len(a.Missing) > 0:
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
		ev.DecidingRoute = b.Route.String()
		ev.DecidingRule = b.Rule
	}
	ev.Notes = append(a.Notes, a.Missing...)
}

const remediationError = "Grant the read permissions the scan needs (sagefence iam-policy --for audit) and scan again; until then treat the notebook as exposed."

func remediation(status finding.Status, checks []finding.Check, a *netpath.Analysis) string {
	switch status {
	case finding.StatusPass:
		return "None required."
	case finding.StatusError:
		return remediationError
	}
	var parts []string
	for _, c := range checks {
		if c.Informational || (c.Status != finding.StatusFail && c.Status != finding.StatusReview) {
			continue
		}
		switch c.ID {
		case CheckDirect:
			parts = append(parts, "DirectInternetAccess cannot be changed in place: recreate the notebook with DirectInternetAccess=Disabled in a private subnet after saving /home/ec2-user/SageMaker to S3 (sagefence plan --fix direct).")
		case CheckEgress:
			if c.Status == finding.StatusReview {
				parts = append(parts, "Confirm that the transit or appliance path filters internet traffic, or record the necessity as an exception.")
			} else {
				parts = append(parts, "Restrict the security groups' egress to the destinations the notebook needs, or send it through an inspected proxy (sagefence plan --fix egress).")
			}
		case CheckPublicSubnet:
			parts = append(parts, "Move the notebook to a private subnet; disable MapPublicIpOnLaunch on "+a.Subnet.ID+" (sagefence plan --fix public-subnet).")
		case CheckOpenIngress:
			parts = append(parts, "Remove the security-group ingress rule open to 0.0.0.0/0 or ::/0.")
		}
	}
	return strings.Join(parts, " ")
}
