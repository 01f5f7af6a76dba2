// Package asff builds AWS Security Finding Format findings from a report,
// using the SDK's own Security Hub types so that what is written to a file is
// exactly what the Security Hub push imports. IDs are deterministic (account,
// region, notebook ARN and control), so importing again updates a finding
// instead of duplicating it.
package asff

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// SchemaVersion is the ASFF schema version.
const SchemaVersion = "2018-10-08"

// FindingType is the ASFF finding type of every result.
const FindingType = "Software and Configuration Checks/AWS Security Best Practices"

// ResourceType is the ASFF resource type of a SageMaker notebook instance.
const ResourceType = "AwsSageMakerNotebookInstance"

// ResourceTypeOther is the ASFF resource type of a Studio domain or user
// profile: ASFF has no type of its own for them (its SageMaker types are
// the notebook instance's only), so they are "Other" with their facts in
// Details.Other.
const ResourceTypeOther = "Other"

// Security Hub field limits (API reference, AwsSecurityFinding).
const (
	maxTitle        = 256
	maxDescription  = 1024
	maxRemediation  = 512
	maxRequirements = 32
	maxProductField = 50
	maxNote         = 512
)

// NoteAuthor is the Note.UpdatedBy of every note sagefence writes on a
// finding.
const NoteAuthor = "sagefence"

// MuteNote is the note of a MUTED result: what muted it (its Mute.Source),
// why, by whom and until when. NoteSource reads the source back.
func MuteNote(res *finding.Result) string {
	if res.Mute == nil {
		return "Muted."
	}
	note := "Muted: "
	if res.Mute.Source != "" {
		note = "Muted (" + res.Mute.Source + "): "
	}
	note += strings.TrimSuffix(res.Mute.Reason, ".")
	var about []string
	if res.Mute.Owner != "" {
		about = append(about, "owner "+res.Mute.Owner)
	}
	if res.Mute.Expires != "" {
		about = append(about, "expires "+res.Mute.Expires)
	}
	if len(about) > 0 {
		note += " (" + strings.Join(about, ", ") + ")"
	}
	return note + "."
}

// NoteSource is the Mute.Source a MuteNote names, and whether text is
// such a note.
func NoteSource(text string) (string, bool) {
	rest, ok := strings.CutPrefix(text, "Muted (")
	if !ok {
		return "", false
	}
	source, _, ok := strings.Cut(rest, "): ")
	return source, ok
}

// ProductARN is the ARN of the account's default product, the one a
// customer's own tool imports findings as.
func ProductARN(partition, region, account string) string {
	return "arn:" + partition + ":securityhub:" + region + ":" + account + ":product/" + account + "/default"
}

