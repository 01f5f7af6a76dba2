// Package reportfmt holds the small pieces that several report writers must
// agree on: the deterministic finding ID shared by ASFF and OCSF (so that a
// finding keeps its identity across formats and across runs), the AWS
// partition of a result, the display order of results, the human names
// of the compliance frameworks the control package maps to, and the
// one-line texts and source locations of results and errors that the
// annotation formats (SARIF, GitHub, GitLab) share.
package reportfmt

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sagefence/sagefence/internal/finding"
)

// FindingID is the stable identifier of a result: the same account, region,
// resource and control always give the same ID, so a re-run updates a
// finding in Security Hub or a SIEM instead of duplicating it.
func FindingID(res *finding.Result) string {
	control := res.ControlID
	if control == "" {
		control = finding.ControlID
	}
	key := res.Resource.ARN
	if key == "" {
		key = "name:" + res.Resource.Name
	}
	h := sha256.Sum256([]byte(res.AccountID + "\x00" + res.Region + "\x00" + key + "\x00" + control))
	return "sagefence/" + res.AccountID + "/" + res.Region + "/" + control + "/" + hex.EncodeToString(h[:16])
}

// Partition is the AWS partition of a result: taken from its ARN when it has
// one, else inferred from the region name.
func Partition(res *finding.Result) string {
	if p, ok := strings.CutPrefix(res.Resource.ARN, "arn:"); ok {
		if i := strings.IndexByte(p, ':'); i > 0 {
			return p[:i]
		}
	}
	switch {
	case strings.HasPrefix(res.Region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(res.Region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// ResourceID is the ARN of the result's notebook, or its name when the ARN
// is unknown (for example when the describe call failed).
func ResourceID(res *finding.Result) string {
	if res.Resource.ARN != "" {
		return res.Resource.ARN
	}
	return res.Resource.Name
}

// Noun names a result's kind of resource for people: "SageMaker notebook
// instance", "SageMaker Studio domain" or "SageMaker Studio user profile".
func Noun(res *finding.Result) string {
	switch res.Resource.Type {
	case finding.ResourceTypeDomain:
		return "SageMaker Studio domain"
	case finding.ResourceTypeUserProfile:
		return "SageMaker Studio user profile"
	}
	return "SageMaker notebook instance"
}

// The prefixes DisplayName gives Studio results: what the history stores
// them under and alerts name them by.
const (
	DomainPrefix      = "studio-domain/"
	UserProfilePrefix = "studio-user-profile/"
)

// DisplayName is a result's resource as people read it in a list of
// results of several types: a notebook instance's name as it is, a Studio
// domain's as "studio-domain/NAME", a user profile's as
// "studio-user-profile/DOMAIN/PROFILE".
func DisplayName(res *finding.Result) string {
	switch res.Resource.Type {
	case finding.ResourceTypeDomain:
		return DomainPrefix + res.Resource.Name
	case finding.ResourceTypeUserProfile:
		return UserProfilePrefix + res.Resource.Name
	}
	return res.Resource.Name
}

// OnlyNotebooks reports whether every result is about a notebook instance
// (or names no type, as an older report's may not), so that writers keep
// calling them notebooks.
func OnlyNotebooks(results []finding.Result) bool {
	for i := range results {
		if t := results[i].Resource.Type; t != "" && t != finding.ResourceType {
			return false
		}
	}
	return true
}

// ControlTitle is the statement of a control, by its ID.
func ControlTitle(controlID string) string {
	if controlID == finding.ControlIDStudio {
		return "SageMaker Studio domains must not give their apps direct internet access"
	}
	return "SageMaker notebook instances must not have direct internet access"
}

// Frameworks returns the compliance map's framework keys in sorted order.
func Frameworks(m map[string][]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// Requirements flattens a compliance map to "Framework requirement" strings,
// frameworks sorted by key and requirements in the order given.
func Requirements(m map[string][]string) []string {
	var out []string
	for _, k := range Frameworks(m) {
		for _, req := range m[k] {
			out = append(out, StandardName(k)+" "+req)
		}
	}
	return out
}

// StandardName is the human name of a compliance framework key from the
// control's catalog; unknown keys are returned as they are.
func StandardName(key string) string {
	switch key {
	case "aws-securityhub":
		return "AWS Foundational Security Best Practices"
	case "aws-config":
		return "AWS Config managed rule"
	case "cis-controls-v8":
		return "CIS Controls v8"
	case "nist-800-53-r5":
		return "NIST SP 800-53 Rev. 5"
	case "soc2":
		return "SOC 2"
	case "hipaa":
		return "HIPAA Security Rule"
	case "pci-dss-4.0":
		return "PCI DSS v4.0"
	}
	return key
}

// StatusOrder ranks result statuses for display, most urgent first:
// ERROR, FAIL, REVIEW, MUTED, PASS.
func StatusOrder(s finding.Status) int {
	switch s {
	case finding.StatusError:
		return 0
	case finding.StatusFail:
		return 1
	case finding.StatusReview:
		return 2
	case finding.StatusMuted:
		return 3
	case finding.StatusPass:
		return 4
	}
	return 5
}

// Statuses are the result statuses in display order.
func Statuses() []finding.Status {
	return []finding.Status{finding.StatusError, finding.StatusFail, finding.StatusReview, finding.StatusMuted, finding.StatusPass}
}

// Sorted returns the results ordered for reading: most urgent status first,
// then account, region and name. The report itself is not modified.
func Sorted(results []finding.Result) []*finding.Result {
	out := make([]*finding.Result, len(results))
	for i := range results {
		out[i] = &results[i]
	}
	slices.SortStableFunc(out, func(a, b *finding.Result) int {
		if d := StatusOrder(a.Status) - StatusOrder(b.Status); d != 0 {
			return d
		}
		if c := strings.Compare(a.AccountID, b.AccountID); c != 0 {
			return c
		}
		if c := strings.Compare(a.Region, b.Region); c != 0 {
			return c
		}
		return strings.Compare(a.Resource.Name, b.Resource.Name)
	})
	return out
}

// Timestamp formats t the way AWS and most SIEMs expect: UTC, millisecond
// precision, "Z" suffix.
func Timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// Field is one labelled piece of evidence.
type Field struct {
	Name  string
	Value string
	// Prose is true for free text (notes), false for AWS identifiers.
	Prose bool
}

// Evidence lists a result's non-empty evidence fields and tags in a fixed,
// readable order, for the formats that show evidence to people.
func Evidence(res *finding.Result) []Field {
	e := res.Evidence
	var out []Field
	add := func(k, v string) {
		if v != "" {
			out = append(out, Field{Name: k, Value: v})
		}
	}
	add("DirectInternetAccess", e.DirectInternetAccess)
	add("Notebook status", e.NotebookStatus)
	add("Root access", e.RootAccess)
	add("Subnet", e.SubnetID)
	add("VPC", e.VPCID)
	add("Security groups", strings.Join(e.SecurityGroupIDs, ", "))
	add("Network interface", e.NetworkInterfaceID)
	add("Public IP", e.PublicIP)
	if e.MapPublicIPOnLaunch != nil {
		add("MapPublicIpOnLaunch", strconv.FormatBool(*e.MapPublicIPOnLaunch))
	}
	if e.RouteTableID != "" {
		rt := e.RouteTableID
		if e.RouteTableSource != "" {
			rt += " (" + e.RouteTableSource + ")"
		}
		add("Route table", rt)
	}
	add("Network ACL", e.NetworkACLID)
	add("Public routes", strings.Join(e.Routes, "; "))
	add("Deciding route", e.DecidingRoute)
	add("Deciding rule", e.DecidingRule)
	if len(e.Notes) > 0 {
		out = append(out, Field{Name: "Notes", Value: strings.Join(e.Notes, "; "), Prose: true})
	}
	if len(res.Resource.Tags) > 0 {
		var tags []string
		for _, k := range slices.Sorted(maps.Keys(res.Resource.Tags)) {
			tags = append(tags, k+"="+res.Resource.Tags[k])
		}
		add("Tags", strings.Join(tags, ", "))
	}
	return out
}

// Message is a result in one line for annotations: where it is declared
// (the IaC address, else the resource as DisplayName names it), its
// status, why it is muted, and the message of every check that decides it.
func Message(res *finding.Result) string {
	where := res.Resource.Address
	if where == "" {
		where = DisplayName(res)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", where, res.Status)
	if res.Mute != nil {
		fmt.Fprintf(&b, " (muted: %s)", res.Mute.Reason)
	}
	for _, c := range res.Checks {
		if c.Status != finding.StatusNotApplicable && !c.Informational {
			fmt.Fprintf(&b, ". %s: %s", c.ID, c.Message)
		}
	}
	return b.String()
}

// ErrorText is a failed read or parse in one line, prefixed with the
// account, region and operation it concerns.
func ErrorText(e finding.Error) string {
	parts := []string{}
	for _, p := range []string{e.AccountID, e.Region, e.Operation} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return e.Message
	}
	return strings.Join(parts, " ") + ": " + e.Message
}

// ErrorLocation reads the source location of an IaC error, whose Resource
// is "file:line" or "file".
func ErrorLocation(e finding.Error) (string, int, bool) {
	s := e.Resource
	if e.Operation != "iac" || s == "" {
		return "", 0, false
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		if line, err := strconv.Atoi(s[i+1:]); err == nil && line > 0 {
			return s[:i], line, true
		}
	}
	return s, 0, true
}

// SourceFingerprint identifies a result across runs for deduplication: the
// control, where it is declared and what it is, not its line.
func SourceFingerprint(res *finding.Result) string {
	h := sha256.Sum256([]byte(strings.Join([]string{res.ControlID, res.Resource.File, res.Resource.Address, res.Resource.ARN, res.Resource.Name}, "\x00")))
	return hex.EncodeToString(h[:16])
}
