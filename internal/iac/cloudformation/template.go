package cloudformation

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sagefence/sagefence/internal/iac/model"
)

// Options configure template evaluation.
type Options struct {
	// Params override parameter values, as a deployment's
	// --parameter-overrides would (from sagefence iac --var).
	Params map[string]string
	// CDK marks the file as a CDK synthesis output (cdk.out).
	CDK bool
}

// IsTemplate reports whether a document is a CloudFormation template: a
// mapping with a Resources mapping or an AWSTemplateFormatVersion.
func IsTemplate(doc *Node) bool {
	if doc == nil || doc.Kind != Map {
		return false
	}
	if doc.Get("AWSTemplateFormatVersion") != nil {
		return true
	}
	r := doc.Get("Resources")
	return r != nil && r.Kind == Map
}

const (
	// maxAlts bounds the values one expression may resolve to.
	maxAlts = 32
	// maxDepth bounds intrinsic nesting.
	maxDepth = 64
	// maxSteps bounds the work spent on one resource's properties.
	maxSteps = 100_000
	// maxValueLen bounds a string built by Fn::Sub or Fn::Join.
	maxValueLen = 64 << 10
)

type tri uint8

const (
	triUnknown tri = iota
	triTrue
	triFalse
	triVisiting
)

// Resolver resolves intrinsic functions against one template.
type Resolver struct {
	file       string
	params     *Node
	overrides  map[string]string
	mappings   *Node
	conditions *Node
	resources  *Node
	condState  map[string]tri
	steps      int
}

// NewResolver prepares the template doc for resolution.
func NewResolver(file string, doc *Node, overrides map[string]string) *Resolver {
	return &Resolver{
		file: file, params: doc.Get("Parameters"), overrides: overrides,
		mappings: doc.Get("Mappings"), conditions: doc.Get("Conditions"), resources: doc.Get("Resources"),
		condState: map[string]tri{},
	}
}

// Notebooks returns the notebook instances and Studio domains a template
// declares. Resources
// whose Condition is false with the parameters' defaults are skipped.
func Notebooks(file string, doc *Node, opts Options) ([]model.Notebook, []model.Error) {
	res := doc.Get("Resources")
	if res == nil {
		return nil, nil
	}
	if res.Kind != Map {
		return nil, []model.Error{{File: file, Line: res.Line, Msg: "Resources must be a mapping of logical IDs to resources"}}
	}
	r := NewResolver(file, doc, opts.Params)
	var out []model.Notebook
	var errs []model.Error
	for i, id := range res.Keys {
		def := res.Vals[i]
		t := def.Get("Type")
		if t == nil || t.Kind != Scalar || (t.Str != model.TypeCloudFormation && t.Str != model.TypeCloudFormationDomain) {
			continue
		}
		if !validLogicalID(id) {
			// CloudFormation rejects the template: nothing it names can be
			// deployed, nor reported by an address.
			errs = append(errs, model.Error{File: file, Line: res.KeyLines[i],
				Msg: fmt.Sprintf("%s has logical ID %q: CloudFormation requires letters and digits only", t.Str, id)})
			continue
		}
		domain := t.Str == model.TypeCloudFormationDomain
		nb := model.Notebook{File: file, Line: res.KeyLines[i], Kind: model.KindCloudFormation, Type: t.Str, Address: id}
		if c := def.Get("Condition"); c != nil {
			name := scalarOf(c)
			switch r.Condition(name) {
			case triFalse:
				continue
			case triUnknown:
				nb.Notes = append(nb.Notes, fmt.Sprintf("created only when condition %s holds, which the parameters' defaults cannot decide: evaluated as if it does", name))
			}
		}
		r.steps = 0
		props := def.Get("Properties")
		switch {
		case domain && (props == nil || props.Kind == Null):
			nb.AppNetworkAccessType = model.Absent()
		case domain && props.Kind != Map:
			nb.AppNetworkAccessType = model.Unknown(render(props), "Properties is not a mapping", false)
		case domain:
			nb.AppNetworkAccessType = r.Value(props.Get("AppNetworkAccessType"))
			if n := props.Get("DomainName"); n != nil {
				nb.Name, _ = r.Value(n).Single()
			}
		case props == nil || props.Kind == Null:
			nb.DirectInternetAccess, nb.SubnetID = model.Absent(), model.Absent()
		case props.Kind != Map:
			why := "Properties is not a mapping"
			nb.DirectInternetAccess = model.Unknown(render(props), why, false)
			nb.SubnetID = model.Unknown(render(props), why, false)
		default:
			nb.DirectInternetAccess = r.Value(props.Get("DirectInternetAccess"))
			nb.SubnetID = r.Value(props.Get("SubnetId"))
			if n := props.Get("NotebookInstanceName"); n != nil {
				nb.Name, _ = r.Value(n).Single()
			}
		}
		md := def.Get("Metadata")
		if p := md.Get("aws:cdk:path"); p != nil && p.Kind == Scalar {
			nb.ConstructPath = p.Str
		}
		if nb.ConstructPath != "" || opts.CDK {
			nb.Kind = model.KindCDK
		}
		nb.Suppressions = suppressions(file, md)
		out = append(out, nb)
	}
	return out, errs
}

