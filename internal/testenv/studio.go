package testenv

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sagemaker"
	smtypes "github.com/aws/aws-sdk-go-v2/service/sagemaker/types"
)

// Domain describes a SageMaker Studio domain to create in moto. Empty
// fields take the API's defaults (AppNetworkAccessType PublicInternetOnly).
type Domain struct {
	Name                 string
	AppNetworkAccessType string // "PublicInternetOnly" or "VpcOnly"
	VPCID                string
	SubnetIDs            []string
	// UserSecurityGroupIDs are DefaultUserSettings.SecurityGroups.
	UserSecurityGroupIDs []string
	// SpaceSecurityGroupIDs are DefaultSpaceSettings.SecurityGroups.
	SpaceSecurityGroupIDs []string
	Tags                  map[string]string
}

// CreateDomain creates a Studio domain and returns its ID. moto 5.2 puts
// it InService at once and names it d-<name>. A domain is always given at
// least one tag: moto's ListTags fails on a domain created without tags
// (it pages over None).
func CreateDomain(ctx context.Context, sm *sagemaker.Client, d Domain) (string, error) {
	in := &sagemaker.CreateDomainInput{
		DomainName:           aws.String(d.Name),
		AuthMode:             smtypes.AuthModeIam,
		AppNetworkAccessType: smtypes.AppNetworkAccessType(d.AppNetworkAccessType),
		SubnetIds:            d.SubnetIDs,
		DefaultUserSettings: &smtypes.UserSettings{
			ExecutionRole:  aws.String("arn:aws:iam::" + AccountID + ":role/sagefence-test-studio"),
			SecurityGroups: d.UserSecurityGroupIDs,
		},
	}
	if d.VPCID != "" {
		in.VpcId = aws.String(d.VPCID)
	}
	if len(d.SpaceSecurityGroupIDs) > 0 {
		in.DefaultSpaceSettings = &smtypes.DefaultSpaceSettings{SecurityGroups: d.SpaceSecurityGroupIDs}
	}
	tags := d.Tags
	if len(tags) == 0 {
		tags = map[string]string{"sagefence-test": "studio"}
	}
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		in.Tags = append(in.Tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if _, err := sm.CreateDomain(ctx, in); err != nil {
		return "", fmt.Errorf("create domain %s: %w", d.Name, err)
	}
	return "d-" + d.Name, nil
}

// StudioProfile is a user profile the StudioLedger answers for.
type StudioProfile struct {
	Name             string
	SecurityGroupIDs []string
}

// StudioSpace is a space the StudioLedger answers for.
type StudioSpace struct {
	Name, Owner, SharingType string
}

// StudioApp is an app the StudioLedger answers for.
type StudioApp struct {
	UserProfile, Space, Type, Name, Status string
}

// StudioLedger holds the Studio objects moto 5.2 does not emulate: user
// profiles, spaces and apps (moto/sagemaker implements CreateDomain,
// DescribeDomain, ListDomains and DeleteDomain only). MotoStudioAnswers
// answers the reads of them from it. Safe for concurrent use.
type StudioLedger struct {
	mu       sync.Mutex
	profiles map[string][]StudioProfile
	spaces   map[string][]StudioSpace
	apps     map[string][]StudioApp
}

// NewStudioLedger returns an empty ledger.
func NewStudioLedger() *StudioLedger {
	return &StudioLedger{profiles: map[string][]StudioProfile{}, spaces: map[string][]StudioSpace{}, apps: map[string][]StudioApp{}}
}

// AddProfile records a user profile of domainID.
func (l *StudioLedger) AddProfile(domainID string, p StudioProfile) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.profiles[domainID] = append(l.profiles[domainID], p)
}

// AddSpace records a space of domainID.
func (l *StudioLedger) AddSpace(domainID string, s StudioSpace) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.spaces[domainID] = append(l.spaces[domainID], s)
}

// AddApp records an app of domainID.
func (l *StudioLedger) AddApp(domainID string, a StudioApp) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.apps[domainID] = append(l.apps[domainID], a)
}

