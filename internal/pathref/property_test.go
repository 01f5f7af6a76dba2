package pathref_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/inventory"
	"github.com/sagefence/sagefence/internal/pathref"
)

var seedFlag = flag.String("pathref.seed", "", "run TestProductAgainstReference on this seed only, verbosely")

// violation is one property the product broke for one notebook.
type violation struct {
	property string
	key      pathref.Key
	detail   string
}

// Properties, by name. Each compares netpath+control (profile sop) with
// the reference for one notebook whose path the reference evaluates.
const (
	propUnknownIsError  = "reference unknown => result ERROR"
	propOpenIsFail      = "reference open => egress FAIL (or ERROR)"
	propOpaqueIsReview  = "reference opaque, not open => egress REVIEW or FAIL (or ERROR)"
	propFailIsOpen      = "egress FAIL => reference open"
	propReviewIsOpaque  = "egress REVIEW => reference opaque"
	propNoneIsNoPath    = "internet_path none => reference finds no path"
	propNeverPassUnsafe = "never PASS while the reference finds unknown or open"
)

func egress(r *finding.Result) finding.Status {
	for _, c := range r.Checks {
		if c.ID == control.CheckEgress {
			return c.Status
		}
	}
	return ""
}

// compare evaluates inv with the product and the reference and returns
// every property broken.
func compare(t testing.TB, inv *inventory.Inventory) []violation {
	t.Helper()
	ev, err := control.New(control.Options{})
	if err != nil {
		t.Fatal(err)
	}
	results, _ := ev.Evaluate(inv)
	ref := pathref.Evaluate(inv, pathref.Options{})
	var out []violation
	for i := range results {
		r := &results[i]
		key := pathref.Key{Account: r.AccountID, Region: r.Region, Notebook: r.Resource.Name}
		v, ok := ref[key]
		if !ok {
			t.Fatalf("the reference has no verdict for %v", key)
		}
		if !v.Applicable {
			continue
		}
		eg := egress(r)
		isErr := r.Status == finding.StatusError
		detail := fmt.Sprintf("product: status %s, egress %s, internet_path %s, checks %s\nreference: %v",
			r.Status, eg, r.InternetPath, checkMessages(r), v)
		add := func(prop string) { out = append(out, violation{prop, key, detail}) }
		if v.Unknown && !isErr {
			add(propUnknownIsError)
		}
		if v.Open && !isErr && eg != finding.StatusFail {
			add(propOpenIsFail)
		}
		if v.Opaque && !v.Open && !isErr && eg != finding.StatusReview && eg != finding.StatusFail {
			add(propOpaqueIsReview)
		}
		if !v.Unknown && !isErr {
			if eg == finding.StatusFail && !v.Open {
				add(propFailIsOpen)
			}
			if eg == finding.StatusReview && !v.Opaque {
				add(propReviewIsOpaque)
			}
			if r.InternetPath == finding.PathNone && len(v.Paths) > 0 {
				add(propNoneIsNoPath)
			}
		}
		if r.Status == finding.StatusPass && (v.Unknown || v.Open) {
			add(propNeverPassUnsafe)
		}
	}
	return out
}

func checkMessages(r *finding.Result) string {
	var parts []string
	for _, c := range r.Checks {
		parts = append(parts, fmt.Sprintf("%s=%s (%s)", c.ID, c.Status, c.Message))
	}
	return strings.Join(parts, "; ")
}

func broken(vs []violation, prop string, key pathref.Key) bool {
	return slices.ContainsFunc(vs, func(v violation) bool { return v.property == prop && v.key == key })
}

// shrink deletes array elements from the inventory's JSON, one at a
// time, for as long as the same property stays broken for the same
// notebook: what is left is a small estate that shows the failure.
func shrink(t testing.TB, inv *inventory.Inventory, prop string, key pathref.Key) *inventory.Inventory {
	t.Helper()
	raw, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	best := inv
	want := reason(pathref.Evaluate(inv, pathref.Options{})[key])
	still := func() bool {
		b, err := json.Marshal(doc)
		if err != nil {
			return false
		}
		cand, err := inventory.Parse(b, "shrunk.json")
		if err != nil || !broken(compare(t, cand), prop, key) || !want(pathref.Evaluate(cand, pathref.Options{})[key]) {
			return false
		}
		best = cand
		return true
	}
	for changed := true; changed; {
		changed = false
		for _, path := range arrayPaths(doc, nil) {
			if slices.Contains(path, any("coverage")) {
				// Dropping coverage turns most failures into "not
				// collected" ones, which explain less.
				continue
			}
			for i := 0; ; {
				arr, ok := get(doc, path).([]any)
				if !ok || i >= len(arr) {
					break
				}
				set(doc, path, slices.Delete(slices.Clone(arr), i, i+1))
				if still() {
					changed = true
					continue
				}
				set(doc, path, arr)
				i++
			}
		}
	}
	return best
}

// reason returns a test that a verdict keeps v's reason: the same first
// unknown fact, or the same exposure. Shrinking keeps it so that the
// estate left shows the original failure, not another one.
func reason(v pathref.Verdict) func(pathref.Verdict) bool {
	fact := func(why string) string {
		if i := strings.Index(why, " (a flow it may allow"); i >= 0 {
			return why[:i]
		}
		return why
	}
	if v.Unknown {
		first := fact(v.Why[0])
		return func(w pathref.Verdict) bool {
			return w.Unknown && slices.ContainsFunc(w.Why, func(s string) bool { return fact(s) == first })
		}
	}
	return func(w pathref.Verdict) bool {
		return !w.Unknown && w.Open == v.Open && w.Opaque == v.Opaque && slices.Equal(w.Paths, v.Paths)
	}
}

