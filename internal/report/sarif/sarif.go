// Package sarif writes a report as SARIF 2.1.0 (owenrumney/go-sarif) for
// code-scanning upload: one rule per control (the notebook control always,
// the Studio domain control when a result is about it), one result per
// FAIL, REVIEW or MUTED resource, each located at its file and line when it has one
// (sagefence iac) and by its resource address or ARN otherwise. MUTED
// results carry their suppression with its justification; passing
// notebooks are "pass" results; sources that could not be evaluated are
// tool execution notifications.
package sarif

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// InformationURI is where the tool is documented.
const InformationURI = "https://github.com/sagefence/sagefence"

// ruleText describes one control as a SARIF rule.
type ruleText struct {
	id, name, short, full, help string
}

// rules returns the rule of every control sagefence reports, the notebook
// control first (index 0, as before there were others).
func rules() []ruleText {
	return []ruleText{
		{
			id:    finding.ControlID,
			name:  "SageMakerNotebookNoDirectInternetAccess",
			short: "SageMaker notebook instances must not have direct internet access",
			full: "DirectInternetAccess must be the exact string \"Disabled\" and the notebook must be placed in a VPC subnet. " +
				"An omitted DirectInternetAccess is Enabled (the API default): SageMaker then gives the notebook its own internet " +
				"path, which the VPC's routes, security groups and network ACLs do not govern.",
			help: "Set DirectInternetAccess (Terraform: direct_internet_access) to \"Disabled\" and give the notebook a private " +
				"subnet and security groups. The setting cannot be updated: changing it replaces an existing notebook and deletes " +
				"its ML storage volume, so back up /home/ec2-user/SageMaker first.",
		},
		{
			id:    finding.ControlIDStudio,
			name:  "SageMakerStudioDomainVpcOnly",
			short: "SageMaker Studio domains must not have direct internet access",
			full: "AppNetworkAccessType must be the exact string \"VpcOnly\". An omitted AppNetworkAccessType is PublicInternetOnly " +
				"(the API default): Studio apps then reach the internet through a SageMaker-managed VPC, which the domain VPC's " +
				"routes, security groups and network ACLs do not govern.",
			help: "Set AppNetworkAccessType (Terraform: app_network_access_type) to \"VpcOnly\". All Studio traffic then goes " +
				"through the domain's subnets: give them interface VPC endpoints (SageMaker API and runtime, STS, ...) or a NAT " +
				"gateway, and allow NFS (TCP 2049) between the apps and the domain's EFS volume. On an existing domain, delete its " +
				"running apps before changing the setting (UpdateDomain).",
		},
	}
}

