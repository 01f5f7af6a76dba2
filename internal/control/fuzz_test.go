package control

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
)

// FuzzEvaluate: any inventory the parser accepts evaluates without a panic,
// to one result per notebook, never passing a notebook whose path is
// direct or unknown.
func FuzzEvaluate(f *testing.F) {
	if b, err := os.ReadFile("../../examples/inventory.json"); err == nil {
		f.Add(b)
	}
	for _, reg := range []*inventory.Region{estate(), &generateEstate(40, 20).Regions[0]} {
		b, _ := json.Marshal(&inventory.Inventory{SchemaVersion: "1", Regions: []inventory.Region{*reg}})
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		inv, err := inventory.Parse(data, "fuzz.json")
		if err != nil {
			return
		}
		// One result per notebook, per domain, and per user profile with
		// security groups of its own.
		n := 0
		for _, r := range inv.Regions {
			n += len(r.Notebooks) + len(r.StudioDomains)
			for _, d := range r.StudioDomains {
				for _, p := range d.UserProfiles {
					if len(p.SecurityGroupIDs) > 0 {
						n++
					}
				}
			}
		}
		for _, profile := range Profiles() {
			ev, err := New(Options{Profile: profile})
			if err != nil {
				t.Fatal(err)
			}
			results, _ := ev.Evaluate(inv)
			if len(results) != n {
				t.Fatalf("%d results for %d notebooks, domains and profiles with their own groups", len(results), n)
			}
			for _, r := range results {
				if r.Status == finding.StatusPass && (r.InternetPath == finding.PathDirect || (profile == ProfileSOP && r.InternetPath == finding.PathUnknown)) {
					t.Fatalf("PASS with internet_path %s: %+v", r.InternetPath, r)
				}
				if r.Status == finding.StatusError && r.Severity != finding.SeverityHigh {
					t.Fatalf("ERROR with severity %s", r.Severity)
				}
			}
		}
	})
}
