package remediate

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// maxReviewCandidates bounds the candidate subnets the review prints for
// one action; the plan JSON holds them all.
const maxReviewCandidates = 10

// WriteReview writes the plan for a person to review: each action with
// what it fixes, why it is blocked and the flags that resolve it, its
// change as a diff (security-group egress rule by rule, the subnet
// attribute, the old notebook's status and tags), a replacement's subnet,
// groups and settings against the old notebook, the blast radius and what
// happens to the data. The JSON document is the machine-readable form.
func (p *Plan) WriteReview(w io.Writer) error {
	var b strings.Builder
	if len(p.Actions) == 0 {
		b.WriteString("Nothing to fix: no FAIL result has a planned fix.\n")
	}
	recreates := 0
	for _, a := range p.Actions {
		if a.Kind == ActionRecreateNotebook {
			recreates++
		}
	}
	for i, a := range p.Actions {
		state := "ready"
		if a.Blocked != "" {
			state = "BLOCKED"
		}
		fmt.Fprintf(&b, "%d. [%s] %s %s (%s %s)\n", i+1, state, a.Kind, a.Resource, a.AccountID, a.Region)
		fmt.Fprintf(&b, "   %s\n", a.Summary)
		if len(a.Notebooks) > 0 {
			fmt.Fprintf(&b, "   fixes: %s (%s)\n", strings.Join(a.Notebooks, ", "), strings.Join(a.Checks, ", "))
		}
		if a.Blocked != "" {
			fmt.Fprintf(&b, "   blocked: %s\n", a.Blocked)
		}
		if len(a.Unblock) > 0 {
			fmt.Fprintf(&b, "   to resolve, plan again with: %s\n", strings.Join(a.Unblock, " "))
			if recreates > 1 && slices.ContainsFunc(a.Unblock, func(f string) bool { return strings.HasPrefix(f, "--target-") }) {
				b.WriteString("   (--target-subnet and --target-security-groups apply to every replacement in the plan)\n")
			}
		}
		switch {
		case a.Kind == ActionRecreateNotebook:
			p.reviewRecreate(&b, &a)
		case a.Before.SecurityGroup != nil && a.After.SecurityGroup != nil:
			g := a.Before.SecurityGroup
			fmt.Fprintf(&b, "   egress of %s%s:\n", g.GroupID, parens(g.GroupName))
			writeLines(&b, "     ", egressDiff(g.Egress, a.After.SecurityGroup.Egress))
		case a.Kind == ActionStudioVPCOnly:
			reviewDomain(&b, &a)
		case a.Before.Subnet != nil && a.After.Subnet != nil:
			fmt.Fprintf(&b, "   subnet %s:\n", a.Before.Subnet.SubnetID)
			lines, _ := fieldDiff(
				[]field{{"MapPublicIpOnLaunch", fmt.Sprint(a.Before.Subnet.MapPublicIPOnLaunch)}},
				[]field{{"MapPublicIpOnLaunch", fmt.Sprint(a.After.Subnet.MapPublicIPOnLaunch)}})
			writeLines(&b, "     ", lines)
		}
		if a.BlastRadius.Summary != "" {
			fmt.Fprintf(&b, "   blast radius: %s\n", a.BlastRadius.Summary)
		}
		if a.Data != nil {
			fmt.Fprintf(&b, "   data: %s\n", a.Data.Statement)
		}
		for _, warn := range a.Warnings {
			fmt.Fprintf(&b, "   warning: %s\n", warn)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("plan: writing the review: %w", err)
	}
	return nil
}

// reviewDomain writes the domain's change, the apps to stop first and the
// VPC endpoints Studio needs.
func reviewDomain(b *strings.Builder, a *Action) {
	before, after := a.Before.Domain, a.After.Domain
	if before == nil || after == nil {
		return
	}
	fmt.Fprintf(b, "   studio domain %s%s in VPC %s:\n", before.DomainID, parens(before.Name), orNone(before.VPCID))
	lines, _ := fieldDiff([]field{{"AppNetworkAccessType", before.AppNetworkAccessType}},
		[]field{{"AppNetworkAccessType", after.AppNetworkAccessType}})
	writeLines(b, "     ", lines)
	if len(a.Apps) > 0 {
		b.WriteString("   apps to stop first:\n")
		for _, app := range a.Apps {
			fmt.Fprintf(b, "     %s\n       %s\n", app.StudioAppRef, app.Command)
		}
	}
	if len(a.Endpoints) > 0 {
		fmt.Fprintf(b, "   VPC endpoints in %s:\n", before.VPCID)
		for _, c := range a.Endpoints {
			need := "recommended"
			if c.Required {
				need = "required"
			}
			what := c.Status
			if c.EndpointID != "" {
				what += " " + c.EndpointID
			}
			fmt.Fprintf(b, "     %-11s %s: %s (%s)\n", need, c.Service, what, c.Why)
		}
	}
}

// reviewRecreate writes the replacement (name, subnet and why, groups,
// settings against the old notebook), the candidate subnets when the
// action is blocked, and the old notebook's own change.
func (p *Plan) reviewRecreate(b *strings.Builder, a *Action) {
	old, repl := a.Before.Notebook, a.Replacement
	if old == nil || repl == nil {
		return
	}
	fmt.Fprintf(b, "   replacement %s:\n", repl.Name)
	subnet := "none"
	if repl.SubnetID != "" {
		subnet = repl.SubnetID
		c := findCandidate(a.Candidates, repl.SubnetID)
		where := []string{}
		if c != nil {
			where = append(where, nonEmpty(c.CIDR, c.AvailabilityZone, c.VPCID)...)
		}
		switch a.TargetSubnetSource {
		case "automatic":
			where = append(where, "chosen automatically")
		case "option":
			where = append(where, "from --target-subnet")
		}
		subnet += parens(strings.Join(where, ", "))
		if c != nil && c.Why != "" {
			subnet += ": " + candidateWhy(c)
		}
	}
	fmt.Fprintf(b, "     subnet:          %s\n", subnet)
	groups := "none"
	if len(repl.SecurityGroupIDs) > 0 {
		source := "the old notebook's"
		if len(p.Settings.TargetSecurityGroups) > 0 {
			source = "from --target-security-groups"
		}
		groups = strings.Join(repl.SecurityGroupIDs, ", ") + " (" + source + ")"
	}
	fmt.Fprintf(b, "     security groups: %s\n", groups)
	lines, same := fieldDiff(notebookFields(old), notebookFields(repl))
	fmt.Fprintf(b, "     against %s:\n", old.Name)
	writeLines(b, "       ", lines)
	if len(same) > 0 {
		fmt.Fprintf(b, "       copied unchanged: %s\n", strings.Join(same, ", "))
	}
	if a.Blocked != "" && repl.SubnetID == "" && len(a.Candidates) == 0 {
		fmt.Fprintf(b, "   candidate subnets: none in the inventory of %s/%s\n", a.AccountID, a.Region)
	}
	if a.Blocked != "" && len(a.Candidates) > 0 {
		b.WriteString("   candidate subnets, best first:\n")
		for i := range a.Candidates {
			if i == maxReviewCandidates {
				fmt.Fprintf(b, "     (%d more in the plan JSON)\n", len(a.Candidates)-i)
				break
			}
			c := &a.Candidates[i]
			line := c.SubnetID + parens(strings.Join(nonEmpty(c.CIDR, c.AvailabilityZone, c.VPCID), ", "))
			switch {
			case !c.Qualifies:
				line += " does not qualify: " + c.Why
			default:
				line += " qualifies: " + candidateWhy(c)
			}
			if c.Qualifies && c.GroupsSource != "" && !slices.Equal(c.SecurityGroupIDs, repl.SecurityGroupIDs) {
				line += "; groups " + strings.Join(c.SecurityGroupIDs, ", ") + " (" + c.GroupsSource + ")"
			}
			fmt.Fprintf(b, "     %s\n", line)
		}
	}
	if a.After.Notebook != nil {
		fmt.Fprintf(b, "   %s:\n", old.Name)
		lines, _ := fieldDiff(notebookFields(old), notebookFields(a.After.Notebook))
		writeLines(b, "     ", lines)
	}
}

// candidateWhy is a candidate's reason with its route table and network
// ACL, the facts a reviewer checks first.
func candidateWhy(c *Candidate) string {
	s := c.Why
	var facts []string
	if c.RouteTableID != "" && !strings.Contains(s, c.RouteTableID) {
		facts = append(facts, "route table "+c.RouteTableID)
	}
	if c.NetworkACLID != "" {
		facts = append(facts, "network ACL "+c.NetworkACLID)
	}
	if len(facts) > 0 {
		s += "; " + strings.Join(facts, ", ")
	}
	return s
}

// field is one labelled setting of a resource, as the review shows it.
type field struct{ label, value string }

// notebookFields are a notebook's settings and tags in review order. The
// ARN is identity, not a setting, and is left out.
func notebookFields(n *NotebookState) []field {
	fs := []field{
		{"name", n.Name},
		{"status", n.Status},
		{"DirectInternetAccess", n.DirectInternetAccess},
		{"subnet", n.SubnetID},
		{"security groups", strings.Join(n.SecurityGroupIDs, ", ")},
		{"instance type", n.InstanceType},
		{"role", n.RoleARN},
		{"KMS key", n.KMSKeyID},
		{"volume size", ""},
		{"lifecycle configuration", n.LifecycleConfigName},
		{"default code repository", n.DefaultCodeRepository},
		{"additional code repositories", strings.Join(n.AdditionalCodeRepositories, ", ")},
		{"root access", n.RootAccess},
		{"platform", n.PlatformIdentifier},
		{"minimum IMDS version", n.MinimumIMDSVersion},
		{"IP address type", n.IPAddressType},
		{"accelerator types", strings.Join(n.AcceleratorTypes, ", ")},
	}
	if n.VolumeSizeInGB > 0 {
		fs[8].value = fmt.Sprintf("%d GB", n.VolumeSizeInGB)
	}
	keys := make([]string, 0, len(n.Tags))
	for k := range n.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fs = append(fs, field{"tag " + k, n.Tags[k]})
	}
	return fs
}