// Reset forgets everything (moto's own reset does not reach the ledger).
func (l *StudioLedger) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.profiles)
	clear(l.spaces)
	clear(l.apps)
}

// MotoStudioAnswers returns proxy rules that answer, from l, the Studio
// reads moto 5.2 lacks: ListUserProfiles, DescribeUserProfile, ListSpaces
// and ListApps, each filtered by its DomainIdEquals (or DomainId), in one
// page. Add fault rules before these, as for MotoTransitGatewayFixes.
func MotoStudioAnswers(l *StudioLedger) []Rule {
	return []Rule{
		{Op: "sagemaker:ListUserProfiles", Fault: Fault{Answer: l.listUserProfiles}},
		{Op: "sagemaker:DescribeUserProfile", Fault: Fault{Answer: l.describeUserProfile}},
		{Op: "sagemaker:ListSpaces", Fault: Fault{Answer: l.listSpaces}},
		{Op: "sagemaker:ListApps", Fault: Fault{Answer: l.listApps}},
	}
}

func answerJSON(v any) (int, []byte) {
	b, err := json.Marshal(v)
	if err != nil {
		return http.StatusInternalServerError, nil
	}
	return http.StatusOK, b
}

func (l *StudioLedger) listUserProfiles(c Call) (int, []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	domain := c.Params["DomainIdEquals"]
	items := []map[string]string{}
	for id, ps := range l.profiles {
		if domain != "" && id != domain {
			continue
		}
		for _, p := range ps {
			items = append(items, map[string]string{"DomainId": id, "UserProfileName": p.Name, "Status": "InService"})
		}
	}
	slices.SortFunc(items, func(a, b map[string]string) int { return strings.Compare(a["UserProfileName"], b["UserProfileName"]) })
	return answerJSON(map[string]any{"UserProfiles": items})
}

func (l *StudioLedger) describeUserProfile(c Call) (int, []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	domain, name := c.Params["DomainId"], c.Params["UserProfileName"]
	for _, p := range l.profiles[domain] {
		if p.Name != name {
			continue
		}
		out := map[string]any{
			"DomainId": domain, "UserProfileName": name, "Status": "InService",
			"UserProfileArn": fmt.Sprintf("arn:aws:sagemaker:%s:%s:user-profile/%s/%s", cmp.Or(c.Region, Region), AccountID, domain, name),
		}
		if len(p.SecurityGroupIDs) > 0 {
			out["UserSettings"] = map[string]any{"SecurityGroups": p.SecurityGroupIDs}
		}
		return answerJSON(out)
	}
	b, _ := json.Marshal(map[string]string{"__type": "ResourceNotFound", "message": "User profile " + name + " does not exist in domain " + domain})
	return http.StatusBadRequest, b
}

func (l *StudioLedger) listSpaces(c Call) (int, []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	domain := c.Params["DomainIdEquals"]
	items := []map[string]any{}
	for id, ss := range l.spaces {
		if domain != "" && id != domain {
			continue
		}
		for _, s := range ss {
			item := map[string]any{"DomainId": id, "SpaceName": s.Name, "Status": "InService"}
			if s.SharingType != "" {
				item["SpaceSharingSettingsSummary"] = map[string]string{"SharingType": s.SharingType}
			}
			if s.Owner != "" {
				item["OwnershipSettingsSummary"] = map[string]string{"OwnerUserProfileName": s.Owner}
			}
			items = append(items, item)
		}
	}
	return answerJSON(map[string]any{"Spaces": items})
}

func (l *StudioLedger) listApps(c Call) (int, []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	domain := c.Params["DomainIdEquals"]
	items := []map[string]string{}
	for id, as := range l.apps {
		if domain != "" && id != domain {
			continue
		}
		for _, a := range as {
			item := map[string]string{"DomainId": id, "AppType": a.Type, "AppName": a.Name, "Status": a.Status}
			if a.UserProfile != "" {
				item["UserProfileName"] = a.UserProfile
			}
			if a.Space != "" {
				item["SpaceName"] = a.Space
			}
			items = append(items, item)
		}
	}
	return answerJSON(map[string]any{"Apps": items})
}
