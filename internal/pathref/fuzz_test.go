package pathref

import (
	"bytes"
	"math/big"
	"reflect"
	"testing"

	"github.com/sagefence/sagefence/internal/inventory"
)

// checkVerdicts holds the reference to what any answer must satisfy,
// whatever the estate.
func checkVerdicts(t *testing.T, inv *inventory.Inventory, got map[Key]Verdict) {
	t.Helper()
	n := 0
	for _, r := range inv.Regions {
		n += len(r.Notebooks)
	}
	if len(got) != n {
		t.Fatalf("%d verdicts for %d notebooks", len(got), n)
	}
	p4, _ := new(big.Int).SetString(PublicV4, 10)
	// |P6| = 2^125 - 2^96.
	p6 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 125), new(big.Int).Lsh(big.NewInt(1), 96))
	limit4, limit6 := new(big.Int).Lsh(big.NewInt(1), 24), new(big.Int).Lsh(big.NewInt(1), 96)
	for k, v := range got {
		switch {
		case !v.Applicable && (v.Unknown || v.Open || v.Opaque || len(v.Paths) > 0):
			t.Fatalf("%v: not applicable but %v", k, v)
		case v.Unknown && len(v.Why) == 0:
			t.Fatalf("%v: unknown without a why", k)
		case v.ReachV4.Sign() < 0 || v.ReachV4.Cmp(p4) > 0 || v.ReachV6.Sign() < 0 || v.ReachV6.Cmp(p6) > 0:
			t.Fatalf("%v: reach out of the public space: %v", k, v)
		case v.Open != (v.ReachV4.Cmp(limit4) > 0 || v.ReachV6.Cmp(limit6) > 0):
			t.Fatalf("%v: open does not follow the threshold: %v", k, v)
		}
		exits, opaque := false, false
		for _, p := range v.Paths {
			switch p {
			case "igw", "nat", "ipv6":
				exits = true
			case "appliance", "transit":
				opaque = true
			default:
				t.Fatalf("%v: path kind %q", k, p)
			}
		}
		if opaque != v.Opaque || exits != (v.ReachV4.Sign() > 0 || v.ReachV6.Sign() > 0) {
			t.Fatalf("%v: paths %v disagree with opaque %v and reach %v/%v", k, v.Paths, v.Opaque, v.ReachV4, v.ReachV6)
		}
	}
}

// FuzzReference: on any generated estate the reference terminates, does
// not panic, answers consistently, twice alike, and alike after a round
// trip through the inventory file format.
func FuzzReference(f *testing.F) {
	for seed := range uint64(16) {
		f.Add(seed, []byte{})
	}
	f.Add(uint64(7), []byte("\x00\x00\x00\x00\x00\x00\x00\xff"))
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		inv := GenerateFrom(seed, data)
		if err := inv.Validate(); err != nil {
			t.Fatalf("generated an invalid inventory: %v", err)
		}
		got := Evaluate(inv, Options{})
		checkVerdicts(t, inv, got)
		if again := Evaluate(inv, Options{}); !reflect.DeepEqual(got, again) {
			t.Fatal("two evaluations differ")
		}
		var buf bytes.Buffer
		if err := inv.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := inventory.Parse(buf.Bytes(), "generated.json")
		if err != nil {
			t.Fatalf("the generated inventory does not load: %v", err)
		}
		if after := Evaluate(back, Options{}); !reflect.DeepEqual(got, after) {
			t.Fatal("the evaluation differs after a round trip through JSON")
		}
	})
}

// TestGeneratorCoversTheModel: the generator must keep producing each
// kind of estate the property tests rely on, or they prove nothing.
func TestGeneratorCoversTheModel(t *testing.T) {
	seen := map[string]int{}
	for seed := range uint64(400) {
		for _, v := range Evaluate(Generate(seed), Options{}) {
			switch {
			case !v.Applicable:
				seen["not applicable"]++
			case v.Unknown:
				seen["unknown"]++
			case v.Open:
				seen["open"]++
			case v.Opaque:
				seen["opaque"]++
			case len(v.Paths) > 0:
				seen["controlled"]++
			default:
				seen["no path"]++
			}
			for _, p := range v.Paths {
				seen["path "+p]++
			}
		}
	}
	for _, want := range []string{"not applicable", "unknown", "open", "opaque", "controlled", "no path",
		"path igw", "path nat", "path ipv6", "path appliance", "path transit"} {
		if seen[want] == 0 {
			t.Errorf("no %s verdict in 400 estates (%v)", want, seen)
		}
	}
}