// validLogicalID reports whether CloudFormation accepts id as a logical ID:
// alphanumeric (A-Za-z0-9) and not empty.
func validLogicalID(id string) bool {
	if id == "" {
		return false
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// suppressions reads Metadata: {sagefence: {ignore: [{id, reason}]}}.
func suppressions(file string, md *Node) []model.Suppression {
	list := md.Get("sagefence").Get("ignore")
	if list == nil {
		return nil
	}
	items := list.Items
	if list.Kind == Map {
		items = []*Node{list}
	}
	var out []model.Suppression
	for _, it := range items {
		out = append(out, model.Suppression{
			ID: strings.TrimSpace(scalarOf(it.Get("id"))), Reason: strings.TrimSpace(scalarOf(it.Get("reason"))),
			Source: fmt.Sprintf("%s:%d", file, it.Line),
		})
	}
	return out
}

func scalarOf(n *Node) string {
	if n != nil && n.Kind == Scalar {
		return n.Str
	}
	return ""
}

// Value resolves a property into every value it can take. A nil node is an
// omitted property.
func (r *Resolver) Value(n *Node) model.Value {
	if n == nil {
		return model.Absent()
	}
	return model.Value{Expr: render(n), Alts: r.resolve(n, 0, false)}.Normalized()
}

// intrinsic returns the function name and argument of an intrinsic
// function node: a mapping with one key, Ref, Condition or Fn::*.
func intrinsic(n *Node) (string, *Node, bool) {
	if n == nil || n.Kind != Map || len(n.Keys) != 1 {
		return "", nil, false
	}
	k := n.Keys[0]
	if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
		return k, n.Vals[0], true
	}
	return "", nil, false
}

func unknown(why string, set bool) []model.Alt {
	return []model.Alt{{Unknown: true, Set: set, Why: why}}
}

// resolve returns the values n can take. inCond resolves parameters from
// their defaults only, as conditions are decided.
func (r *Resolver) resolve(n *Node, depth int, inCond bool) []model.Alt {
	r.steps++
	if depth > maxDepth || r.steps > maxSteps {
		return unknown("intrinsic functions nested too deeply", false)
	}
	if n == nil || n.Kind == Null {
		return []model.Alt{{Absent: true, Why: "null"}}
	}
	switch n.Kind {
	case Scalar:
		return []model.Alt{{Value: n.Str}}
	case Seq:
		return unknown("a list, not a string", false)
	}
	fn, arg, ok := intrinsic(n)
	if !ok {
		return unknown("a mapping, not a string", false)
	}
	switch fn {
	case "Ref":
		return r.ref(scalarOf(arg), inCond)
	case "Fn::If":
		return r.fnIf(arg, depth, inCond)
	case "Fn::Sub":
		return r.sub(arg, depth, inCond)
	case "Fn::Join":
		return r.join(arg, depth, inCond)
	case "Fn::Select":
		return r.sel(arg, depth, inCond)
	case "Fn::FindInMap":
		return r.findInMap(arg, depth, inCond)
	case "Fn::GetAtt", "Fn::ImportValue", "Fn::GetAZs", "Fn::Cidr", "Fn::Base64", "Fn::Split", "Fn::Length",
		"Fn::ToJsonString", "Fn::Transform", "Fn::GetStackOutput":
		return unknown(fn+" is resolved at deployment", true)
	}
	return unknown("unsupported intrinsic "+fn, false)
}

func (r *Resolver) ref(name string, inCond bool) []model.Alt {
	switch {
	case name == "AWS::NoValue":
		return []model.Alt{{Absent: true, Why: "Ref AWS::NoValue removes the property"}}
	case strings.HasPrefix(name, "AWS::"):
		return unknown("pseudo parameter "+name+" is known at deployment", true)
	}
	if p := r.params.Get(name); p != nil {
		if v, ok := r.overrides[name]; ok {
			return []model.Alt{{Value: v, Why: "parameter " + name + " from --var"}}
		}
		if av := p.Get("AllowedValues"); !inCond && av != nil && av.Kind == Seq && len(av.Items) > 0 {
			// A deployer may pick any allowed value.
			out := make([]model.Alt, 0, len(av.Items))
			for _, it := range av.Items {
				if it.Kind == Scalar {
					out = append(out, model.Alt{Value: it.Str, Why: "parameter " + name + " allows it"})
				} else {
					out = append(out, model.Alt{Unknown: true, Why: "parameter " + name + " has a non-scalar allowed value"})
				}
			}
			return out
		}
		if d := p.Get("Default"); d != nil && d.Kind == Scalar {
			return []model.Alt{{Value: d.Str, Why: "default of parameter " + name}}
		}
		return unknown("parameter "+name+" has no default: given at deployment", true)
	}
	if r.resources.Get(name) != nil {
		return unknown("refers to resource "+name+", known at deployment", true)
	}
	return unknown("Ref to "+strconv.Quote(name)+", which the template does not define", false)
}

func (r *Resolver) fnIf(arg *Node, depth int, inCond bool) []model.Alt {
	if arg == nil || arg.Kind != Seq || len(arg.Items) != 3 {
		return unknown("Fn::If needs [condition, value if true, value if false]", false)
	}
	name := scalarOf(arg.Items[0])
	switch r.Condition(name) {
	case triTrue:
		return r.resolve(arg.Items[1], depth+1, inCond)
	case triFalse:
		return r.resolve(arg.Items[2], depth+1, inCond)
	}
	var out []model.Alt
	for _, a := range r.resolve(arg.Items[1], depth+1, inCond) {
		a.Why = joinWhy("when condition "+name+" is true, which the parameters' defaults cannot decide", a.Why)
		out = append(out, a)
	}
	for _, a := range r.resolve(arg.Items[2], depth+1, inCond) {
		a.Why = joinWhy("when condition "+name+" is false, which the parameters' defaults cannot decide", a.Why)
		out = append(out, a)
	}
	return capAlts(out)
}

func joinWhy(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

func capAlts(alts []model.Alt) []model.Alt {
	if len(alts) > maxAlts {
		return unknown(fmt.Sprintf("more than %d possible values", maxAlts), false)
	}
	return alts
}

// Condition decides a named condition from the parameters' defaults (and
// overrides): true, false or unknown. Cycles are unknown.
func (r *Resolver) Condition(name string) tri {
	if st, ok := r.condState[name]; ok {
		if st == triVisiting {
			return triUnknown
		}
		return st
	}
	r.condState[name] = triVisiting
	def := r.conditions.Get(name)
	v := triUnknown
	if def != nil {
		v = r.cond(def, 0)
	}
	r.condState[name] = v
	return v
}

func (r *Resolver) cond(n *Node, depth int) tri {
	r.steps++
	if depth > maxDepth || r.steps > maxSteps {
		return triUnknown
	}
	if n != nil && n.Kind == Scalar {
		switch n.Str {
		case "true", "True":
			return triTrue
		case "false", "False":
			return triFalse
		}
		return triUnknown
	}
	fn, arg, ok := intrinsic(n)
	if !ok {
		return triUnknown
	}
	var args []*Node
	if arg != nil && arg.Kind == Seq {
		args = arg.Items
	}
	switch fn {
	case "Condition":
		return r.Condition(scalarOf(arg))
	case "Fn::Equals":
		if len(args) != 2 {
			return triUnknown
		}
		return equals(r.resolve(args[0], depth+1, true), r.resolve(args[1], depth+1, true))
	case "Fn::Not":
		if len(args) != 1 {
			return triUnknown
		}
		switch r.cond(args[0], depth+1) {
		case triTrue:
			return triFalse
		case triFalse:
			return triTrue
		}
		return triUnknown
	case "Fn::And", "Fn::Or":
		short, other := triFalse, triTrue
		if fn == "Fn::Or" {
			short, other = triTrue, triFalse
		}
		if len(args) == 0 {
			return triUnknown
		}
		result := other
		for _, a := range args {
			switch r.cond(a, depth+1) {
			case short:
				return short
			case triUnknown:
				result = triUnknown
			}
		}
		return result
	}
	return triUnknown
}

// equals compares two sets of possible values: true when every pair is
// equal, false when none is, unknown otherwise or when a value is unknown.
func equals(a, b []model.Alt) tri {
	all, none := true, true
	for _, x := range a {
		for _, y := range b {
			if x.Unknown || y.Unknown {
				return triUnknown
			}
			if x.Absent == y.Absent && x.Value == y.Value {
				none = false
			} else {
				all = false
			}
		}
	}
	switch {
	case all && !none:
		return triTrue
	case none && !all:
		return triFalse
	}
	return triUnknown
}

// sub resolves Fn::Sub: a template string, optionally with a variable map.
// A string without ${} variables is a literal.
func (r *Resolver) sub(arg *Node, depth int, inCond bool) []model.Alt {
	var tmpl string
	var vars *Node
	switch {
	case arg != nil && arg.Kind == Scalar:
		tmpl = arg.Str
	case arg != nil && arg.Kind == Seq && len(arg.Items) == 2 && arg.Items[0].Kind == Scalar:
		tmpl, vars = arg.Items[0].Str, arg.Items[1]
	default:
		return unknown("Fn::Sub needs a string or [string, variables]", false)
	}
	parts := []model.Alt{{Value: ""}}
	for len(tmpl) > 0 {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			parts = appendLiteral(parts, tmpl)
			break
		}
		parts = appendLiteral(parts, tmpl[:i])
		rest := tmpl[i+2:]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			parts = appendLiteral(parts, tmpl[i:])
			break
		}
		name := rest[:end]
		tmpl = rest[end+1:]
		if strings.HasPrefix(name, "!") {
			parts = appendLiteral(parts, "${"+name[1:]+"}")
			continue
		}
		name = strings.TrimSpace(name)
		var vals []model.Alt
		switch v := vars.Get(name); {
		case v != nil:
			vals = r.resolve(v, depth+1, inCond)
		case strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::"):
			vals = unknown("Fn::Sub ${"+name+"} is an attribute known at deployment", true)
		default:
			vals = r.ref(name, inCond)
		}
		parts = product(parts, vals, "")
		if len(parts) == 1 && parts[0].Unknown {
			return parts
		}
	}
	return parts
}