// Write encodes r as an indented SARIF 2.1.0 log.
func Write(w io.Writer, r *finding.Report) error {
	log := sarif.NewReport()
	run := sarif.NewRun()
	driver := sarif.NewToolComponent().
		WithName(r.Tool.Name).
		WithVersion(r.Tool.Version).
		WithInformationURI(InformationURI)
	index := map[string]int{}
	for _, rt := range rules() {
		if rt.id != finding.ControlID && !hasControl(r, rt.id) {
			continue
		}
		index[rt.id] = len(driver.Rules)
		driver.AddRule(rule(r, rt))
	}
	run.Tool = sarif.NewTool()
	run.Tool.Driver = driver

	artifacts := map[string]int{}
	artifactIndex := func(uri string) int {
		if i, ok := artifacts[uri]; ok {
			return i
		}
		a := sarif.NewArtifact().WithLocation(sarif.NewSimpleArtifactLocation(uri))
		a.Length = -1
		a.Location.Index = len(run.Artifacts)
		run.Artifacts = append(run.Artifacts, a)
		artifacts[uri] = a.Location.Index
		return a.Location.Index
	}

	for i := range r.Results {
		res := &r.Results[i]
		sr := sarif.NewRuleResult(res.ControlID).WithRuleIndex(index[controlOf(res)]).WithMessage(sarif.NewTextMessage(reportfmt.Message(res)))
		sr.Rank = -1
		switch status := res.Status; {
		case status == finding.StatusPass:
			sr.WithKind("pass").WithLevel("none")
		case status == finding.StatusError:
			sr.WithKind("fail").WithLevel("error")
		case status == finding.StatusReview || res.UnmutedStatus == finding.StatusReview:
			// SARIF allows a level only on "fail" results; a REVIEW is a
			// possible violation that code scanning must still show.
			sr.WithKind("fail").WithLevel("warning")
		default:
			sr.WithKind("fail").WithLevel("error")
		}
		if res.Status == finding.StatusMuted && res.Mute != nil {
			kind := "external"
			if res.Mute.Source == "inline" {
				kind = "inSource"
			}
			sr.WithSuppressions([]*sarif.Suppression{sarif.NewSuppression().
				WithKind(kind).WithStatus("accepted").WithJustification(res.Mute.Reason)})
		}
		loc := sarif.NewLocation()
		if res.Resource.File != "" {
			uri := uriOf(res.Resource.File)
			al := sarif.NewSimpleArtifactLocation(uri)
			al.Index = artifactIndex(uri)
			pl := sarif.NewPhysicalLocation().WithArtifactLocation(al)
			if res.Resource.Line > 0 {
				pl.WithRegion(sarif.NewRegion().WithStartLine(res.Resource.Line))
			}
			loc.WithPhysicalLocation(pl)
		}
		if name := logicalName(res); name != "" {
			ll := sarif.NewLogicalLocation().WithName(name).WithFullyQualifiedName(qualifiedName(res)).WithKind("resource")
			ll.Index = len(run.LogicalLocations)
			run.LogicalLocations = append(run.LogicalLocations, sarif.NewLogicalLocation().
				WithName(name).WithFullyQualifiedName(qualifiedName(res)).WithKind("resource"))
			loc.AddLogicalLocation(ll)
		}
		sr.AddLocation(loc)
		sr.PartialFingerprints = map[string]string{"sagefence/v1": reportfmt.SourceFingerprint(res)}
		props := sarif.NewPropertyBag().
			Add("status", string(res.Status)).
			Add("severity", string(res.Severity)).
			Add("internet_path", string(res.InternetPath))
		if res.Resource.SourceKind != "" {
			props.Add("source_kind", res.Resource.SourceKind)
		}
		if res.Remediation != "" {
			props.Add("remediation", res.Remediation)
		}
		sr.WithProperties(props)
		run.AddResult(sr)
	}

	inv := sarif.NewInvocation()
	inv.ExecutionSuccessful = &r.Complete
	if !r.StartedAt.IsZero() {
		s := r.StartedAt.UTC().Format(time.RFC3339)
		inv.StartTimeUtc = &s
	}
	if !r.FinishedAt.IsZero() {
		s := r.FinishedAt.UTC().Format(time.RFC3339)
		inv.EndTimeUtc = &s
	}
	for _, e := range r.Errors {
		n := sarif.NewNotification().WithLevel("error").WithMessage(sarif.NewTextMessage(reportfmt.ErrorText(e)))
		if file, line, ok := reportfmt.ErrorLocation(e); ok {
			uri := uriOf(file)
			al := sarif.NewSimpleArtifactLocation(uri)
			al.Index = artifactIndex(uri)
			pl := sarif.NewPhysicalLocation().WithArtifactLocation(al)
			if line > 0 {
				pl.WithRegion(sarif.NewRegion().WithStartLine(line))
			}
			n.AddLocation(sarif.NewLocation().WithPhysicalLocation(pl))
		}
		inv.AddToolExecutionNotification(n)
	}
	run.AddInvocation(inv)
	log.AddRun(run)
	if err := log.PrettyWrite(w); err != nil {
		return fmt.Errorf("encode SARIF report: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// hasControl reports whether any result is about the control.
func hasControl(r *finding.Report, id string) bool {
	for i := range r.Results {
		if r.Results[i].ControlID == id {
			return true
		}
	}
	return false
}

// rule is the reporting descriptor of one control, tagged with the
// compliance mapping its results carry.
func rule(r *finding.Report, rt ruleText) *sarif.ReportingDescriptor {
	rd := sarif.NewRule(rt.id).
		WithName(rt.name).
		WithShortDescription(sarif.NewMultiformatMessageString().WithText(rt.short)).
		WithFullDescription(sarif.NewMultiformatMessageString().WithText(rt.full)).
		WithHelp(sarif.NewMultiformatMessageString().WithText(rt.help)).
		WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel("error"))
	props := sarif.NewPropertyBag()
	// GitHub code scanning ranks security results by this score (high).
	props.Add("security-severity", "8.0")
	props.AddTag("security")
	props.AddTag("sagemaker")
	for i := range r.Results {
		if c := r.Results[i].Compliance; len(c) > 0 && controlOf(&r.Results[i]) == rt.id {
			keys := make([]string, 0, len(c))
			for k := range c {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				for _, id := range c[k] {
					props.AddTag(k + ":" + id)
				}
			}
			break
		}
	}
	return rd.WithProperties(props)
}

// controlOf is a result's control; results read from older reports may
// carry none, and those were all about notebooks.
func controlOf(res *finding.Result) string {
	if res.ControlID == "" {
		return finding.ControlID
	}
	return res.ControlID
}

func logicalName(res *finding.Result) string {
	switch {
	case res.Resource.Address != "":
		return res.Resource.Address
	case res.Resource.ARN != "":
		return res.Resource.ARN
	}
	return res.Resource.Name
}

func qualifiedName(res *finding.Result) string {
	switch {
	case res.Resource.ConstructPath != "":
		return res.Resource.ConstructPath
	case res.Resource.File != "" && res.Resource.Address != "":
		return res.Resource.File + "#" + res.Resource.Address
	}
	return logicalName(res)
}

// uriOf makes a relative URI reference from a slash-separated path.
func uriOf(path string) string {
	path = strings.TrimPrefix(path, "./")
	var b strings.Builder
	for _, c := range []byte(path) {
		if c < 0x21 || c > 0x7e || strings.IndexByte(`%"<>\^`+"`"+`{|}#?[]`, c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
