package iac

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/iac/model"
	"github.com/sagefence/sagefence/internal/inventory"
)

// MuteSource is the Mute.Source of results muted by an inline suppression.
const MuteSource = "inline"

// attrNames are how each source spells the two attributes.
func attrNames(k model.SourceKind) (dia, subnet string) {
	if k == model.KindTerraform || k == model.KindTerraformPlan {
		return "direct_internet_access", "subnet_id"
	}
	return "DirectInternetAccess", "SubnetId"
}

// outcome is the verdict on the configured values, before the unresolved
// policy and suppressions.
type outcome struct {
	status  finding.Status // PASS, FAIL, or "" for unknown
	path    finding.InternetPath
	message string
	rule    string
}

// valueRule is how one enum attribute is judged: only pass passes, exactly
// (the APIs' enums are case-sensitive); omitted is the API default, which
// is the failing value bad.
type valueRule struct {
	attr string // as the source spells it
	pass string
	bad  string
	// badMeans says what bad does; passMeans what only pass does.
	badMeans, passMeans string
	// defaultMeans says what the default does, after "so".
	defaultMeans string
}

// judge checks every value an attribute can take against the rule. It
// returns the outcome of the first value that fails, or else the reason
// the first unknown value is unknown ("" when every value passes).
func judge(v model.Value, r valueRule) (outcome, bool, string) {
	v = v.Normalized()
	verb := "is"
	if len(v.Alts) > 1 {
		verb = "can be"
	}
	fail := func(message, rule string) outcome {
		return outcome{status: finding.StatusFail, path: finding.PathDirect, message: message, rule: rule}
	}
	only := fmt.Sprintf("only the exact string %q passes", r.pass)
	var unknownWhy string
	for _, a := range v.Alts {
		why := ""
		if a.Why != "" {
			why = " (" + a.Why + ")"
		}
		switch {
		case a.Unknown:
			if unknownWhy == "" {
				unknownWhy = a.Why
			}
		case a.Value == r.pass && !a.Absent:
		case a.Absent:
			return fail(fmt.Sprintf("%s %s omitted%s: the provider and the SageMaker API default to %s, so %s", r.attr, verb, why, r.bad, r.defaultMeans),
				fmt.Sprintf("an omitted %s is %s (the API default)", r.attr, r.bad)), true, ""
		case a.Value == r.bad:
			return fail(fmt.Sprintf("%s %s %q%s: %s", r.attr, verb, r.bad, why, r.badMeans),
				fmt.Sprintf("%s = %q", r.attr, r.bad)), true, ""
		case strings.EqualFold(a.Value, r.pass):
			return fail(fmt.Sprintf("%s %s %q%s, not %q: the value is case-sensitive, so the provider or the API rejects it; only the exact string %q %s", r.attr, verb, a.Value, why, r.pass, r.pass, r.passMeans), only), true, ""
		default:
			return fail(fmt.Sprintf("%s %s %q%s: only the exact string %q %s", r.attr, verb, a.Value, why, r.pass, r.passMeans), only), true, ""
		}
	}
	return outcome{}, false, unknownWhy
}