func appendLiteral(parts []model.Alt, s string) []model.Alt {
	for i := range parts {
		parts[i].Value += s
	}
	return parts
}

// product concatenates every value of a with every value of b (with sep
// between), collapsing to unknown on any unknown or omitted part.
func product(a, b []model.Alt, sep string) []model.Alt {
	var out []model.Alt
	for _, x := range a {
		for _, y := range b {
			if x.Unknown || y.Unknown || x.Absent || y.Absent {
				why := y.Why
				if x.Unknown {
					why = x.Why
				}
				return unknown(joinWhy("part of the value is known only at deployment", why), x.Set || y.Set || !x.Absent && !y.Absent)
			}
			if len(x.Value)+len(sep)+len(y.Value) > maxValueLen {
				return unknown("the value is longer than any property allows", false)
			}
			out = append(out, model.Alt{Value: x.Value + sep + y.Value, Why: joinWhy(x.Why, y.Why)})
			if len(out) > maxAlts {
				return capAlts(out)
			}
		}
	}
	return out
}

// list returns the items of a list-valued argument when they are known.
func (r *Resolver) list(n *Node, depth int, inCond bool) ([]*Node, bool) {
	r.steps++
	if depth > maxDepth || r.steps > maxSteps || n == nil {
		return nil, false
	}
	if n.Kind == Seq {
		return n.Items, true
	}
	fn, arg, ok := intrinsic(n)
	if !ok {
		return nil, false
	}
	switch fn {
	case "Fn::Split":
		if arg == nil || arg.Kind != Seq || len(arg.Items) != 2 {
			return nil, false
		}
		d, ok1 := single(r.resolve(arg.Items[0], depth+1, inCond))
		s, ok2 := single(r.resolve(arg.Items[1], depth+1, inCond))
		if !ok1 || !ok2 || d == "" {
			return nil, false
		}
		return scalars(strings.Split(s, d), n.Line), true
	case "Ref":
		s, ok := single(r.ref(scalarOf(arg), inCond))
		if !ok {
			return nil, false
		}
		return scalars(strings.Split(s, ","), n.Line), true
	case "Fn::If":
		if arg == nil || arg.Kind != Seq || len(arg.Items) != 3 {
			return nil, false
		}
		switch r.Condition(scalarOf(arg.Items[0])) {
		case triTrue:
			return r.list(arg.Items[1], depth+1, inCond)
		case triFalse:
			return r.list(arg.Items[2], depth+1, inCond)
		}
	}
	return nil, false
}

