package collect

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestEveryRouteFieldIsMappedOrKnown walks the SDK's ec2types.Route: every
// field must be a destination, a target or the state the collector maps,
// or metadata it knows it leaves out. A field the SDK gains fails here
// until it is mapped (a target dropped silently would leave a route
// without its next hop) or named as metadata. Each mapped field is then
// set to a value of its own and must come out of mapRouteTable.
func TestEveryRouteFieldIsMappedOrKnown(t *testing.T) {
	mapped := map[string]string{ // SDK field -> inventory JSON name
		"DestinationCidrBlock":        "destination_cidr",
		"DestinationIpv6CidrBlock":    "destination_ipv6_cidr",
		"DestinationPrefixListId":     "destination_prefix_list_id",
		"GatewayId":                   "gateway_id",
		"NatGatewayId":                "nat_gateway_id",
		"EgressOnlyInternetGatewayId": "egress_only_internet_gateway_id",
		"InstanceId":                  "instance_id",
		"NetworkInterfaceId":          "network_interface_id",
		"TransitGatewayId":            "transit_gateway_id",
		"VpcPeeringConnectionId":      "vpc_peering_connection_id",
		"LocalGatewayId":              "local_gateway_id",
		"CarrierGatewayId":            "carrier_gateway_id",
		"CoreNetworkArn":              "core_network_arn",
		"OdbNetworkArn":               "odb_network_arn",
		"IpAddress":                   "next_hop_ip",
		"State":                       "state",
	}
	metadata := []string{
		"InstanceOwnerId", // whose instance an instance route names; the target is InstanceId
		"Origin",          // how the route was made (CreateRoute, propagation); it routes the same
	}

	var rt ec2types.Route
	v := reflect.ValueOf(&rt).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if _, ok := mapped[f.Name]; !ok && !slices.Contains(metadata, f.Name) {
			t.Errorf("ec2types.Route.%s is neither mapped nor known metadata: map it in mapRouteTable (a route target?) or list it here", f.Name)
			continue
		}
		if _, ok := mapped[f.Name]; !ok {
			continue
		}
		switch fv := v.Field(i); fv.Kind() {
		case reflect.Pointer:
			s := "value-of-" + f.Name
			fv.Set(reflect.ValueOf(&s))
		case reflect.String:
			fv.SetString("value-of-" + f.Name)
		default:
			t.Fatalf("ec2types.Route.%s has kind %s: extend this test", f.Name, fv.Kind())
		}
	}
	for name := range mapped {
		if _, ok := v.Type().FieldByName(name); !ok {
			t.Errorf("ec2types.Route has no field %s any more", name)
		}
	}

	table := mapRouteTable(ec2types.RouteTable{Routes: []ec2types.Route{rt}})
	b, err := json.Marshal(table.Routes[0])
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for sdk, field := range mapped {
		if got[field] != "value-of-"+sdk {
			t.Errorf("ec2types.Route.%s is not mapped to %s: got %q", sdk, field, got[field])
		}
	}
	for field, value := range got {
		if !strings.HasPrefix(value, "value-of-") {
			t.Errorf("inventory route field %s = %q, not from the SDK route", field, value)
		}
	}
}
