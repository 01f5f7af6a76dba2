package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseErrorsNamePosition(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"empty", "", "empty file"},
		{"not json", "hello", "x.json:1:1: invalid JSON"},
		{"truncated", "{\n  \"schema_version\": \"1\",\n  \"regions\": [\n", "x.json:4:1: unexpected end of file"},
		{"wrong version", `{"schema_version": "7", "regions": []}`, `schema_version "7" is not supported`},
		{"no version", `{"regions": []}`, "no schema_version"},
		{"wrong type with position", "{\"schema_version\": \"1\",\n \"regions\": [{\"region\": 5}]}", "x.json:2:"},
		{"trailing data", `{"schema_version": "1", "regions": []} {}`, "unexpected data after"},
		{"an array, not an object", `[]`, "x.json:1:2: an inventory is a JSON object, found JSON array"},
		{"a field of the wrong JSON type", `{"schema_version":"2","regions":[{"account_id":"1","region":"r","notebooks":{}}]}`, "regions.notebooks: expected JSON array, found JSON object"},
		{"a flag that is not true or false", `{"schema_version":"2","regions":[{"account_id":"1","region":"r","subnets":[{"id":"s","vpc_id":"v","map_public_ip_on_launch":"yes"}]}]}`, "expected JSON true or false, found JSON string"},
		{"duplicate notebook", `{"schema_version":"1","regions":[{"account_id":"1","region":"r","notebooks":[{"name":"a"},{"name":"a"}]}]}`, `notebook "a" appears twice`},
		{"empty region", `{"schema_version":"1","regions":[{"account_id":"1","region":"","notebooks":[]}]}`, "region is empty"},
		{"duplicate domain", `{"schema_version":"3","regions":[{"region":"r","notebooks":[],"studio_domains":[{"id":"d-1"},{"id":"d-1"}]}]}`, `domain "d-1" appears twice`},
		{"domain without id", `{"schema_version":"3","regions":[{"region":"r","notebooks":[],"studio_domains":[{"name":"x"}]}]}`, `studio_domains[0]: id is empty`},
		{"duplicate user profile", `{"schema_version":"3","regions":[{"region":"r","notebooks":[],"studio_domains":[{"id":"d-1","user_profiles":[{"name":"u"},{"name":"u"}]}]}]}`, `user profile "u" appears twice`},
		{"space without name", `{"schema_version":"3","regions":[{"region":"r","notebooks":[],"studio_domains":[{"id":"d-1","spaces":[{"name":""}]}]}]}`, `space [0]: name is empty`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.data), "x.json")
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an InputError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %q, want it to contain %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "nope.json"))
	if err == nil || !strings.Contains(err.Error(), "nope.json: no such file") {
		t.Fatalf("err = %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	inv := &Inventory{SchemaVersion: SchemaVersion, Partition: "aws", Regions: []Region{{
		AccountID: "1", Region: "us-east-1",
		Notebooks:   []Notebook{{Name: "a", DirectInternetAccess: "Disabled", SubnetID: "subnet-1", Tags: map[string]string{"k": "v"}}},
		RouteTables: []RouteTable{{ID: "rtb-1", VPCID: "vpc-1", Main: true, Routes: []Route{{DestinationCIDR: "0.0.0.0/0", NATGatewayID: "nat-1", State: "active"}}}},
		Errors:      []CollectError{{Operation: "ec2:DescribeNetworkAcls", Message: "denied"}},
	}}}
	got, path := writeAndRead(t, inv)
	if got.Regions[0].Notebooks[0].Tags["k"] != "v" || got.Regions[0].RouteTables[0].Routes[0].NATGatewayID != "nat-1" || got.Regions[0].Errors[0].Operation != "ec2:DescribeNetworkAcls" {
		t.Fatalf("round trip lost data: %+v", got.Regions[0])
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("inventory mode = %v, want 0600 (it holds account data)", fi.Mode().Perm())
	}
}

func TestExampleInventoryParses(t *testing.T) {
	inv, err := ReadFile("../../examples/inventory.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Regions) == 0 {
		t.Fatal("example has no regions")
	}
}