func scalars(ss []string, line int) []*Node {
	out := make([]*Node, len(ss))
	for i, s := range ss {
		out[i] = &Node{Kind: Scalar, Str: s, Line: line}
	}
	return out
}

func single(alts []model.Alt) (string, bool) {
	if len(alts) == 1 && !alts[0].Unknown && !alts[0].Absent {
		return alts[0].Value, true
	}
	return "", false
}

func (r *Resolver) join(arg *Node, depth int, inCond bool) []model.Alt {
	if arg == nil || arg.Kind != Seq || len(arg.Items) != 2 {
		return unknown("Fn::Join needs [delimiter, list]", false)
	}
	sep, ok := single(r.resolve(arg.Items[0], depth+1, inCond))
	if !ok {
		return unknown("Fn::Join delimiter is not known", false)
	}
	items, ok := r.list(arg.Items[1], depth+1, inCond)
	if !ok {
		return unknown("Fn::Join list is known only at deployment", true)
	}
	out := []model.Alt{{Value: ""}}
	for i, it := range items {
		s := sep
		if i == 0 {
			s = ""
		}
		vals := r.resolve(it, depth+1, inCond)
		out = product(out, vals, s)
		if len(out) == 1 && out[0].Unknown {
			return out
		}
	}
	return out
}

