// Package events turns CloudTrail management events, delivered by
// EventBridge to an SQS queue, into rescans: the one list of event names
// that can change a notebook's verdict (notebook lifecycle and every
// network change that can open or close a path), the parsing of the
// EventBridge messages, a consumer that long-polls the queue and collapses
// the events of one account-region within a debounce window into one
// batch, and the EventBridge/SQS set-up (CloudFormation and Terraform)
// that sends exactly those events.
//
// Events are a fast path, not the source of truth: EventBridge delivers
// CloudTrail events on a best-effort basis and only where a trail logs
// management events, so the scheduled full scan stays what guarantees that
// every change is eventually seen.
package events

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Name is a CloudTrail event: its source ("ec2.amazonaws.com",
// "sagemaker.amazonaws.com") and name ("CreateRoute").
type Name struct {
	Source string
	Name   string
}

// CloudTrail event sources of Names.
const (
	SourceSageMaker = "sagemaker.amazonaws.com"
	SourceEC2       = "ec2.amazonaws.com"
)

// family is one kind of change and the CloudTrail events that make it.
// The list is data so that the code's mapping, the tests and both
// templates read the same names.
type family struct {
	source string
	what   string
	names  []string
}

// families is every event that can change a verdict, checked against the
// SDK's operation names (TestNamesAreSDKOperations) and against what the
// path analysis reads (TestEveryNetworkReadIsWatched). Read-only calls are
// absent: they change nothing. So are changes the analysis cannot see a
// difference in (rule descriptions, tags of network resources, VPC DNS
// attributes, security groups' own creation or deletion: a new group is
// attached to nothing and an attached one cannot be deleted).
var families = []family{
	{SourceSageMaker, "notebook lifecycle", []string{
		"CreateNotebookInstance", "DeleteNotebookInstance", "StartNotebookInstance",
		"StopNotebookInstance", "UpdateNotebookInstance",
	}},
	// A Studio domain's verdict depends on its AppNetworkAccessType,
	// subnets and default security groups (UpdateDomain changes them), on
	// its user profiles' own groups, and its spaces are part of what a
	// scan reads and a remediation stops.
	{SourceSageMaker, "Studio domains, user profiles and spaces", []string{
		"CreateDomain", "UpdateDomain", "DeleteDomain",
		"CreateUserProfile", "UpdateUserProfile", "DeleteUserProfile",
		"CreateSpace", "UpdateSpace", "DeleteSpace",
	}},
	// Exceptions match notebooks and Studio domains by tag, so a tag
	// change can mute or unmute a finding. AddTags and DeleteTags apply to
	// every SageMaker resource; Event.Relevant keeps only those naming a
	// notebook instance or a Studio domain.
	{SourceSageMaker, "notebook and Studio domain tags (exceptions match on them)", []string{
		"AddTags", "DeleteTags",
	}},
	{SourceEC2, "routes and route tables", []string{
		"CreateRoute", "ReplaceRoute", "DeleteRoute",
		"CreateRouteTable", "DeleteRouteTable",
		"AssociateRouteTable", "DisassociateRouteTable", "ReplaceRouteTableAssociation",
		// Propagated routes to a virtual private gateway can win the longest
		// prefix over a NAT or internet gateway route.
		"EnableVgwRoutePropagation", "DisableVgwRoutePropagation",
	}},
	{SourceEC2, "gateways", []string{
		"CreateNatGateway", "DeleteNatGateway",
		"CreateInternetGateway", "DeleteInternetGateway", "AttachInternetGateway", "DetachInternetGateway",
		"CreateEgressOnlyInternetGateway", "DeleteEgressOnlyInternetGateway",
		// A detached virtual private gateway turns its routes into blackholes.
		"AttachVpnGateway", "DetachVpnGateway",
	}},
	{SourceEC2, "security group rules", []string{
		"AuthorizeSecurityGroupEgress", "AuthorizeSecurityGroupIngress",
		"RevokeSecurityGroupEgress", "RevokeSecurityGroupIngress",
		"ModifySecurityGroupRules",
	}},
	{SourceEC2, "the notebook's network interface", []string{
		"ModifyNetworkInterfaceAttribute", // its security groups
		"AssignIpv6Addresses", "UnassignIpv6Addresses",
		"AssociateAddress", "DisassociateAddress", // a public (Elastic) IP on it
	}},
	{SourceEC2, "network ACLs", []string{
		"CreateNetworkAcl", "DeleteNetworkAcl",
		"CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry",
		"ReplaceNetworkAclAssociation",
	}},
	{SourceEC2, "subnets", []string{
		"CreateSubnet", "DeleteSubnet", "ModifySubnetAttribute",
		"AssociateSubnetCidrBlock", "DisassociateSubnetCidrBlock",
	}},
	{SourceEC2, "VPC endpoints (gateway endpoints add routes)", []string{
		"CreateVpcEndpoint", "ModifyVpcEndpoint", "DeleteVpcEndpoints",
	}},
	{SourceEC2, "VPC peering", []string{
		"AcceptVpcPeeringConnection", "DeleteVpcPeeringConnection",
	}},
	{SourceEC2, "transit gateways", []string{
		"CreateTransitGatewayRoute", "DeleteTransitGatewayRoute", "ReplaceTransitGatewayRoute",
		"AssociateTransitGatewayRouteTable", "DisassociateTransitGatewayRouteTable",
		"EnableTransitGatewayRouteTablePropagation", "DisableTransitGatewayRouteTablePropagation",
		"CreateTransitGatewayVpcAttachment", "DeleteTransitGatewayVpcAttachment",
		"AcceptTransitGatewayVpcAttachment",
		"ModifyTransitGatewayVpcAttachment", // its subnets decide the zones it serves
		"AcceptTransitGatewayPeeringAttachment", "DeleteTransitGatewayPeeringAttachment",
		"CreateTransitGatewayPrefixListReference", "ModifyTransitGatewayPrefixListReference",
		"DeleteTransitGatewayPrefixListReference",
	}},
	{SourceEC2, "managed prefix lists", []string{
		"CreateManagedPrefixList", "ModifyManagedPrefixList", "DeleteManagedPrefixList",
		"RestoreManagedPrefixListVersion",
	}},
}

// Names is the one list of events that can change a verdict, in a stable
// order: the code's mapping and the events-setup templates both use it.
func Names() []Name {
	var out []Name
	for _, f := range families {
		for _, n := range f.names {
			out = append(out, Name{Source: f.source, Name: n})
		}
	}
	return out
}

// Sources lists the event sources of Names, in their first order.
func Sources() []string {
	var out []string
	for _, f := range families {
		if len(out) == 0 || out[len(out)-1] != f.source {
			out = append(out, f.source)
		}
	}
	return out
}

// NamesOf lists the event names of one source, in Names' order.
func NamesOf(source string) []string {
	var out []string
	for _, n := range Names() {
		if n.Source == source {
			out = append(out, n.Name)
		}
	}
	return out
}

var nameSet = sync.OnceValue(func() map[Name]bool {
	m := map[Name]bool{}
	for _, n := range Names() {
		m[n] = true
	}
	return m
})

// Relevant reports whether an event is one of Names.
func Relevant(source, name string) bool { return nameSet()[Name{Source: source, Name: name}] }

// Event is one CloudTrail management event.
type Event struct {
	// ID is CloudTrail's eventID (the EventBridge event's id when absent):
	// the same call delivered twice has one ID.
	ID        string    `json:"id"`
	Source    string    `json:"source"`
	Name      string    `json:"name"`
	AccountID string    `json:"account_id"`
	Region    string    `json:"region"`
	Caller    string    `json:"caller,omitempty"`
	Time      time.Time `json:"time"`
	// ErrorCode is CloudTrail's errorCode: the call failed (or was a dry
	// run) and changed nothing.
	ErrorCode string `json:"error_code,omitempty"`
	// Resource is the SageMaker resource the request named, when it did
	// (notebookInstanceName or resourceArn).
	Resource string `json:"resource,omitempty"`
}

// Failed reports whether the call failed: it changed nothing, so it is no
// reason to rescan.
func (e Event) Failed() bool { return e.ErrorCode != "" }

// Relevant reports whether the event can change a verdict: one of Names,
// a call that succeeded, and for SageMaker's resource-agnostic tag calls,
// one that names a notebook instance.
func (e Event) Relevant() bool {
	if e.Failed() || !Relevant(e.Source, e.Name) {
		return false
	}
	if e.Source == SourceSageMaker && (e.Name == "AddTags" || e.Name == "DeleteTags") {
		return isTaggedARN(e.Resource)
	}
	return true
}

// Errors of Parse.
var (
	// ErrNotCloudTrail: a well-formed EventBridge event of another kind.
	ErrNotCloudTrail = errors.New("not an AWS API Call via CloudTrail event")
	// ErrMalformed: not an EventBridge event at all.
	ErrMalformed = errors.New("malformed event")
)

// SQSAPI is what the consumer calls.
type SQSAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// Batch is the relevant events of one account-region collapsed by the
// debounce window: one rescan.
type Batch struct {
	AccountID string
	Region    string
	Events    []Event
	// Omitted counts the events that joined the batch beyond MaxBatchEvents:
	// they are not listed, but the rescan covers them all the same.
	Omitted int
}

// MaxBatchEvents bounds the events a batch lists, so that a burst of
// changes (or a consumer of the batches that has stopped reading) cannot
// grow memory without bound.
const MaxBatchEvents = 1000

// Counters are what the consumer has seen.
type Counters struct {
	Received, Relevant, Ignored, Malformed, ReceiveErrors int
	// Lag is the delay between the last relevant event's time and its
	// receipt.
	Lag time.Duration
}

// Consumer long-polls one queue.
type Consumer struct {
	API      SQSAPI
	QueueURL string
	// Debounce collapses the events of one account-region arriving within
	// it into one batch (default 5s).
	Debounce time.Duration
	Logger   *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// BackoffMin and BackoffMax bound the wait after a failed receive
	// (defaults 1s and 1m): it doubles from BackoffMin with each
	// consecutive failure, up to BackoffMax, jittered.
	BackoffMin, BackoffMax time.Duration

	// afterFunc, when set, is time.After on the test's clock: with Now,
	// it lets a test step through windows and backoffs without waiting.
	afterFunc func(time.Duration) <-chan time.Time

	mu       sync.Mutex
	counters Counters
}

// DefaultDebounce is Consumer.Debounce when unset.
const DefaultDebounce = 5 * time.Second
