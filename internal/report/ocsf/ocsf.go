// Package ocsf writes a report as OCSF 1.5 Compliance Findings (class_uid
// 2003), one JSON array with one finding per notebook, for security data
// lakes and SIEMs (Amazon Security Lake, Splunk, ...). The finding UID is
// the same deterministic ID the ASFF writer uses, so a re-run updates
// rather than duplicates.
package ocsf

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/reportfmt"
)

// Version is the OCSF schema version the output conforms to.
const Version = "1.5.0"

// OCSF enumerations used here.
const (
	ClassUID          = 2003
	CategoryUID       = 2
	ActivityCreate    = 1
	TypeUIDCreate     = ClassUID*100 + ActivityCreate
	StatusIDNew       = 1
	StatusIDSuppress  = 3
	ComplianceUnknown = 0
	CompliancePass    = 1
	ComplianceWarning = 2
	ComplianceFail    = 3
	AccountTypeAWS    = 10
)

// Finding is one OCSF Compliance Finding.
type Finding struct {
	ActivityID   int          `json:"activity_id"`
	ActivityName string       `json:"activity_name"`
	CategoryUID  int          `json:"category_uid"`
	CategoryName string       `json:"category_name"`
	ClassUID     int          `json:"class_uid"`
	ClassName    string       `json:"class_name"`
	TypeUID      int          `json:"type_uid"`
	TypeName     string       `json:"type_name"`
	Time         int64        `json:"time"`
	StartTime    int64        `json:"start_time,omitempty"`
	EndTime      int64        `json:"end_time,omitempty"`
	SeverityID   int          `json:"severity_id"`
	Severity     string       `json:"severity"`
	StatusID     int          `json:"status_id"`
	Status       string       `json:"status"`
	StatusCode   string       `json:"status_code"`
	StatusDetail string       `json:"status_detail,omitempty"`
	Message      string       `json:"message"`
	Metadata     Metadata     `json:"metadata"`
	FindingInfo  FindingInfo  `json:"finding_info"`
	Compliance   Compliance   `json:"compliance"`
	Cloud        Cloud        `json:"cloud"`
	Resources    []Resource   `json:"resources"`
	Remediation  *Remediation `json:"remediation,omitempty"`
	Comment      string       `json:"comment,omitempty"`
	Unmapped     *Unmapped    `json:"unmapped,omitempty"`
}

// Metadata describes the producer.
type Metadata struct {
	Version   string   `json:"version"`
	Product   Product  `json:"product"`
	Profiles  []string `json:"profiles"`
	EventCode string   `json:"event_code"`
	UID       string   `json:"uid"`
}

// Product is the producing tool.
type Product struct {
	Name       string `json:"name"`
	VendorName string `json:"vendor_name"`
	Version    string `json:"version"`
	UID        string `json:"uid"`
}

// FindingInfo identifies the finding.
type FindingInfo struct {
	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Desc          string   `json:"desc"`
	Types         []string `json:"types"`
	CreatedTime   int64    `json:"created_time"`
	ModifiedTime  int64    `json:"modified_time"`
	FirstSeenTime int64    `json:"first_seen_time"`
	LastSeenTime  int64    `json:"last_seen_time"`
}

// Compliance is the control, its standards and its outcome.
type Compliance struct {
	Control      string   `json:"control"`
	Desc         string   `json:"desc,omitempty"`
	Standards    []string `json:"standards"`
	Requirements []string `json:"requirements,omitempty"`
	Status       string   `json:"status"`
	StatusID     int      `json:"status_id"`
	StatusCode   string   `json:"status_code"`
	StatusDetail string   `json:"status_detail,omitempty"`
	Checks       []Check  `json:"checks,omitempty"`
}

// Check is one sub-check of the control.
type Check struct {
	UID        string `json:"uid"`
	Name       string `json:"name"`
	Desc       string `json:"desc"`
	Severity   string `json:"severity,omitempty"`
	SeverityID int    `json:"severity_id,omitempty"`
	Status     string `json:"status"`
	StatusID   int    `json:"status_id"`
}

// Cloud is where the resource lives.
type Cloud struct {
	Provider string  `json:"provider"`
	Region   string  `json:"region"`
	Account  Account `json:"account"`
}