func (r *Resolver) sel(arg *Node, depth int, inCond bool) []model.Alt {
	if arg == nil || arg.Kind != Seq || len(arg.Items) != 2 {
		return unknown("Fn::Select needs [index, list]", false)
	}
	is, ok := single(r.resolve(arg.Items[0], depth+1, inCond))
	if !ok {
		return unknown("Fn::Select index is not known", false)
	}
	i, err := strconv.Atoi(is)
	if err != nil || i < 0 {
		return unknown("Fn::Select index "+strconv.Quote(is)+" is not a number", false)
	}
	items, ok := r.list(arg.Items[1], depth+1, inCond)
	if !ok {
		return unknown("Fn::Select list is known only at deployment", true)
	}
	if i >= len(items) {
		return unknown("Fn::Select index "+is+" is out of range", false)
	}
	return r.resolve(items[i], depth+1, inCond)
}

func (r *Resolver) findInMap(arg *Node, depth int, inCond bool) []model.Alt {
	if arg == nil || arg.Kind != Seq || len(arg.Items) < 3 {
		return unknown("Fn::FindInMap needs [map, top-level key, second-level key]", false)
	}
	var keys [3][]model.Alt
	for i := range keys {
		keys[i] = r.resolve(arg.Items[i], depth+1, inCond)
		for _, k := range keys[i] {
			if k.Unknown || k.Absent {
				return unknown("Fn::FindInMap key is known only at deployment", true)
			}
		}
	}
	var out []model.Alt
	for _, m := range keys[0] {
		for _, k1 := range keys[1] {
			for _, k2 := range keys[2] {
				v := r.mappings.Get(m.Value).Get(k1.Value).Get(k2.Value)
				if v == nil {
					if len(arg.Items) == 4 {
						// Language extension: {DefaultValue: ...}
						if d := arg.Items[3].Get("DefaultValue"); d != nil {
							out = append(out, r.resolve(d, depth+1, inCond)...)
							continue
						}
					}
					out = append(out, model.Alt{Unknown: true, Why: "Mappings has no " + m.Value + "/" + k1.Value + "/" + k2.Value})
					continue
				}
				for _, a := range r.resolve(v, depth+1, inCond) {
					a.Why = joinWhy("Mappings "+m.Value+"/"+k1.Value+"/"+k2.Value, joinWhy(k1.Why, k2.Why))
					out = append(out, a)
				}
				if len(out) > maxAlts {
					return capAlts(out)
				}
			}
		}
	}
	return out
}

// render writes a node compactly for evidence, in the YAML short form.
func render(n *Node) string {
	var b strings.Builder
	renderTo(&b, n, 0)
	return model.Shorten(b.String())
}

func renderTo(b *strings.Builder, n *Node, depth int) {
	if b.Len() > 300 || depth > 20 {
		return
	}
	switch {
	case n == nil || n.Kind == Null:
		b.WriteString("null")
	case n.Kind == Scalar:
		b.WriteString(n.Str)
	case n.Kind == Seq:
		b.WriteByte('[')
		for i, it := range n.Items {
			if i > 0 {
				b.WriteString(", ")
			}
			renderTo(b, it, depth+1)
		}
		b.WriteByte(']')
	default:
		if fn, arg, ok := intrinsic(n); ok {
			b.WriteString("!" + strings.TrimPrefix(fn, "Fn::") + " ")
			renderTo(b, arg, depth+1)
			return
		}
		b.WriteByte('{')
		for i, k := range n.Keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k + ": ")
			renderTo(b, n.Vals[i], depth+1)
		}
		b.WriteByte('}')
	}
}