// Findings converts every result of r to an ASFF finding, in report order.
// A result without an account or region cannot be addressed to a Security
// Hub and is an error.
func Findings(r *finding.Report) ([]types.AwsSecurityFinding, error) {
	created := reportfmt.Timestamp(r.StartedAt)
	updated := reportfmt.Timestamp(r.FinishedAt)
	out := make([]types.AwsSecurityFinding, 0, len(r.Results))
	var errs []error
	for i := range r.Results {
		res := &r.Results[i]
		if res.AccountID == "" || res.Region == "" {
			errs = append(errs, fmt.Errorf("asff: result %d (%s) has no account or region", i, reportfmt.ResourceID(res)))
			continue
		}
		out = append(out, build(r, res, created, updated))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func build(r *finding.Report, res *finding.Result, created, updated string) types.AwsSecurityFinding {
	partition := reportfmt.Partition(res)
	control := cmp.Or(res.ControlID, finding.ControlID)
	f := types.AwsSecurityFinding{
		SchemaVersion:   aws.String(SchemaVersion),
		Id:              aws.String(reportfmt.FindingID(res)),
		ProductArn:      aws.String(ProductARN(partition, res.Region, res.AccountID)),
		ProductName:     aws.String(r.Tool.Name),
		CompanyName:     aws.String(r.Tool.Name),
		GeneratorId:     aws.String(control),
		AwsAccountId:    aws.String(res.AccountID),
		Region:          aws.String(res.Region),
		Types:           []string{FindingType},
		CreatedAt:       aws.String(created),
		UpdatedAt:       aws.String(updated),
		FirstObservedAt: aws.String(created),
		LastObservedAt:  aws.String(updated),
		Severity:        &types.Severity{Label: severity(res), Original: aws.String(string(res.Severity))},
		Title:           aws.String(truncate(title(res), maxTitle)),
		Description:     aws.String(truncate(description(res), maxDescription)),
		Compliance: &types.Compliance{
			Status:              complianceStatus(res),
			RelatedRequirements: requirements(res.Compliance),
		},
		RecordState:   types.RecordStateActive,
		ProductFields: productFields(r, res),
		Resources:     []types.Resource{resource(res, partition)},
	}
	if res.Remediation != "" {
		f.Remediation = &types.Remediation{Recommendation: &types.Recommendation{Text: aws.String(truncate(res.Remediation, maxRemediation))}}
	}
	if reasons := statusReasons(res); len(reasons) > 0 {
		f.Compliance.StatusReasons = reasons
	}
	// Security Hub takes Workflow and Note from the provider only when it
	// creates a finding; later changes go through BatchUpdateFindings
	// (securityhub.SyncWorkflow). The note's author tells sagefence's
	// suppressions from an analyst's.
	if res.Status == finding.StatusMuted {
		f.Workflow = &types.Workflow{Status: types.WorkflowStatusSuppressed}
		f.Note = &types.Note{Text: aws.String(truncate(MuteNote(res), maxNote)), UpdatedBy: aws.String(NoteAuthor), UpdatedAt: aws.String(updated)}
	} else {
		f.Workflow = &types.Workflow{Status: types.WorkflowStatusNew}
	}
	return f
}

func severity(res *finding.Result) types.SeverityLabel {
	// Security Hub's convention for passed controls.
	if res.Status == finding.StatusPass {
		return types.SeverityLabelInformational
	}
	switch res.Severity {
	case finding.SeverityHigh:
		return types.SeverityLabelHigh
	case finding.SeverityMedium:
		return types.SeverityLabelMedium
	case finding.SeverityLow:
		return types.SeverityLabelLow
	}
	return types.SeverityLabelInformational
}

func complianceStatus(res *finding.Result) types.ComplianceStatus {
	s := res.Status
	if s == finding.StatusMuted && res.UnmutedStatus != "" {
		s = res.UnmutedStatus
	}
	switch s {
	case finding.StatusPass:
		return types.ComplianceStatusPassed
	case finding.StatusFail, finding.StatusMuted:
		return types.ComplianceStatusFailed
	case finding.StatusReview:
		return types.ComplianceStatusWarning
	}
	return types.ComplianceStatusNotAvailable
}

func statusReasons(res *finding.Result) []types.StatusReason {
	var out []types.StatusReason
	for _, c := range res.Checks {
		if c.Status == finding.StatusFail || c.Status == finding.StatusError || c.Status == finding.StatusReview {
			out = append(out, types.StatusReason{ReasonCode: aws.String(c.ID), Description: aws.String(truncate(c.Message, 2048))})
		}
	}
	return out
}

func requirements(m map[string][]string) []string {
	out := reportfmt.Requirements(m)
	if len(out) > maxRequirements {
		out = out[:maxRequirements]
	}
	return out
}

func productFields(r *finding.Report, res *finding.Result) map[string]string {
	m := map[string]string{
		"sagefence/Status":       string(res.Status),
		"sagefence/InternetPath": string(res.InternetPath),
		"sagefence/Profile":      r.Profile,
		"sagefence/ToolVersion":  r.Tool.Version,
	}
	if res.UnmutedStatus != "" {
		m["sagefence/UnmutedStatus"] = string(res.UnmutedStatus)
	}
	if res.Mute != nil {
		m["sagefence/MuteReason"] = truncate(res.Mute.Reason, 1024)
		m["sagefence/MuteOwner"] = res.Mute.Owner
		m["sagefence/MuteExpires"] = res.Mute.Expires
	}
	for _, c := range res.Checks {
		if len(m) >= maxProductField {
			break
		}
		m["sagefence/check/"+c.ID] = string(c.Status)
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] == "" {
			delete(m, k)
		}
	}
	return m
}

// resource is the finding's resource: a notebook instance with its ASFF
// details, or a Studio domain or user profile as "Other".
func resource(res *finding.Result, partition string) types.Resource {
	r := types.Resource{
		Type:      aws.String(ResourceType),
		Id:        aws.String(reportfmt.ResourceID(res)),
		Partition: types.Partition(partition),
		Region:    aws.String(res.Region),
		Tags:      res.Resource.Tags,
	}
	if res.Resource.Type != finding.ResourceTypeDomain && res.Resource.Type != finding.ResourceTypeUserProfile {
		r.Details = &types.ResourceDetails{AwsSageMakerNotebookInstance: details(res)}
		return r
	}
	r.Type = aws.String(ResourceTypeOther)
	e := res.Evidence
	other := map[string]string{"ResourceType": res.Resource.Type, "Name": res.Resource.Name, "VpcId": e.VPCID,
		"SubnetId": e.SubnetID, "SecurityGroups": strings.Join(e.SecurityGroupIDs, ",")}
	if s := e.StudioEvidence; s != nil {
		other["DomainId"], other["AppNetworkAccessType"], other["UserProfileName"] = s.DomainID, s.AppNetworkAccessType, s.UserProfileName
	}
	for k, v := range other {
		if v == "" {
			delete(other, k)
		}
	}
	r.Details = &types.ResourceDetails{Other: other}
	return r
}

func details(res *finding.Result) *types.AwsSageMakerNotebookInstanceDetails {
	e := res.Evidence
	d := &types.AwsSageMakerNotebookInstanceDetails{
		NotebookInstanceName: aws.String(res.Resource.Name),
		SecurityGroups:       e.SecurityGroupIDs,
	}
	if res.Resource.ARN != "" {
		d.NotebookInstanceArn = aws.String(res.Resource.ARN)
	}
	set := func(dst **string, v string) {
		if v != "" {
			*dst = aws.String(v)
		}
	}
	set(&d.DirectInternetAccess, e.DirectInternetAccess)
	set(&d.SubnetId, e.SubnetID)
	set(&d.NetworkInterfaceId, e.NetworkInterfaceID)
	set(&d.NotebookInstanceStatus, e.NotebookStatus)
	set(&d.RootAccess, e.RootAccess)
	return d
}

func title(res *finding.Result) string {
	switch res.Status {
	case finding.StatusPass:
		return reportfmt.Noun(res) + " " + res.Resource.Name + " has no uncontrolled internet access"
	case finding.StatusError:
		return reportfmt.Noun(res) + " " + res.Resource.Name + " could not be evaluated"
	case finding.StatusReview:
		return reportfmt.Noun(res) + " " + res.Resource.Name + " needs review: internet path " + string(res.InternetPath)
	}
	return reportfmt.Noun(res) + " " + res.Resource.Name + " has internet access (" + string(res.InternetPath) + ")"
}

func description(res *finding.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: internet path %s.", res.Status, res.InternetPath)
	for _, c := range res.Checks {
		if c.Status == finding.StatusNotApplicable {
			continue
		}
		fmt.Fprintf(&b, " [%s] %s: %s.", c.Status, c.ID, strings.TrimSuffix(c.Message, "."))
	}
	if res.Mute != nil {
		fmt.Fprintf(&b, " Muted: %s (owner %s, expires %s).", res.Mute.Reason, res.Mute.Owner, res.Mute.Expires)
	}
	return b.String()
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Write writes r to w as one JSON array of ASFF findings (the shape
// `aws securityhub batch-import-findings --findings file://...` takes).
// Unset SDK fields are left out rather than written as null.
func Write(w io.Writer, r *finding.Report) error {
	fs, err := Findings(r)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(fs)
	if err != nil {
		return fmt.Errorf("asff: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf("asff: %w", err)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(prune(v)); err != nil {
		return fmt.Errorf("asff: %w", err)
	}
	return nil
}

// prune drops nulls, empty strings (unset SDK enums such as
// VerificationState) and objects left empty, which the SDK's structs (no
// omitempty tags) are full of. Tag values are kept even when empty: an empty
// tag value is meaningful.
func prune(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if k == "Tags" {
				if x == nil {
					delete(t, k)
				}
				continue
			}
			x = prune(x)
			if empty(x) {
				delete(t, k)
				continue
			}
			t[k] = x
		}
		return t
	case []any:
		out := t[:0]
		for _, x := range t {
			if x = prune(x); !empty(x) {
				out = append(out, x)
			}
		}
		return out
	}
	return v
}

func empty(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case map[string]any:
		return len(t) == 0
	}
	return false
}
