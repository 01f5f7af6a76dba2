package iac

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/iac/model"
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

// decide applies the control to a notebook's configured values (CONTROL.md
// direct-internet-access, from configuration alone): an omitted attribute
// is the API default, Enabled; only the exact string "Disabled" passes;
// Disabled needs a subnet, or the deployment fails.
func decide(nb *model.Notebook) outcome {
	diaName, subnetName := attrNames(nb.Kind)
	dia := nb.DirectInternetAccess.Normalized()
	several := len(dia.Alts) > 1
	var unknownWhy string
	for _, a := range dia.Alts {
		why := ""
		if a.Why != "" {
			why = " (" + a.Why + ")"
		}
		verb := "is"
		if several {
			verb = "can be"
		}
		switch {
		case a.Absent:
			return outcome{status: finding.StatusFail, path: finding.PathDirect,
				message: fmt.Sprintf("%s %s omitted%s: the provider and the SageMaker API default to Enabled, so SageMaker gives the notebook its own internet access", diaName, verb, why),
				rule:    "an omitted " + diaName + " is Enabled (the API default)"}
		case a.Unknown:
			if unknownWhy == "" {
				unknownWhy = a.Why
			}
		case a.Value == "Disabled":
		case a.Value == "Enabled":
			return outcome{status: finding.StatusFail, path: finding.PathDirect,
				message: fmt.Sprintf("%s %s \"Enabled\"%s: SageMaker gives the notebook its own internet access, whatever the VPC's routes, security groups and network ACLs say", diaName, verb, why),
				rule:    diaName + " = \"Enabled\""}
		case strings.EqualFold(a.Value, "Disabled"):
			return outcome{status: finding.StatusFail, path: finding.PathDirect,
				message: fmt.Sprintf("%s %s %q%s, not \"Disabled\": the value is case-sensitive, so the provider or the API rejects it; only the exact string \"Disabled\" turns direct internet access off", diaName, verb, a.Value, why),
				rule:    "only the exact string \"Disabled\" passes"}
		default:
			return outcome{status: finding.StatusFail, path: finding.PathDirect,
				message: fmt.Sprintf("%s %s %q%s: only the exact string \"Disabled\" turns direct internet access off", diaName, verb, a.Value, why),
				rule:    "only the exact string \"Disabled\" passes"}
		}
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
		ControlID: finding.ControlID,
		Resource: finding.Resource{
			Type: finding.ResourceType, Name: name, File: file, Line: nb.Line,
			Address: nb.Address, SourceKind: string(nb.Kind), ConstructPath: nb.ConstructPath,
		},
		Status:       check.Status,
		Severity:     finding.SeverityInformational,
		InternetPath: o.path,
		Compliance:   s.opts.Compliance,
	}
	if r.Status == finding.StatusFail || r.Status == finding.StatusReview {
		r.Severity = finding.SeverityHigh
	}
	diaName, subnetName := attrNames(nb.Kind)
	r.Evidence = finding.Evidence{
		DirectInternetAccess: evidenceValue(nb.DirectInternetAccess, "omitted (API default: Enabled)"),
		SubnetID:             evidenceValue(nb.SubnetID, "omitted"),
		DecidingRule:         o.rule,
	}
	if e := nb.DirectInternetAccess.Expr; e != "" && e != r.Evidence.DirectInternetAccess {
		notes = append(notes, diaName+" is written as "+e)
	}
	if e := nb.SubnetID.Expr; e != "" && e != r.Evidence.SubnetID {
		notes = append(notes, subnetName+" is written as "+e)
	}
	notes = append(notes, nb.Notes...)

	// Inline suppressions: honoured only with a reason, for this control.
	var honoured *model.Suppression
	for i := range nb.Suppressions {
		sup := &nb.Suppressions[i]
		switch {
		case sup.ID != finding.ControlID:
			notes = append(notes, fmt.Sprintf("inline suppression at %s names %q, not %s: ignored", filepath.ToSlash(sup.Source), sup.ID, finding.ControlID))
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
			notes = append(notes, "inline suppression at "+filepath.ToSlash(honoured.Source)+" is not needed: the notebook does not fail")
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
	const keep = " Changing it replaces an existing notebook and deletes its ML storage volume: back up /home/ec2-user/SageMaker first."
	switch nb.Kind {
	case model.KindTerraform, model.KindTerraformPlan:
		return fmt.Sprintf("Set direct_internet_access = \"Disabled\" with subnet_id (a private subnet) and security_group_ids on %s, in the Terraform configuration.", nb.Address) + keep
	case model.KindCDK:
		return fmt.Sprintf("Set directInternetAccess: 'Disabled' with subnetId and securityGroupIds on the CfnNotebookInstance at %s (logical ID %s).", orDash(nb.ConstructPath), nb.Address) + keep
	}
	return fmt.Sprintf("Set DirectInternetAccess: Disabled with SubnetId and SecurityGroupIds on resource %s.", nb.Address) + keep
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
	switch nb.Kind {
	case model.KindTerraform:
		dir := filepath.ToSlash(filepath.Dir(nb.File))
		out = append(out, fmt.Sprintf("terraform -chdir=%s plan -out=sagefence.tfplan && terraform -chdir=%s show -json sagefence.tfplan | jq '.resource_changes[] | select(.address == %s) | .change.after | {direct_internet_access, subnet_id}'",
			shellQuote(dir), shellQuote(dir), jqString(nb.Address)))
	case model.KindTerraformPlan:
		out = append(out, fmt.Sprintf("jq '.resource_changes[] | select(.address == %s) | {actions: .change.actions, after: (.change.after | {direct_internet_access, subnet_id}), unknown: .change.after_unknown}' %s",
			jqString(nb.Address), shellQuote(file)))
	}
	if nb.Name != "" {
		out = append(out, "aws sagemaker describe-notebook-instance --notebook-instance-name "+shellQuote(nb.Name)+
			" --query '{DirectInternetAccess:DirectInternetAccess,SubnetId:SubnetId,SecurityGroups:SecurityGroups}'")
	}
	if out == nil {
		out = []string{}
	}
	return out
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
