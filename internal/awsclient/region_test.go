package awsclient

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/testenv"
)

func TestValidRegionKnowsRegionsAndTheirShape(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"us-east-1", true},
		{"ap-southeast-7", true},
		{"cn-northwest-1", true},
		{"us-gov-west-1", true},
		{"us-isob-east-1", true},
		{"us-isof-south-1", true},
		{"eu-isoe-west-1", true},
		{"eusc-de-east-1", true},
		{"ap-southeast-9", true}, // a region opened after the list: its shape is enough
		{"nz-north-1", true},     // a new geography too
		{"us-east1", false},
		{"useast1", false},
		{"US-EAST-1", false},
		{" us-east-1", false},
		{"us-eest-1", false}, // not a compass direction
		{"eu-west", false},
		{"us-east-0", false},
		{"us-east-1a", false}, // an availability zone
		{"aws-global", false}, // the SDK's pseudo-region
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidRegion(tt.name); got != tt.want {
			t.Errorf("ValidRegion(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckRegionNamesTheSourceAndTheClosestRegions(t *testing.T) {
	tests := []struct {
		source, region, want string
	}{
		{"--regions", "us-east1", `--regions "us-east1" is not an AWS region (did you mean us-east-1?)`},
		{"AWS_REGION", "US-EAST-1", `AWS_REGION "US-EAST-1" is not an AWS region (did you mean us-east-1?)`},
		{"AWS_REGION", "us-eest-1", `AWS_REGION "us-eest-1" is not an AWS region (did you mean us-east-1 or us-west-1?)`},
		{"--regions", "eu-west", `--regions "eu-west" is not an AWS region (did you mean eu-west-1, eu-west-2 or eu-west-3?)`},
		{`profile "audit" region`, "mars-1", `profile "audit" region "mars-1" is not an AWS region (a region looks like us-east-1)`},
	}
	for _, tt := range tests {
		err := CheckRegion(tt.source, tt.region)
		if err == nil {
			t.Errorf("CheckRegion(%q) = nil", tt.region)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("CheckRegion(%q):\n got %s\nwant %s", tt.region, err, tt.want)
		}
		if !errors.Is(err, ErrUnknownRegion) {
			t.Errorf("CheckRegion(%q) is not ErrUnknownRegion", tt.region)
		}
	}
	if err := CheckRegion("--regions", "eu-west-1"); err != nil {
		t.Errorf("CheckRegion(eu-west-1) = %v", err)
	}
}

// TestLoadRefusesAConfiguredRegionNamingWhereItWasSet covers each place the
// SDK takes a region from; Load makes no call, so nothing listens at the
// endpoint.
func TestLoadRefusesAConfiguredRegionNamingWhereItWasSet(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string // "" unsets
		config  string
		opts    Options
		wantErr string // "" is no error
	}{
		{name: "AWS_REGION", env: map[string]string{"AWS_REGION": "us-east1", "AWS_DEFAULT_REGION": ""},
			wantErr: `AWS_REGION "us-east1" is not an AWS region (did you mean us-east-1?)`},
		{name: "AWS_DEFAULT_REGION", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-east1"},
			wantErr: `AWS_DEFAULT_REGION "us-east1" is not an AWS region (did you mean us-east-1?)`},
		{name: "AWS_REGION beats AWS_DEFAULT_REGION", env: map[string]string{"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east1"}},
		{name: "named profile", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": ""},
			config: "[profile audit]\nregion = eu-wst-1\n", opts: Options{Profile: "audit"},
			wantErr: `profile "audit" region "eu-wst-1" is not an AWS region (did you mean eu-west-1?)`},
		{name: "AWS_PROFILE", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_PROFILE": "audit"},
			config:  "[profile audit]\nregion = eu-wst-1\n",
			wantErr: `profile "audit" region "eu-wst-1" is not an AWS region (did you mean eu-west-1?)`},
		{name: "default profile", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": ""},
			config:  "[default]\nregion = useast1\n",
			wantErr: `profile "default" region "useast1" is not an AWS region (did you mean us-east-1?)`},
		{name: "the environment beats the profile", env: map[string]string{"AWS_DEFAULT_REGION": ""},
			config: "[default]\nregion = useast1\n"},
		{name: "option", opts: Options{Region: "eu-central"},
			wantErr: `region "eu-central" is not an AWS region (did you mean eu-central-1 or eu-central-2?)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testenv.SetAWSEnv(t, "http://127.0.0.1:1")
			for k, v := range tt.env {
				t.Setenv(k, v)
				if v == "" {
					os.Unsetenv(k)
				}
			}
			if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(tt.config), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(context.Background(), tt.opts)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Load: %v", err)
			case tt.wantErr == "":
			case err == nil:
				t.Fatalf("Load = nil, want %s", tt.wantErr)
			case err.Error() != tt.wantErr || !errors.Is(err, ErrUnknownRegion):
				t.Errorf("Load:\n got %v\nwant %s (ErrUnknownRegion)", err, tt.wantErr)
			}
		})
	}
}

// TestKnownRegionsCoverTheSDKs compares the region list with the SDK's own
// (its endpoint rules, in the module cache): after an SDK upgrade, a region
// the SDK knows must be one sagefence knows, with its partition.
func TestKnownRegionsCoverTheSDKs(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-sdk-go-v2").Output()
	if err != nil {
		t.Skipf("no go command to find the SDK: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "internal", "endpoints", "awsrulesfn", "partitions.json"))
	if err != nil {
		t.Skipf("SDK partitions not found: %v", err)
	}
	var doc struct {
		Partitions []struct {
			ID      string                     `json:"id"`
			Regions map[string]json.RawMessage `json:"regions"`
		} `json:"partitions"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range doc.Partitions {
		for r := range p.Regions {
			if strings.HasSuffix(r, "-global") {
				continue // a pseudo-region of the global endpoints
			}
			n++
			if !slices.Contains(knownRegions, r) {
				t.Errorf("the SDK knows %s (%s), knownRegions does not", r, p.ID)
			}
			if got := PartitionOf(r); got != p.ID {
				t.Errorf("PartitionOf(%s) = %s, the SDK says %s", r, got, p.ID)
			}
		}
	}
	if n == 0 {
		t.Fatal("no region in the SDK's partitions.json")
	}
	for _, r := range knownRegions {
		if !regionShape.MatchString(r) {
			t.Errorf("known region %s does not have a region's shape", r)
		}
	}
}