// fieldDiff compares two field lists by label, in the order of before
// then the labels only after has: "- label: old" and "+ label: new" for
// each change, and the labels that are set and equal.
func fieldDiff(before, after []field) (lines, same []string) {
	av := map[string]string{}
	for _, f := range after {
		av[f.label] = f.value
	}
	seen := map[string]bool{}
	for _, f := range before {
		seen[f.label] = true
		nv := av[f.label]
		switch {
		case f.value == nv && f.value != "":
			same = append(same, f.label)
		case f.value == nv:
		default:
			if f.value != "" {
				lines = append(lines, "- "+f.label+": "+f.value)
			}
			if nv != "" {
				lines = append(lines, "+ "+f.label+": "+nv)
			}
		}
	}
	for _, f := range after {
		if !seen[f.label] && f.value != "" {
			lines = append(lines, "+ "+f.label+": "+f.value)
		}
	}
	return lines, same
}

// egressDiff lists a group's egress rules before and after, grouped by
// protocol and ports: each group's revoked rules ("- "), then its added
// ones ("+ "), then those kept ("  ").
func egressDiff(before, after []Rule) []string {
	type entry struct {
		mark string
		r    Rule
	}
	in := func(rs []Rule, r Rule) bool {
		return slices.ContainsFunc(rs, func(x Rule) bool { return normRule(x).key() == normRule(r).key() })
	}
	var es []entry
	for _, r := range before {
		if in(after, r) {
			es = append(es, entry{"  ", r})
		} else {
			es = append(es, entry{"- ", r})
		}
	}
	for _, r := range after {
		if !in(before, r) {
			es = append(es, entry{"+ ", r})
		}
	}
	order := map[string]int{"- ": 0, "+ ": 1, "  ": 2}
	slices.SortStableFunc(es, func(x, y entry) int {
		x.r, y.r = normRule(x.r), normRule(y.r)
		switch {
		case x.r.Protocol != y.r.Protocol:
			return strings.Compare(x.r.Protocol, y.r.Protocol)
		case x.r.FromPort != y.r.FromPort:
			return cmp.Compare(x.r.FromPort, y.r.FromPort)
		case x.r.ToPort != y.r.ToPort:
			return cmp.Compare(x.r.ToPort, y.r.ToPort)
		}
		return cmp.Compare(order[x.mark], order[y.mark])
	})
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.mark + ruleText(e.r)
	}
	return lines
}

