package netpath

import (
	"testing"

	"github.com/sagefence/sagefence/internal/inventory"
)

// TestAnalyzeOutsideTheInventory: a notebook of an account-region the
// inventory does not hold is unknown, never "no subnet" (which the
// control reads as a notebook outside any VPC).
func TestAnalyzeOutsideTheInventory(t *testing.T) {
	inv := &inventory.Inventory{SchemaVersion: inventory.SchemaVersion, Regions: []inventory.Region{{AccountID: "111122223333", Region: "us-east-1"}}}
	r := New(inv, Options{})
	a := r.Index("111122223333", "eu-west-1").Analyze(&inventory.Notebook{Name: "nb", SubnetID: "subnet-a"})
	if a == nil || len(a.Unknowns) != 1 || a.Unknowns[0].Resource != "subnet-a" {
		t.Fatalf("got %+v, want one unknown naming subnet-a", a)
	}
	if a := r.Index("111122223333", "eu-west-1").Analyze(&inventory.Notebook{Name: "nb"}); a != nil {
		t.Fatalf("a notebook without a subnet: got %+v, want nil", a)
	}
}