// FuzzParse: any input yields an inventory or an InputError, never a panic.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz-seed-*.json")
	for _, s := range seeds {
		b, _ := os.ReadFile(s)
		f.Add(b)
	}
	if b, err := os.ReadFile("../../examples/inventory.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"schema_version":"1","regions":[{"region":"r","notebooks":[{"name":"n"}]}]}`))
	f.Add([]byte(`{"schema_version":"2","regions":[{"region":"r","notebooks":[],"network_only":true,"coverage":{"vpcs":["vpc-1"]}}]}`))
	f.Add([]byte(`{"schema_version":"3","resources":["studio-domains"],"regions":[{"region":"r","notebooks":[],"studio_domains":[{"id":"d-1","user_profiles":[{"name":"u"}],"spaces":[{"name":"s"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := Parse(data, "f.json")
		if err != nil {
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("non-InputError %T: %v", err, err)
			}
			if strings.ContainsAny(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if inv.SchemaVersion != SchemaVersion && inv.SchemaVersion != SchemaVersion2 && inv.SchemaVersion != SchemaVersion1 {
			t.Fatalf("accepted version %q", inv.SchemaVersion)
		}
	})
}

// TestEncodeMatchesEncodingJSON: the faster encoder writes exactly what
// encoding/json would, so saved inventories do not depend on the codec.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	inv, err := ReadFile("../../examples/inventory.json")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := inv.Encode(&got); err != nil {
		t.Fatal(err)
	}
	want, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), append(want, '\n')) {
		t.Errorf("Encode differs from encoding/json:\n%s\n---\n%s", got.Bytes()[:200], want[:200])
	}
}

// TestStudioRoundTrip: a schema 3 snapshot keeps every Studio fact the
// control and a remediation read.
func TestStudioRoundTrip(t *testing.T) {
	inv := &Inventory{SchemaVersion: SchemaVersion, Resources: []string{ResourceNotebookInstances, ResourceStudioDomains}, Regions: []Region{{
		AccountID: "1", Region: "us-east-1", Notebooks: []Notebook{},
		StudioDomains: []StudioDomain{{
			ID: "d-1", Name: "research", ARN: "arn:aws:sagemaker:us-east-1:1:domain/d-1", Status: "InService",
			AppNetworkAccessType: AppNetworkAccessVpcOnly, VPCID: "vpc-1", SubnetIDs: []string{"subnet-a", "subnet-b"},
			DefaultUserSecurityGroupIDs: []string{"sg-u"}, DefaultSpaceSecurityGroupIDs: []string{"sg-s"},
			DomainSecurityGroupIDs: []string{"sg-d"}, SecurityGroupIDForDomainBoundary: "sg-b", Tags: map[string]string{"team": "ml"},
			UserProfiles: []StudioUserProfile{{Name: "alice", SecurityGroupIDs: []string{"sg-alice"}}},
			Spaces:       []StudioSpace{{Name: "shared", SharingType: SpaceSharingShared, OwnerUserProfileName: "alice"}},
			Apps:         []StudioApp{{DomainID: "d-1", SpaceName: "shared", AppType: "JupyterLab", AppName: "default", Status: "InService"}},
			Errors:       []CollectError{{Operation: "sagemaker:ListApps", Resource: "d-1", Message: "denied"}},
		}},
	}}}
	got, _ := writeAndRead(t, inv)
	d := got.Regions[0].StudioDomains[0]
	if d.AppNetworkAccessType != "VpcOnly" || len(d.SubnetIDs) != 2 || d.DefaultSpaceSecurityGroupIDs[0] != "sg-s" ||
		d.SecurityGroupIDForDomainBoundary != "sg-b" || d.UserProfiles[0].SecurityGroupIDs[0] != "sg-alice" ||
		d.Spaces[0].SharingType != "Shared" || d.Apps[0].AppType != "JupyterLab" || d.Errors[0].Operation != "sagemaker:ListApps" || d.Tags["team"] != "ml" {
		t.Fatalf("round trip lost Studio data: %+v", d)
	}
	if !got.ReadsResource(ResourceStudioDomains) || !got.ReadsResource(ResourceNotebookInstances) {
		t.Errorf("resources = %v", got.Resources)
	}
}

// TestOlderSchemasLoadAsNotebookOnly: schema 1 and 2 files still load, and
// say they read notebook instances and no Studio domains.
func TestOlderSchemasLoadAsNotebookOnly(t *testing.T) {
	for _, v := range []string{SchemaVersion1, SchemaVersion2} {
		inv, err := Parse([]byte(`{"schema_version":"`+v+`","regions":[{"region":"r","notebooks":[{"name":"n"}]}]}`), "x.json")
		if err != nil {
			t.Fatalf("schema %s: %v", v, err)
		}
		if !inv.ReadsResource(ResourceNotebookInstances) || inv.ReadsResource(ResourceStudioDomains) {
			t.Errorf("schema %s: resources %v read as studio=%v", v, inv.Resources, inv.ReadsResource(ResourceStudioDomains))
		}
	}
}

// writeAndRead saves inv to a file and reads it back.
func writeAndRead(t *testing.T, inv *Inventory) (*Inventory, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inv.json")
	if err := inv.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return got, path
}
