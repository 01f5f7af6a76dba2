package testenv

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Transit gateways shared across accounts, in moto. In AWS a network
// account shares its transit gateway through RAM and a spoke account
// attaches its VPC to it: the attachment has one ID, both accounts see it
// (the owner with the VPC's account as resource owner, the spoke with the
// network account as transit gateway owner), and the spoke's route table
// can send traffic to the gateway. moto 5.2.1 keeps each account's EC2
// state apart and cannot model that:
//
//   - CreateTransitGatewayVpcAttachment in the spoke's account fails: the
//     gateway does not exist there (InvalidTransitGatewayID.NotFound);
//   - CreateRoute to the gateway in the spoke's account succeeds but keeps
//     no target: moto looks the gateway up in the caller's account, finds
//     nothing and stores a route with no target at all.
//
// CrossAccountTransit emulates exactly that and nothing else. The
// attachment is made in moto by the gateway's owner (moto does not check
// that the VPC or the subnets exist in its account), so its association
// and the owner's routes to it are moto's own objects and answers. The
// proxy rules then fix the answers where the accounts differ:
//
//   - the owner's DescribeTransitGatewayAttachments and
//     DescribeTransitGatewayVpcAttachments name the VPC's account as
//     resourceOwnerId / vpcOwnerId of a shared attachment (moto names the
//     owner, which created it);
//   - the VPC account's answers to the same two calls gain the attachment,
//     as the owner's moto holds it (ID, gateway, association, subnets), with
//     the owner as transitGatewayOwnerId, where the request's filters
//     select it;
//   - the VPC account's DescribeRouteTables gives a route recorded by
//     AddRoute, which moto keeps without a target, its transitGatewayId.
//
// The proxy also attributes every call to an account (Observe): each
// AssumeRole answer that passes through it maps the session's access key
// to the role's account; any other key is moto's default account,
// AccountID.
type CrossAccountTransit struct {
	ledger *TransitGatewayLedger

	mu          sync.Mutex
	keys        map[string]string // access key ID -> account
	attachments map[string]SharedVPCAttachment
	routes      map[crossRouteKey]string // a VPC route -> transit gateway ID
	calls       []AccountCall
}

// SharedVPCAttachment is a VPC's attachment to a transit gateway of
// another account.
type SharedVPCAttachment struct {
	AttachmentID     string
	TransitGatewayID string
	// OwnerID owns the transit gateway; VPCOwnerID the VPC.
	OwnerID    string
	VPCID      string
	VPCOwnerID string
	SubnetIDs  []string
	// DefaultRouteTableID is the table moto associated the attachment
	// with when it was made (the ledger's association wins), and
	// CreationTime moto's creation time, as moto writes it.
	DefaultRouteTableID string
	CreationTime        string
}

type crossRouteKey struct{ account, routeTable, destination string }

// AccountCall is one request the proxy received, with the account whose
// credentials signed it.
type AccountCall struct {
	Account string
	// Op is "service:Operation".
	Op     string
	Params map[string]string
}

// NewCrossAccountTransit returns an emulation whose rewrites of
// DescribeTransitGatewayAttachments also apply l's association fix (one
// rule decides a call, and the emulation's shadows
// MotoTransitGatewayFixes' on that action).
func NewCrossAccountTransit(l *TransitGatewayLedger) *CrossAccountTransit {
	return &CrossAccountTransit{
		ledger: l, keys: map[string]string{}, attachments: map[string]SharedVPCAttachment{},
		routes: map[crossRouteKey]string{},
	}
}