// A path is the keys (string) and indices (int) from the JSON root.
type path []any

// arrayPaths lists the path of every array in v, outermost first.
func arrayPaths(v any, at path) []path {
	var out []path
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = append(out, arrayPaths(x[k], append(slices.Clone(at), k))...)
		}
	case []any:
		out = append(out, slices.Clone(at))
		for i, e := range x {
			out = append(out, arrayPaths(e, append(slices.Clone(at), i))...)
		}
	}
	return out
}

// get follows p, or returns nil when an earlier deletion moved it away.
func get(v any, p path) any {
	for _, step := range p {
		switch s := step.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[s]
		case int:
			a, ok := v.([]any)
			if !ok || s >= len(a) {
				return nil
			}
			v = a[s]
		}
	}
	return v
}

func set(v any, p path, val any) {
	parent := get(v, p[:len(p)-1])
	switch s := p[len(p)-1].(type) {
	case string:
		parent.(map[string]any)[s] = val
	case int:
		parent.([]any)[s] = val
	}
}

func dump(t testing.TB, inv *inventory.Inventory) string {
	var buf bytes.Buffer
	if err := inv.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// report logs the first failure of each property, shrunk, and fails.
func report(t *testing.T, first map[string]violation, firstInv map[string]*inventory.Inventory, where map[string]string, counts map[string]int) {
	props := make([]string, 0, len(first))
	for p := range first {
		props = append(props, p)
	}
	slices.Sort(props)
	for _, p := range props {
		v := first[p]
		small := shrink(t, firstInv[p], p, v.key)
		after := compare(t, small)
		i := slices.IndexFunc(after, func(x violation) bool { return x.property == p && x.key == v.key })
		t.Errorf("property %q broken %d times; first at %s, notebook %s\n%s\nshrunk to the estate below:\n%s\n%s",
			p, counts[p], where[p], v.key.Notebook, v.detail, after[i].detail, dump(t, small))
	}
}

// TestProductAgainstReference: on thousands of random estates, the
// product never answers less safely than the reference, nor claims an
// exposure the reference does not find.
func TestProductAgainstReference(t *testing.T) {
	from, to := uint64(0), uint64(3000)
	if testing.Short() {
		to = 300
	}
	if *seedFlag != "" {
		s, err := strconv.ParseUint(*seedFlag, 10, 64)
		if err != nil {
			t.Fatalf("-pathref.seed: %v", err)
		}
		from, to = s, s+1
	}
	first, firstInv, where, counts := map[string]violation{}, map[string]*inventory.Inventory{}, map[string]string{}, map[string]int{}
	for seed := from; seed < to; seed++ {
		inv := pathref.Generate(seed)
		for _, v := range compare(t, inv) {
			counts[v.property]++
			if _, ok := first[v.property]; !ok {
				first[v.property], firstInv[v.property] = v, inv
				where[v.property] = fmt.Sprintf("seed %d (go test ./internal/pathref -run 'TestProductAgainstReference$' -pathref.seed=%d)", seed, seed)
			}
		}
		if *seedFlag != "" {
			t.Logf("seed %d estate:\n%s", seed, dump(t, inv))
			for k, v := range pathref.Evaluate(inv, pathref.Options{}) {
				t.Logf("reference %s: %v", k.Notebook, v)
			}
		}
	}
	report(t, first, firstInv, where, counts)
}

// TestProductOnSpecCases holds the product to the same properties on the
// hand-built estate of each spec row.
func TestProductOnSpecCases(t *testing.T) {
	for _, c := range pathref.SpecCases() {
		t.Run(c.Name, func(t *testing.T) {
			first, firstInv, where, counts := map[string]violation{}, map[string]*inventory.Inventory{}, map[string]string{}, map[string]int{}
			for _, v := range compare(t, c.Inv) {
				counts[v.property]++
				first[v.property], firstInv[v.property], where[v.property] = v, c.Inv, "spec case "+strconv.Quote(c.Name)
			}
			report(t, first, firstInv, where, counts)
		})
	}
}

// FuzzAgainstReference is the property test driven by a fuzzer: the seed
// and the bytes choose the estate (GenerateFrom).
func FuzzAgainstReference(f *testing.F) {
	for seed := range uint64(8) {
		f.Add(seed, []byte{})
	}
	f.Add(uint64(1), []byte("\x01\x02\x03\x04\x05\x06\x07\x08"))
	f.Fuzz(func(t *testing.T, seed uint64, data []byte) {
		inv := pathref.GenerateFrom(seed, data)
		vs := compare(t, inv)
		if len(vs) == 0 {
			return
		}
		first, firstInv, where, counts := map[string]violation{}, map[string]*inventory.Inventory{}, map[string]string{}, map[string]int{}
		for _, v := range vs {
			counts[v.property]++
			if _, ok := first[v.property]; !ok {
				first[v.property], firstInv[v.property], where[v.property] = v, inv, fmt.Sprintf("seed %d data %q", seed, data)
			}
		}
		report(t, first, firstInv, where, counts)
	})
}
