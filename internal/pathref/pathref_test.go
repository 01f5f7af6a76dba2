package pathref

import (
	"go/build"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/inventory"
)

func TestSpecCases(t *testing.T) {
	for _, c := range SpecCases() {
		t.Run(c.Name, func(t *testing.T) {
			if err := c.Inv.Validate(); err != nil {
				t.Fatalf("invalid case: %v", err)
			}
			got, ok := Evaluate(c.Inv, Options{})[CaseKey]
			if !ok {
				t.Fatal("no verdict for the notebook")
			}
			if got.Applicable == c.Want.NotApplicable {
				t.Fatalf("applicable = %v, want %v", got.Applicable, !c.Want.NotApplicable)
			}
			if c.Want.NotApplicable {
				return
			}
			if got.Unknown != c.Want.Unknown {
				t.Fatalf("unknown = %v, want %v\n%v", got.Unknown, c.Want.Unknown, got)
			}
			if c.Want.Unknown {
				if len(got.Why) == 0 {
					t.Fatal("unknown without a why")
				}
				return
			}
			if got.Open != c.Want.Open || got.Opaque != c.Want.Opaque || !slices.Equal(got.Paths, c.Want.Paths) {
				t.Fatalf("open=%v opaque=%v paths=%v, want open=%v opaque=%v paths=%v\n%v",
					got.Open, got.Opaque, got.Paths, c.Want.Open, c.Want.Opaque, c.Want.Paths, got)
			}
			if c.Want.ReachV4 != "" && got.ReachV4.String() != c.Want.ReachV4 {
				t.Fatalf("reach4 = %v, want %s\n%v", got.ReachV4, c.Want.ReachV4, got)
			}
			if c.Want.End != "" && !slices.ContainsFunc(got.Ends, func(e string) bool { return strings.Contains(e, c.Want.End) }) {
				t.Fatalf("no end says %q\n%v", c.Want.End, got)
			}
		})
	}
}

// TestOpenThreshold: the threshold is "more than", and Options move it.
func TestOpenThreshold(t *testing.T) {
	inv := with(baseCase(), egressRule(inventory.SGRule{Protocol: "-1", CIDRs: []string{"11.0.0.0/8", "12.0.0.0/32"}}))
	if v := Evaluate(inv, Options{})[CaseKey]; !v.Open || v.ReachV4.String() != "16777217" {
		t.Fatalf("a /8 and one address: %v", v)
	}
	inv = with(baseCase(), egressRule(inventory.SGRule{Protocol: "-1", CIDRs: []string{"11.0.0.0/8"}}))
	if v := Evaluate(inv, Options{})[CaseKey]; v.Open {
		t.Fatalf("exactly a /8 is not more than a /8: %v", v)
	}
	if v := Evaluate(inv, Options{OpenV4Bits: 9})[CaseKey]; !v.Open {
		t.Fatalf("a /8 is more than a /9: %v", v)
	}
}

// TestReachIsAUnionOverProtocolsAndPorts: two rules to different halves
// on different ports count each address once.
func TestReachIsAUnionOverProtocolsAndPorts(t *testing.T) {
	inv := with(baseCase(), egressRule(
		inventory.SGRule{Protocol: "tcp", FromPort: 443, ToPort: 443, CIDRs: []string{"8.8.8.0/24"}},
		inventory.SGRule{Protocol: "udp", FromPort: 53, ToPort: 53, CIDRs: []string{"8.8.8.128/25", "9.9.9.9/32"}},
	))
	if v := Evaluate(inv, Options{})[CaseKey]; v.ReachV4.String() != "257" {
		t.Fatalf("reach4 = %v, want 257", v.ReachV4)
	}
}