// Account is an AWS account.
type Account struct {
	UID    string `json:"uid"`
	Type   string `json:"type"`
	TypeID int    `json:"type_id"`
}

// Resource is the evaluated notebook.
type Resource struct {
	UID            string         `json:"uid"`
	Name           string         `json:"name"`
	Type           string         `json:"type"`
	Region         string         `json:"region"`
	CloudPartition string         `json:"cloud_partition"`
	Tags           []KeyValue     `json:"tags,omitempty"`
	Data           ResourceData   `json:"data"`
	Group          *ResourceGroup `json:"group,omitempty"`
}

// ResourceGroup is the VPC a notebook sits in.
type ResourceGroup struct {
	Name string `json:"name"`
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// KeyValue is an OCSF key_value_object.
type KeyValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ResourceData carries the evidence the verdict was decided on.
type ResourceData struct {
	InternetPath string           `json:"internet_path"`
	Evidence     finding.Evidence `json:"evidence"`
}

// Remediation is how to fix the finding.
type Remediation struct {
	Desc       string   `json:"desc"`
	References []string `json:"references,omitempty"`
}

// Unmapped holds sagefence fields OCSF has no attribute for.
type Unmapped struct {
	Profile       string              `json:"profile"`
	Reproduce     []string            `json:"reproduce,omitempty"`
	UnmutedStatus string              `json:"unmuted_status,omitempty"`
	Mute          *finding.Mute       `json:"mute,omitempty"`
	Compliance    map[string][]string `json:"compliance,omitempty"`
}

// Findings converts a report to OCSF Compliance Findings, in report order.
func Findings(r *finding.Report) []Finding {
	started := r.StartedAt.UnixMilli()
	finished := r.FinishedAt.UnixMilli()
	out := make([]Finding, 0, len(r.Results))
	for i := range r.Results {
		res := &r.Results[i]
		reproduce := res.Reproduce.Strings()
		uid := reportfmt.FindingID(res)
		status := res.Status
		if status == finding.StatusMuted && res.UnmutedStatus != "" {
			status = res.UnmutedStatus
		}
		f := Finding{
			ActivityID: ActivityCreate, ActivityName: "Create",
			CategoryUID: CategoryUID, CategoryName: "Findings",
			ClassUID: ClassUID, ClassName: "Compliance Finding",
			TypeUID: TypeUIDCreate, TypeName: "Compliance Finding: Create",
			Time: finished, StartTime: started, EndTime: finished,
			StatusID: StatusIDNew, Status: "New",
			StatusCode:   string(res.Status),
			StatusDetail: statusDetail(res),
			Message:      title(res),
			Metadata: Metadata{
				Version:   Version,
				Product:   Product{Name: r.Tool.Name, VendorName: r.Tool.Name, Version: r.Tool.Version, UID: r.Tool.Name},
				Profiles:  []string{"cloud"},
				EventCode: res.ControlID,
				UID:       uid,
			},
			FindingInfo: FindingInfo{
				UID: uid, Title: title(res), Desc: statusDetail(res),
				Types:       []string{"Software and Configuration Checks/AWS Security Best Practices"},
				CreatedTime: started, ModifiedTime: finished, FirstSeenTime: started, LastSeenTime: finished,
			},
			Compliance: Compliance{
				Control:      res.ControlID,
				Desc:         reportfmt.ControlTitle(res.ControlID),
				Standards:    standards(res.Compliance, r.Profile),
				Requirements: reportfmt.Requirements(res.Compliance),
				StatusCode:   string(status),
				StatusDetail: statusDetail(res),
			},
			Cloud: Cloud{Provider: "AWS", Region: res.Region, Account: Account{UID: res.AccountID, Type: "AWS Account", TypeID: AccountTypeAWS}},
			Resources: []Resource{{
				UID: reportfmt.ResourceID(res), Name: res.Resource.Name, Type: res.Resource.Type,
				Region: res.Region, CloudPartition: reportfmt.Partition(res), Tags: tags(res.Resource.Tags),
				Data: ResourceData{InternetPath: string(res.InternetPath), Evidence: res.Evidence},
			}},
			Unmapped: &Unmapped{Profile: r.Profile, Reproduce: reproduce, UnmutedStatus: string(res.UnmutedStatus), Mute: res.Mute, Compliance: res.Compliance},
		}
		f.SeverityID, f.Severity = severity(res)
		f.Compliance.StatusID, f.Compliance.Status = complianceStatus(status)
		if res.Status == finding.StatusMuted {
			f.StatusID, f.Status = StatusIDSuppress, "Suppressed"
			if res.Mute != nil {
				f.Comment = "Suppressed by " + res.Mute.Source + ": " + res.Mute.Reason
			}
		}
		if vpc := res.Evidence.VPCID; vpc != "" {
			f.Resources[0].Group = &ResourceGroup{Name: vpc, Type: "AWS::EC2::VPC", UID: vpc}
		}
		if res.Remediation != "" {
			f.Remediation = &Remediation{Desc: res.Remediation, References: reproduce}
		}
		for _, c := range res.Checks {
			oc := Check{UID: c.ID, Name: c.ID, Desc: c.Message}
			oc.StatusID, oc.Status = complianceStatus(c.Status)
			if c.Status == finding.StatusNotApplicable {
				oc.StatusID, oc.Status = 99, "Not Applicable"
			}
			if c.Severity != "" {
				oc.SeverityID, oc.Severity = severityOf(c.Severity)
			}
			if c.Informational {
				oc.Desc += " (informational in profile " + r.Profile + ")"
			}
			f.Compliance.Checks = append(f.Compliance.Checks, oc)
		}
		out = append(out, f)
	}
	return out
}

// Write writes r to w as one indented JSON array of OCSF findings.
func Write(w io.Writer, r *finding.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(Findings(r)); err != nil {
		return fmt.Errorf("ocsf: %w", err)
	}
	return nil
}

func title(res *finding.Result) string {
	name := res.Resource.Name
	switch res.Status {
	case finding.StatusPass:
		return reportfmt.Noun(res) + " " + name + " has no uncontrolled internet access"
	case finding.StatusError:
		return reportfmt.Noun(res) + " " + name + " could not be evaluated"
	case finding.StatusReview:
		return reportfmt.Noun(res) + " " + name + " needs review: internet path " + string(res.InternetPath)
	}
	return reportfmt.Noun(res) + " " + name + " is exposed to the internet (" + string(res.InternetPath) + ")"
}

func statusDetail(res *finding.Result) string {
	var parts []string
	for _, c := range res.Checks {
		if c.Status == finding.StatusFail || c.Status == finding.StatusError || c.Status == finding.StatusReview {
			parts = append(parts, c.ID+": "+c.Message)
		}
	}
	if len(parts) == 0 {
		for _, c := range res.Checks {
			parts = append(parts, c.ID+": "+c.Message)
		}
	}
	return strings.Join(parts, "; ")
}

func standards(m map[string][]string, profile string) []string {
	var out []string
	for _, k := range reportfmt.Frameworks(m) {
		out = append(out, reportfmt.StandardName(k))
	}
	if len(out) == 0 {
		// standards is required by OCSF; without a mapping the control
		// itself is the standard.
		out = []string{"sagefence " + profile + " profile"}
	}
	return slices.Compact(out)
}

func tags(m map[string]string) []KeyValue {
	var out []KeyValue
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, KeyValue{Name: k, Value: m[k]})
	}
	return out
}

func severity(res *finding.Result) (int, string) {
	if res.Status == finding.StatusPass {
		return 1, "Informational"
	}
	return severityOf(res.Severity)
}

func severityOf(s finding.Severity) (int, string) {
	switch s {
	case finding.SeverityInformational:
		return 1, "Informational"
	case finding.SeverityLow:
		return 2, "Low"
	case finding.SeverityMedium:
		return 3, "Medium"
	case finding.SeverityHigh:
		return 4, "High"
	}
	return 0, "Unknown"
}

func complianceStatus(s finding.Status) (int, string) {
	switch s {
	case finding.StatusPass:
		return CompliancePass, "Pass"
	case finding.StatusReview:
		return ComplianceWarning, "Warning"
	case finding.StatusFail:
		return ComplianceFail, "Fail"
	}
	return ComplianceUnknown, "Unknown"
}