// AttachVPC attaches vpcID, a VPC of account vpcOwnerID, through subnetIDs
// (of that VPC) to tgwID, a transit gateway of account ownerID, through
// owner, a client of the owner account, and records the attachment as
// shared. Associate it and route to it with owner, as for any attachment.
func (x *CrossAccountTransit) AttachVPC(ctx context.Context, owner *ec2.Client, ownerID, tgwID, vpcOwnerID, vpcID string, subnetIDs ...string) (string, error) {
	id, err := CreateTransitGatewayVPCAttachment(ctx, owner, tgwID, vpcID, subnetIDs...)
	if err != nil {
		return "", err
	}
	a, err := tgwAttachment(ctx, owner, id)
	if err != nil {
		return "", err
	}
	s := SharedVPCAttachment{
		AttachmentID: id, TransitGatewayID: tgwID, OwnerID: ownerID, VPCID: vpcID, VPCOwnerID: vpcOwnerID,
		SubnetIDs: slices.Clone(subnetIDs),
	}
	if a.Association != nil {
		s.DefaultRouteTableID = aws.ToString(a.Association.TransitGatewayRouteTableId)
	}
	if a.CreationTime != nil {
		s.CreationTime = a.CreationTime.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.attachments[id] = s
	return id, nil
}

// AddRoute adds a route for dest to rtbID, a route table of account
// (through c, a client of that account), towards tgwID, another account's
// transit gateway. moto takes the route and drops its target; the
// emulation reports the target to account.
func (x *CrossAccountTransit) AddRoute(ctx context.Context, c *ec2.Client, account, rtbID, dest, tgwID string) error {
	if !strings.HasPrefix(tgwID, "tgw-") {
		return fmt.Errorf("cross-account route %s in %s: %s is not a transit gateway", dest, rtbID, tgwID)
	}
	if err := AddRoute(ctx, c, rtbID, dest, tgwID); err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.routes[crossRouteKey{account, rtbID, dest}] = tgwID
	return nil
}

// Observe is a rule that records every call with its account and never
// fires. Add it to the proxy before any other rule: the first rule that
// fires for a call hides the call from the rules after it.
func (x *CrossAccountTransit) Observe() Rule {
	return Rule{Op: "*", When: func(c Call) bool {
		account := x.Account(c)
		x.mu.Lock()
		defer x.mu.Unlock()
		x.calls = append(x.calls, AccountCall{Account: account, Op: c.Op(), Params: maps.Clone(c.Params)})
		return false
	}}
}

// Rules are the emulation's rules: add them after any fault and before
// MotoTransitGatewayFixes.
func (x *CrossAccountTransit) Rules() []Rule {
	return []Rule{
		{Op: "sts:AssumeRole", Fault: Fault{RewriteResponse: x.learnKey}},
		{Op: "ec2:DescribeTransitGatewayAttachments", Fault: Fault{RewriteResponse: func(c Call, status int, body []byte) []byte {
			return x.fixAttachments(c, status, x.ledger.fixAttachmentAssociations(c, status, body), false)
		}}},
		{Op: "ec2:DescribeTransitGatewayVpcAttachments", Fault: Fault{RewriteResponse: func(c Call, status int, body []byte) []byte {
			return x.fixAttachments(c, status, body, true)
		}}},
		{Op: "ec2:DescribeRouteTables", Fault: Fault{RewriteResponse: x.fixRouteTables}},
	}
}

var accessKeyScope = regexp.MustCompile(`Credential=([^/,\s]+)/`)

// Account is the account whose credentials signed c.
func (x *CrossAccountTransit) Account(c Call) string {
	m := accessKeyScope.FindStringSubmatch(c.Header.Get("Authorization"))
	if m == nil {
		return AccountID
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if a, ok := x.keys[m[1]]; ok {
		return a
	}
	return AccountID
}

// learnKey maps the access key of an AssumeRole answer to the role's
// account; the answer is passed on as is.
func (x *CrossAccountTransit) learnKey(c Call, status int, body []byte) []byte {
	root, err := parseXMLSpans(body)
	if status != 200 || err != nil {
		return body
	}
	key := root.child("AssumeRoleResult").child("Credentials").childText("AccessKeyId")
	account := roleAccount(c.Params["RoleArn"])
	if key != "" && account != "" {
		x.mu.Lock()
		x.keys[key] = account
		x.mu.Unlock()
	}
	return body
}

// roleAccount is the account of a role ARN (arn:aws:iam::ACCOUNT:role/...).
func roleAccount(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[4]
}

// Calls counts the requests op ("service:Operation", "service:*" or "*")
// signed by account ("" for any) for which when (if set) holds.
func (x *CrossAccountTransit) Calls(account, op string, when func(AccountCall) bool) int {
	r := Rule{Op: op}
	x.mu.Lock()
	defer x.mu.Unlock()
	n := 0
	for _, c := range x.calls {
		svc, name, _ := strings.Cut(c.Op, ":")
		if (account == "" || c.Account == account) && r.matches(Call{Service: svc, Operation: name}) && (when == nil || when(c)) {
			n++
		}
	}
	return n
}

// Counts returns account's requests per operation.
func (x *CrossAccountTransit) Counts(account string) map[string]int {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := map[string]int{}
	for _, c := range x.calls {
		if c.Account == account {
			out[c.Op]++
		}
	}
	return out
}

// ResetCounts forgets the calls recorded so far (not the access keys).
func (x *CrossAccountTransit) ResetCounts() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.calls = nil
}

// HasFilter reports whether the query-protocol parameters filter on name
// with value among the filter's values.
func HasFilter(params map[string]string, name, value string) bool {
	for _, f := range queryFilters(params) {
		if f.name == name && slices.Contains(f.values, value) {
			return true
		}
	}
	return false
}

type queryFilter struct {
	name   string
	values []string
}

// queryFilters reads Filter.N.Name and Filter.N.Value.M.
func queryFilters(params map[string]string) []queryFilter {
	var out []queryFilter
	for n := 1; ; n++ {
		prefix := fmt.Sprintf("Filter.%d.", n)
		name, ok := params[prefix+"Name"]
		if !ok {
			return out
		}
		f := queryFilter{name: name}
		for m := 1; ; m++ {
			v, ok := params[fmt.Sprintf("%sValue.%d", prefix, m)]
			if !ok {
				break
			}
			f.values = append(f.values, v)
		}
		out = append(out, f)
	}
}

// listParam reads a query-protocol list (Name.1, Name.2, ...).
func listParam(params map[string]string, name string) []string {
	var out []string
	for n := 1; ; n++ {
		v, ok := params[fmt.Sprintf("%s.%d", name, n)]
		if !ok {
			return out
		}
		out = append(out, v)
	}
}

// selects reports whether a request's attachment IDs and filters select
// a. A filter the emulation does not know selects nothing, so that the
// emulation never adds what a real answer would leave out.
func (a SharedVPCAttachment) selects(params map[string]string, vpcCall bool) bool {
	if ids := listParam(params, "TransitGatewayAttachmentIds"); len(ids) > 0 && !slices.Contains(ids, a.AttachmentID) {
		return false
	}
	for _, f := range queryFilters(params) {
		var v string
		switch f.name {
		case "transit-gateway-attachment-id":
			v = a.AttachmentID
		case "transit-gateway-id":
			v = a.TransitGatewayID
		case "state":
			v = "available"
		case "vpc-id":
			if !vpcCall {
				return false
			}
			v = a.VPCID
		case "resource-id":
			if vpcCall {
				return false
			}
			v = a.VPCID
		case "resource-type":
			if vpcCall {
				return false
			}
			v = "vpc"
		case "resource-owner-id":
			if vpcCall {
				return false
			}
			v = a.VPCOwnerID
		case "transit-gateway-owner-id":
			if vpcCall {
				return false
			}
			v = a.OwnerID
		default:
			return false
		}
		if !slices.Contains(f.values, v) {
			return false
		}
	}
	return true
}

// fixAttachments fixes an attachments answer (of
// DescribeTransitGatewayVpcAttachments when vpcCall): the VPC's account
// as the owner of a shared attachment's VPC, and, in that account's
// answers, the shared attachments the request selects.
func (x *CrossAccountTransit) fixAttachments(c Call, status int, body []byte, vpcCall bool) []byte {
	root, err := parseXMLSpans(body)
	if status != 200 || err != nil {
		return body
	}
	listName, ownerField := "transitGatewayAttachments", "resourceOwnerId"
	if vpcCall {
		listName, ownerField = "transitGatewayVpcAttachments", "vpcOwnerId"
	}
	list := root.child(listName)
	if list == nil {
		return body
	}
	account := x.Account(c)
	x.mu.Lock()
	shared := maps.Clone(x.attachments)
	x.mu.Unlock()

	var edits []xmlEdit
	present := map[string]bool{}
	for _, item := range list.children("item") {
		id := item.childText("transitGatewayAttachmentId")
		present[id] = true
		s, ok := shared[id]
		if !ok {
			continue
		}
		if owner := item.child(ownerField); owner != nil && owner.text != s.VPCOwnerID {
			edits = append(edits, xmlEdit{owner.start, owner.end, xmlElement(ownerField, s.VPCOwnerID)})
		}
	}
	var add strings.Builder
	if _, later := c.Params["NextToken"]; !later {
		ids := slices.Sorted(maps.Keys(shared))
		for _, id := range ids {
			s := shared[id]
			if s.VPCOwnerID != account || present[id] || !s.selects(c.Params, vpcCall) {
				continue
			}
			if vpcCall {
				add.WriteString(s.vpcAttachmentXML())
			} else {
				table, ok := x.ledger.Association(id)
				if !ok {
					table = s.DefaultRouteTableID
				}
				add.WriteString(s.attachmentXML(table))
			}
		}
	}
	if add.Len() > 0 {
		edits = append(edits, appendToList(body, list, add.String()))
	}
	return applyEdits(body, edits)
}

// appendToList is the edit that appends items to list, an element
// written <name>...</name> or <name/>.
func appendToList(body []byte, list *xmlElem, items string) xmlEdit {
	span := string(body[list.start:list.end])
	if strings.HasSuffix(span, "/>") {
		return xmlEdit{list.start, list.end, "<" + list.name + ">" + items + "</" + list.name + ">"}
	}
	at := list.end - len("</"+list.name+">")
	return xmlEdit{at, at, items}
}

// attachmentXML is a as DescribeTransitGatewayAttachments reports it to
// the VPC's account, associated with table.
func (a SharedVPCAttachment) attachmentXML(table string) string {
	var b strings.Builder
	b.WriteString("<item>")
	b.WriteString(xmlElement("transitGatewayAttachmentId", a.AttachmentID))
	b.WriteString(xmlElement("transitGatewayId", a.TransitGatewayID))
	b.WriteString(xmlElement("transitGatewayOwnerId", a.OwnerID))
	b.WriteString(xmlElement("resourceOwnerId", a.VPCOwnerID))
	b.WriteString(xmlElement("resourceType", "vpc"))
	b.WriteString(xmlElement("resourceId", a.VPCID))
	b.WriteString(xmlElement("state", "available"))
	if table != "" {
		b.WriteString("<association>" + xmlElement("transitGatewayRouteTableId", table) + xmlElement("state", "associated") + "</association>")
	}
	if a.CreationTime != "" {
		b.WriteString(xmlElement("creationTime", a.CreationTime))
	}
	b.WriteString("</item>")
	return b.String()
}

// vpcAttachmentXML is a as DescribeTransitGatewayVpcAttachments reports
// it to the VPC's account.
func (a SharedVPCAttachment) vpcAttachmentXML() string {
	var b strings.Builder
	b.WriteString("<item>")
	b.WriteString(xmlElement("transitGatewayAttachmentId", a.AttachmentID))
	b.WriteString(xmlElement("transitGatewayId", a.TransitGatewayID))
	b.WriteString(xmlElement("vpcId", a.VPCID))
	b.WriteString(xmlElement("vpcOwnerId", a.VPCOwnerID))
	b.WriteString(xmlElement("state", "available"))
	b.WriteString("<subnetIds>")
	for _, s := range a.SubnetIDs {
		b.WriteString(xmlElement("item", s))
	}
	b.WriteString("</subnetIds>")
	if a.CreationTime != "" {
		b.WriteString(xmlElement("creationTime", a.CreationTime))
	}
	b.WriteString("</item>")
	return b.String()
}

// routeTargets are the route fields that name a target.
var routeTargets = []string{
	"gatewayId", "natGatewayId", "transitGatewayId", "instanceId", "networkInterfaceId",
	"vpcPeeringConnectionId", "egressOnlyInternetGatewayId", "localGatewayId", "carrierGatewayId",
	"coreNetworkArn", "odbNetworkArn",
}

// fixRouteTables gives the caller's routes recorded by AddRoute, which
// moto answers without a target, their transit gateway.
func (x *CrossAccountTransit) fixRouteTables(c Call, status int, body []byte) []byte {
	root, err := parseXMLSpans(body)
	if status != 200 || err != nil {
		return body
	}
	account := x.Account(c)
	x.mu.Lock()
	routes := maps.Clone(x.routes)
	x.mu.Unlock()
	var edits []xmlEdit
	for _, table := range root.child("routeTableSet").children("item") {
		id := table.childText("routeTableId")
		for _, r := range table.child("routeSet").children("item") {
			var dest *xmlElem
			for _, name := range []string{"destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"} {
				if d := r.child(name); d != nil {
					dest = d
					break
				}
			}
			if dest == nil {
				continue
			}
			tgw, ok := routes[crossRouteKey{account, id, dest.text}]
			if !ok || slices.ContainsFunc(routeTargets, func(n string) bool { return r.child(n) != nil }) {
				continue
			}
			edits = append(edits, xmlEdit{dest.end, dest.end, xmlElement("transitGatewayId", tgw)})
		}
	}
	return applyEdits(body, edits)
}