// decide applies the control to a notebook's configured values (CONTROL.md
// direct-internet-access, from configuration alone): an omitted attribute
// is the API default, Enabled; only the exact string "Disabled" passes;
// Disabled needs a subnet, or the deployment fails.
func decide(nb *model.Notebook) outcome {
	if model.IsDomain(nb.Type) {
		return decideDomain(nb)
	}
	diaName, subnetName := attrNames(nb.Kind)
	failed, ok, unknownWhy := judge(nb.DirectInternetAccess, valueRule{
		attr: diaName, pass: "Disabled", bad: "Enabled",
		defaultMeans: "SageMaker gives the notebook its own internet access",
		badMeans:     "SageMaker gives the notebook its own internet access, whatever the VPC's routes, security groups and network ACLs say",
		passMeans:    "turns direct internet access off",
	})
	if ok {
		return failed
	}
	sub := nb.SubnetID.Normalized()
	if unknownWhy != "" && noSubnet(sub) {
		// Whatever the value turns out to be, a deployed notebook has direct
		// access: Disabled without a subnet does not deploy.
		return outcome{status: finding.StatusFail, path: finding.PathDirect,
			message: fmt.Sprintf("%s cannot be decided before deployment (%s) and %s is omitted: a notebook without a subnet that deploys has direct internet access (Disabled needs a subnet)", diaName, unknownWhy, subnetName),
			rule:    "no " + subnetName + ": only Enabled deploys"}
	}
	if unknownWhy != "" {
		return outcome{path: finding.PathUnknown,
			message: fmt.Sprintf("%s cannot be decided before deployment (%s): the notebook may have direct internet access", diaName, unknownWhy),
			rule:    diaName + " is unresolved"}
	}
	for _, a := range sub.Alts {
		switch {
		case a.Absent || (!a.Unknown && strings.TrimSpace(a.Value) == ""):
			return outcome{status: finding.StatusFail, path: finding.PathNone,
				message: fmt.Sprintf("%s is \"Disabled\" but %s is omitted or empty: SageMaker allows Disabled only in a VPC subnet, so the deployment itself will fail", diaName, subnetName),
				rule:    "Disabled requires " + subnetName}
		case a.Unknown && !a.Set:
			return outcome{path: finding.PathUnknown,
				message: fmt.Sprintf("%s is \"Disabled\" but whether %s is set cannot be decided before deployment (%s)", diaName, subnetName, a.Why),
				rule:    subnetName + " is unresolved"}
		}
	}
	subnet := sub.Expr
	if v, ok := sub.Single(); ok {
		subnet = v
	}
	return outcome{status: finding.StatusPass, path: finding.PathNone,
		message: fmt.Sprintf("%s is \"Disabled\" and the notebook is placed in a subnet (%s = %s): its traffic goes through the VPC; run sagefence scan after deployment to check the VPC's egress path", diaName, subnetName, subnet),
		rule:    diaName + " = \"Disabled\" with " + subnetName}
}

// decideDomain applies the Studio control to a domain's configured
// AppNetworkAccessType: omitted is the API default, PublicInternetOnly
// (Studio apps then reach the internet through a SageMaker-managed VPC);
// only the exact string "VpcOnly" passes. CreateDomain requires the VPC and
// subnets whatever the value, so there is no placement to check here.
func decideDomain(nb *model.Notebook) outcome {
	name := domainAttrName(nb.Kind)
	failed, ok, unknownWhy := judge(nb.AppNetworkAccessType, valueRule{
		attr: name, pass: inventory.AppNetworkAccessVpcOnly, bad: inventory.AppNetworkAccessPublicInternetOnly,
		defaultMeans: "Studio apps reach the internet through a SageMaker-managed VPC",
		badMeans:     "non-EFS traffic goes through a SageMaker-managed VPC with internet access, whatever the domain VPC's routes, security groups and network ACLs say",
		passMeans:    "keeps Studio traffic in the domain's VPC",
	})
	switch {
	case ok:
		return failed
	case unknownWhy != "":
		return outcome{path: finding.PathUnknown,
			message: fmt.Sprintf("%s cannot be decided before deployment (%s): the domain may have direct internet access", name, unknownWhy),
			rule:    name + " is unresolved"}
	}
	return outcome{status: finding.StatusPass, path: finding.PathNone,
		message: fmt.Sprintf("%s is \"VpcOnly\": all Studio traffic goes through the domain's VPC subnets; whether that VPC reaches the internet (a NAT gateway) is decided after deployment", name),
		rule:    name + " = \"VpcOnly\""}
}

// domainAttrName is how each source spells AppNetworkAccessType.
func domainAttrName(k model.SourceKind) string {
	if k == model.KindTerraform || k == model.KindTerraformPlan {
		return model.TerraformAppNetworkAccessType
	}
	return "AppNetworkAccessType"
}

// noSubnet reports whether a subnet is certainly not given.
func noSubnet(sub model.Value) bool {
	for _, a := range sub.Alts {
		if !(a.Absent || (!a.Unknown && strings.TrimSpace(a.Value) == "")) {
			return false
		}
	}
	return len(sub.Alts) > 0
}