func TestEvalFirstMatchThreeValued(t *testing.T) {
	a := netip.MustParseAddr("8.8.8.8")
	entry := func(num int32, proto, action, cidr string) aclEntry {
		return parseACLEntry("acl", inventory.ACLEntry{RuleNumber: num, Egress: true, Protocol: proto, Action: action, CIDR: cidr})
	}
	tests := []struct {
		name    string
		entries []aclEntry
		want    tri
	}{
		{"no entry denies", nil, no},
		{"first match wins", []aclEntry{entry(1, "-1", "deny", "8.8.8.8/32"), entry(2, "-1", "allow", "0.0.0.0/0")}, no},
		{"non-matching entry is skipped", []aclEntry{entry(1, "-1", "deny", "1.1.1.1/32"), entry(2, "-1", "allow", "0.0.0.0/0")}, yes},
		{"unknown entry that would deny before an allow", []aclEntry{entry(1, "-1", "deny", "bad"), entry(2, "-1", "allow", "0.0.0.0/0")}, maybe},
		{"unknown entry that would allow before an allow", []aclEntry{entry(1, "-1", "allow", "bad"), entry(2, "-1", "allow", "0.0.0.0/0")}, yes},
		{"unknown entry after the decision", []aclEntry{entry(1, "-1", "allow", "0.0.0.0/0"), entry(2, "-1", "deny", "bad")}, yes},
		{"unknown action", []aclEntry{entry(1, "-1", "permit", "0.0.0.0/0")}, maybe},
		{"protocol by name is unknown in an ACL", []aclEntry{entry(1, "tcp", "deny", "0.0.0.0/0"), entry(2, "-1", "allow", "0.0.0.0/0")}, maybe},
		{"IPv6 entry does not match IPv4", []aclEntry{{fam: 6, p: netip.MustParsePrefix("::/0"), action: no}, entry(2, "-1", "allow", "0.0.0.0/0")}, yes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := eval(tt.entries, 6, 443, a); got != tt.want {
				t.Fatalf("eval = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRouteLookup(t *testing.T) {
	p := netip.MustParsePrefix
	tbl := &routeTable{entries: []routeEntry{
		{desc: "default", p: p("0.0.0.0/0")},
		{desc: "pl-a", p: p("8.8.8.0/24"), pl: true},
		{desc: "pl-b", p: p("8.8.8.0/24"), pl: true},
		{desc: "cidr", p: p("9.9.9.0/24")},
		{desc: "pl-c", p: p("9.9.9.0/24"), pl: true},
	}}
	names := func(a string) []string {
		var out []string
		for _, e := range tbl.lookup(netip.MustParseAddr(a)) {
			out = append(out, e.desc)
		}
		return out
	}
	for a, want := range map[string][]string{
		"1.1.1.1": {"default"},
		"8.8.8.8": {"pl-a", "pl-b"}, // two prefix-list entries both carry it
		"9.9.9.9": {"cidr"},         // a CIDR wins a tie over a prefix-list entry
	} {
		if got := names(a); !slices.Equal(got, want) {
			t.Errorf("lookup(%s) = %v, want %v", a, got, want)
		}
	}
}

func TestIntervals(t *testing.T) {
	b := newBoundaries(false)
	b.add(netip.MustParsePrefix("128.0.0.0/1"))
	b.add(netip.MustParsePrefix("8.8.8.8/32"))
	var got []string
	for _, iv := range b.intervals() {
		got = append(got, iv.lo.String()+"-"+iv.hi.String()+":"+iv.size().String())
	}
	want := []string{"0.0.0.0-8.8.8.7:134744072", "8.8.8.8-8.8.8.8:1", "8.8.8.9-127.255.255.255:2012739575", "128.0.0.0-255.255.255.255:2147483648"}
	if !slices.Equal(got, want) {
		t.Fatalf("intervals = %v, want %v", got, want)
	}
}

// TestIndependent: the reference must not lean on the code it checks.
func TestIndependent(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range append(pkg.Imports, pkg.TestImports...) {
		if strings.HasSuffix(imp, "/internal/netpath") || strings.HasSuffix(imp, "/internal/control") {
			t.Errorf("pathref imports %s", imp)
		}
	}
}