// ruleText renders a rule for a person: "all traffic 0.0.0.0/0",
// "tcp 443 10.0.0.0/16 (description)".
func ruleText(r Rule) string {
	r = normRule(r)
	var what string
	switch r.Protocol {
	case "-1":
		what = "all traffic"
	case "tcp", "udp":
		if r.FromPort == r.ToPort {
			what = fmt.Sprintf("%s %d", r.Protocol, r.FromPort)
		} else {
			what = fmt.Sprintf("%s %d-%d", r.Protocol, r.FromPort, r.ToPort)
		}
	case "icmp", "icmpv6":
		what = r.Protocol
		if r.FromPort >= 0 {
			what += fmt.Sprintf(" type %d", r.FromPort)
			if r.ToPort >= 0 {
				what += fmt.Sprintf(" code %d", r.ToPort)
			}
		}
	default:
		what = "protocol " + r.Protocol
	}
	s := what + " " + r.Destination()
	if r.Description != "" {
		s += " (" + r.Description + ")"
	}
	return s
}

func writeLines(b *strings.Builder, indent string, lines []string) {
	for _, l := range lines {
		b.WriteString(indent + l + "\n")
	}
}

func parens(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func nonEmpty(s ...string) []string {
	var out []string
	for _, x := range s {
		if x != "" {
			out = append(out, x)
		}
	}
	return out
}