// Verdict turns a notebook into the control's result.
func (s *Scanner) Verdict(nb *model.Notebook) finding.Result {
	file := filepath.ToSlash(nb.File)
	name := nb.Name
	if name == "" {
		name = nb.Address
	}
	o := decide(nb)
	controlID, resourceType := finding.ControlID, finding.ResourceType
	if model.IsDomain(nb.Type) {
		controlID, resourceType = finding.ControlIDStudio, finding.ResourceTypeDomain
	}
	check := finding.Check{ID: control.CheckDirect, Severity: finding.SeverityHigh, Status: o.status, Message: o.message}
	var notes []string
	if o.status == "" {
		switch s.opts.Unresolved {
		case UnresolvedFail:
			check.Status = finding.StatusFail
			notes = append(notes, "unresolved values fail (--unresolved fail)")
		case UnresolvedPass:
			check.Status = finding.StatusPass
			notes = append(notes, "unresolved values pass (--unresolved pass): confirm with sagefence scan after deployment")
		default:
			check.Status = finding.StatusReview
		}
	}
	r := finding.Result{
		ControlID: controlID,
		Resource: finding.Resource{
			Type: resourceType, Name: name, File: file, Line: nb.Line,
			Address: nb.Address, SourceKind: string(nb.Kind), ConstructPath: nb.ConstructPath,
		},
		Status:       check.Status,
		Severity:     finding.SeverityInformational,
		InternetPath: o.path,
		Compliance:   s.opts.Compliance[controlID],
	}
	if r.Status == finding.StatusFail || r.Status == finding.StatusReview {
		r.Severity = finding.SeverityHigh
	}
	r.Evidence = finding.Evidence{DecidingRule: o.rule}
	writtenAs := func(attr string, v model.Value, evidence string) {
		if v.Expr != "" && v.Expr != evidence {
			notes = append(notes, attr+" is written as "+v.Expr)
		}
	}
	if model.IsDomain(nb.Type) {
		r.Evidence.StudioEvidence = &finding.StudioEvidence{
			AppNetworkAccessType: evidenceValue(nb.AppNetworkAccessType, "omitted (API default: PublicInternetOnly)")}
		writtenAs(domainAttrName(nb.Kind), nb.AppNetworkAccessType, r.Evidence.AppNetworkAccessType)
	} else {
		diaName, subnetName := attrNames(nb.Kind)
		r.Evidence.DirectInternetAccess = evidenceValue(nb.DirectInternetAccess, "omitted (API default: Enabled)")
		r.Evidence.SubnetID = evidenceValue(nb.SubnetID, "omitted")
		writtenAs(diaName, nb.DirectInternetAccess, r.Evidence.DirectInternetAccess)
		writtenAs(subnetName, nb.SubnetID, r.Evidence.SubnetID)
	}
	notes = append(notes, nb.Notes...)

	// Inline suppressions: honoured only with a reason, for this control.
	var honoured *model.Suppression
	for i := range nb.Suppressions {
		sup := &nb.Suppressions[i]
		switch {
		case sup.ID != controlID:
			notes = append(notes, fmt.Sprintf("inline suppression at %s names %q, not %s: ignored", filepath.ToSlash(sup.Source), sup.ID, controlID))
		case sup.Reason == "":
			msg := fmt.Sprintf("inline suppression at %s has no reason: not honoured", filepath.ToSlash(sup.Source))
			notes = append(notes, msg)
			check.Message += " (" + msg + ")"
		case honoured == nil:
			honoured = sup
		}
	}
	r.Checks = []finding.Check{check}
	if honoured != nil {
		if r.Status == finding.StatusFail || r.Status == finding.StatusReview {
			r.UnmutedStatus = r.Status
			r.Status = finding.StatusMuted
			r.Mute = &finding.Mute{Reason: honoured.Reason, Source: MuteSource}
			notes = append(notes, "muted by the inline suppression at "+filepath.ToSlash(honoured.Source))
		} else {
			notes = append(notes, "inline suppression at "+filepath.ToSlash(honoured.Source)+" is not needed: the resource does not fail")
		}
	}
	r.Evidence.Notes = notes
	if r.Status != finding.StatusPass {
		r.Remediation = remediation(nb)
	}
	r.Reproduce = finding.CommandList(reproduce(nb, file)...)
	return r
}

func evidenceValue(v model.Value, absent string) string {
	v = v.Normalized()
	if s, ok := v.Single(); ok {
		return s
	}
	if len(v.Alts) == 1 && v.Alts[0].Absent {
		return absent
	}
	if len(v.Alts) == 1 && v.Alts[0].Unknown {
		if v.Expr != "" {
			return v.Expr
		}
		return "unknown"
	}
	return v.String()
}

func remediation(nb *model.Notebook) string {
	if model.IsDomain(nb.Type) {
		return domainRemediation(nb)
	}
	const keep = " Changing it replaces an existing notebook and deletes its ML storage volume: back up /home/ec2-user/SageMaker first."
	switch nb.Kind {
	case model.KindTerraform, model.KindTerraformPlan:
		return fmt.Sprintf("Set direct_internet_access = \"Disabled\" with subnet_id (a private subnet) and security_group_ids on %s, in the Terraform configuration.", nb.Address) + keep
	case model.KindCDK:
		return fmt.Sprintf("Set directInternetAccess: 'Disabled' with subnetId and securityGroupIds on the CfnNotebookInstance at %s (logical ID %s).", orDash(nb.ConstructPath), nb.Address) + keep
	}
	return fmt.Sprintf("Set DirectInternetAccess: Disabled with SubnetId and SecurityGroupIds on resource %s.", nb.Address) + keep
}

// domainRemediation is the fix for a Studio domain. AppNetworkAccessType
// can be changed in place (UpdateDomain), but only once the domain's apps
// are deleted, and VpcOnly needs VPC endpoints or a NAT gateway for
// SageMaker and the other AWS APIs the users call.
func domainRemediation(nb *model.Notebook) string {
	const needs = " With VpcOnly, Studio reaches AWS only through the domain's subnets: give them interface VPC endpoints (SageMaker API and runtime, STS, ...) or a NAT gateway, and let the security groups allow NFS (TCP 2049) between the apps and EFS. Changing it on an existing domain requires deleting the domain's running apps first."
	switch nb.Kind {
	case model.KindTerraform, model.KindTerraformPlan:
		return fmt.Sprintf("Set app_network_access_type = \"VpcOnly\" on %s, in the Terraform configuration.", nb.Address) + needs
	case model.KindCDK:
		return fmt.Sprintf("Set appNetworkAccessType: 'VpcOnly' on the CfnDomain at %s (logical ID %s).", orDash(nb.ConstructPath), nb.Address) + needs
	}
	return fmt.Sprintf("Set AppNetworkAccessType: VpcOnly on resource %s.", nb.Address) + needs
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// reproduce is how an auditor confirms the verdict by hand: the planned
// values from Terraform, or the deployed notebook's settings.
func reproduce(nb *model.Notebook, file string) []string {
	var out []string
	fields := "{direct_internet_access, subnet_id}"
	if model.IsDomain(nb.Type) {
		fields = "{app_network_access_type, vpc_id, subnet_ids}"
	}
	switch nb.Kind {
	case model.KindTerraform:
		dir := filepath.ToSlash(filepath.Dir(nb.File))
		out = append(out, fmt.Sprintf("terraform -chdir=%s plan -out=sagefence.tfplan && terraform -chdir=%s show -json sagefence.tfplan | jq '.resource_changes[] | select(.address == %s) | .change.after | %s'",
			shellQuote(dir), shellQuote(dir), jqString(nb.Address), fields))
	case model.KindTerraformPlan:
		out = append(out, fmt.Sprintf("jq '.resource_changes[] | select(.address == %s) | {actions: .change.actions, after: (.change.after | %s), unknown: .change.after_unknown}' %s",
			jqString(nb.Address), fields, shellQuote(file)))
	}
	switch {
	case model.IsDomain(nb.Type) && isDomainName(nb.Name):
		// Domains are described by ID, which the code does not know.
		out = append(out, "aws sagemaker describe-domain --domain-id \"$(aws sagemaker list-domains --query "+
			shellQuote("Domains[?DomainName==`"+nb.Name+"`].DomainId | [0]")+" --output text)\""+
			" --query '{AppNetworkAccessType:AppNetworkAccessType,VpcId:VpcId,SubnetIds:SubnetIds}'")
	case !model.IsDomain(nb.Type) && nb.Name != "":
		out = append(out, "aws sagemaker describe-notebook-instance --notebook-instance-name "+shellQuote(nb.Name)+
			" --query '{DirectInternetAccess:DirectInternetAccess,SubnetId:SubnetId,SecurityGroups:SecurityGroups}'")
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// isDomainName reports whether s is a valid domain name (letters, digits
// and inner hyphens), which is also what keeps it safe inside the
// JMESPath literal of the reproducing command.
func isDomainName(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == ""
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// jqString is s as a jq string literal inside a single-quoted shell word.
func jqString(s string) string {
	b, _ := json.Marshal(s)
	return strings.ReplaceAll(string(b), "'", `\u0027`)
}
