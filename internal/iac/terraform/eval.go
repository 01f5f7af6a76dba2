package terraform

import (
	"context"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/sagefence/sagefence/internal/iac/model"
)

// setMark marks an unknown value that will not be null at apply time: a
// reference to a resource, data source or module output, or a required
// root input. It flows through expressions with cty's marks.
type setMark string

const markSet setMark = "sagefence:set"

const (
	// maxDepth bounds module nesting (and so cycles through symlinks).
	maxDepth = 16
	// maxInstances bounds the instances evaluated per counted block.
	maxInstances = 1000
	// maxBranches bounds nested undecided conditionals followed.
	maxBranches = 8
)

// Evaluator evaluates root modules. It holds read-only state only and is
// safe for concurrent use.
type Evaluator struct {
	inputs *Inputs
	funcs  map[string]function.Function
}

// New returns an Evaluator for the command-line inputs (nil for none).
func New(inputs *Inputs) *Evaluator {
	if inputs == nil {
		inputs = &Inputs{}
	}
	return &Evaluator{inputs: inputs, funcs: Functions()}
}

type module struct {
	dir       string
	sources   map[string][]byte
	lineStart map[string][]int
	vars      []*variable
	locals    []*hcl.Attribute
	resources []*hcl.Block
	calls     []*hcl.Block
}

type variable struct {
	name string
	def  hcl.Expression
	ty   cty.Type
	// defaults are the optional(..., default) values of an object type.
	defaults *typeexpr.Defaults
}

// convert converts a value to the variable's type, applying the defaults
// of optional object attributes as Terraform does.
func (v *variable) convert(val cty.Value) (cty.Value, error) {
	if v.defaults != nil {
		val = v.defaults.Apply(val)
	}
	return convert.Convert(val, v.ty)
}

// run is the evaluation of one root module and the local modules it calls.
type run struct {
	ctx       context.Context
	e         *Evaluator
	root      string
	modules   map[string]*module
	notebooks []model.Notebook
	errs      []model.Error
}

// EvaluateRoot evaluates the root module in dir and every local module it
// calls, returning the notebooks they declare and what could not be read.
// A file that does not parse is reported and skipped; the others are still
// evaluated.
func (e *Evaluator) EvaluateRoot(ctx context.Context, dir string) (nbs []model.Notebook, errs []model.Error) {
	r := &run{ctx: ctx, e: e, root: dir, modules: map[string]*module{}}
	defer func() {
		// A bug in expression evaluation must cost one module, not the scan.
		if p := recover(); p != nil {
			nbs, errs = r.notebooks, append(r.errs, model.Error{File: dir, Msg: fmt.Sprintf("internal error evaluating the module: %v", p)})
		}
	}()
	mod := r.load(dir)
	if mod == nil {
		return r.notebooks, r.errs
	}
	vals, origins := r.rootInputs(mod)
	r.evalModule(mod, vals, origins, "", []string{filepath.Clean(dir)})
	return r.notebooks, r.errs
}

func (r *run) errorf(file string, line int, format string, args ...any) {
	r.errs = append(r.errs, model.Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// load parses a module directory once per run.
func (r *run) load(dir string) *module {
	dir = filepath.Clean(dir)
	if m, ok := r.modules[dir]; ok {
		return m
	}
	r.modules[dir] = nil
	names, err := configFiles(dir)
	if err != nil {
		r.errorf(dir, 0, "reading module directory: %v", err)
		return nil
	}
	m := &module{dir: dir, sources: map[string][]byte{}, lineStart: map[string][]int{}}
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "resource", LabelNames: []string{"type", "name"}},
		{Type: "module", LabelNames: []string{"name"}},
	}}
	for _, name := range names {
		if r.ctx.Err() != nil {
			return nil
		}
		data, err := os.ReadFile(name)
		if err != nil {
			r.errorf(name, 0, "%v", err)
			continue
		}
		f, diags := parse(name, data)
		if diags.HasErrors() || f == nil {
			r.errs = append(r.errs, diagErrors(name, diags)...)
			continue
		}
		m.sources[name] = data
		content, _, diags := f.Body.PartialContent(schema)
		r.errs = append(r.errs, diagErrors(name, diags)...)
		if content == nil {
			continue
		}
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				m.vars = append(m.vars, r.variable(b))
			case "locals":
				attrs, diags := b.Body.JustAttributes()
				r.errs = append(r.errs, diagErrors(name, diags)...)
				for _, a := range attrs {
					m.locals = append(m.locals, a)
				}
			case "resource":
				if model.IsTerraformType(b.Labels[0]) {
					m.resources = append(m.resources, b)
				}
			case "module":
				m.calls = append(m.calls, b)
			}
		}
	}
	// Attribute maps iterate randomly; keep evaluation deterministic.
	slices.SortFunc(m.locals, func(a, b *hcl.Attribute) int { return strings.Compare(a.Name, b.Name) })
	r.modules[dir] = m
	return m
}

func (r *run) variable(b *hcl.Block) *variable {
	v := &variable{name: b.Labels[0], ty: cty.DynamicPseudoType}
	content, _, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "type"}}})
	r.errs = append(r.errs, diagErrors(b.DefRange.Filename, diags)...)
	if content == nil {
		return v
	}
	if a := content.Attributes["default"]; a != nil {
		v.def = a.Expr
	}
	if a := content.Attributes["type"]; a != nil {
		if ty, defaults, d := typeexpr.TypeConstraintWithDefaults(a.Expr); !d.HasErrors() {
			v.ty, v.defaults = ty, defaults
		}
	}
	return v
}

// rootInputs decides the root module's variables: defaults, then
// terraform.tfvars, *.auto.tfvars in name order, then the command line.
func (r *run) rootInputs(m *module) (map[string]cty.Value, map[string]string) {
	assigned := map[string]input{}
	for _, name := range varFiles(m.dir) {
		data, err := os.ReadFile(name)
		if err != nil {
			r.errorf(name, 0, "%v", err)
			continue
		}
		vals, errs := parseVarFile(name, data)
		r.errs = append(r.errs, errs...)
		for _, in := range vals {
			assigned[in.name] = in
		}
	}
	for _, in := range r.e.inputs.vals {
		assigned[in.name] = in
	}
	vals := map[string]cty.Value{}
	origins := map[string]string{}
	for _, v := range m.vars {
		if in, ok := assigned[v.name]; ok {
			vals[v.name], origins[v.name] = inputValue(in, v), in.source
			continue
		}
		if v.def != nil {
			vals[v.name], origins[v.name] = defaultValue(v), "its default"
			continue
		}
		// A required variable must be given at apply time: not null, but
		// not known here.
		vals[v.name] = cty.UnknownVal(v.ty).Mark(markSet)
		origins[v.name] = "no value given (required input)"
	}
	return vals, origins
}

// varFiles are the variable files Terraform loads automatically.
func varFiles(dir string) []string {
	var out []string
	for _, n := range []string{"terraform.tfvars", "terraform.tfvars.json"} {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil && !st.IsDir() {
			out = append(out, filepath.Join(dir, n))
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	var auto []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".auto.tfvars") || strings.HasSuffix(n, ".auto.tfvars.json")) {
			auto = append(auto, filepath.Join(dir, n))
		}
	}
	slices.Sort(auto)
	return append(out, auto...)
}

// inputValue converts an assignment to the variable's declared type; a
// value that does not convert is unknown (Terraform would refuse it).
func inputValue(in input, decl *variable) cty.Value {
	ty := decl.ty
	v := in.val
	if in.isRaw {
		if ty == cty.DynamicPseudoType || ty.IsPrimitiveType() {
			v = cty.StringVal(in.raw)
		} else {
			expr, d := hclsyntax.ParseExpression([]byte(in.raw), in.source, hcl.InitialPos)
			if d.HasErrors() {
				return cty.UnknownVal(ty)
			}
			if v, d = expr.Value(nil); d.HasErrors() {
				return cty.UnknownVal(ty)
			}
		}
	}
	out, err := decl.convert(v)
	if err != nil {
		return cty.UnknownVal(ty)
	}
	return out
}

func defaultValue(v *variable) cty.Value {
	val, d := v.def.Value(nil)
	if d.HasErrors() {
		return cty.UnknownVal(v.ty)
	}
	out, err := v.convert(val)
	if err != nil {
		return cty.UnknownVal(v.ty)
	}
	return out
}

// scope is one module instance being evaluated.
type scope struct {
	r       *run
	mod     *module
	vars    map[string]cty.Value
	origins map[string]string
	locals  map[string]cty.Value
	base    *hcl.EvalContext
}

func (s *scope) rebuild() {
	s.base = &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   objectOf(s.vars),
			"local": objectOf(s.locals),
			"path": cty.ObjectVal(map[string]cty.Value{
				"module": cty.StringVal(filepath.ToSlash(s.mod.dir)),
				"root":   cty.StringVal(filepath.ToSlash(s.r.root)),
				"cwd":    cty.StringVal("."),
			}),
			"terraform": cty.ObjectVal(map[string]cty.Value{"workspace": cty.StringVal("default")}),
		},
		Functions: s.r.e.funcs,
	}
}

func objectOf(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

func (r *run) evalModule(m *module, vars map[string]cty.Value, origins map[string]string, prefix string, stack []string) {
	if r.ctx.Err() != nil {
		return
	}
	s := &scope{r: r, mod: m, vars: vars, origins: origins, locals: map[string]cty.Value{}}
	s.rebuild()
	s.evalLocals()
	for _, b := range m.resources {
		r.evalResource(s, b, prefix)
	}
	for _, b := range m.calls {
		r.evalCall(s, b, prefix, stack)
	}
}

// evalLocals evaluates locals in dependency order; those left in a cycle
// are unknown.
func (s *scope) evalLocals() {
	pending := slices.Clone(s.mod.locals)
	for len(pending) > 0 {
		waiting := map[string]bool{}
		for _, a := range pending {
			waiting[a.Name] = true
		}
		var next []*hcl.Attribute
		for _, a := range pending {
			if dependsOnLocal(a.Expr, waiting) {
				next = append(next, a)
				continue
			}
			v, _ := s.eval(a.Expr, instance{})
			s.locals[a.Name] = v
			delete(waiting, a.Name)
			s.rebuild()
		}
		if len(next) == len(pending) {
			for _, a := range next {
				s.locals[a.Name] = cty.DynamicVal
			}
			s.rebuild()
			return
		}
		pending = next
	}
}

func dependsOnLocal(expr hcl.Expression, waiting map[string]bool) bool {
	for _, t := range expr.Variables() {
		if t.RootName() != "local" || len(t) < 2 {
			continue
		}
		if a, ok := t[1].(hcl.TraverseAttr); ok && waiting[a.Name] {
			return true
		}
	}
	return false
}

// instance is one instance of a counted or for_each block.
type instance struct {
	key              string
	count            cty.Value
	eachKey, eachVal cty.Value
}

// eval evaluates expr in the scope. Names the scope does not define
// (resource types, data, module) are references to things that exist
// only after apply: unknown, and marked as set.
func (s *scope) eval(expr hcl.Expression, in instance) (cty.Value, hcl.Diagnostics) {
	ctx := s.base.NewChild()
	ctx.Variables = map[string]cty.Value{}
	if in.count != cty.NilVal {
		ctx.Variables["count"] = cty.ObjectVal(map[string]cty.Value{"index": in.count})
	}
	if in.eachKey != cty.NilVal {
		ctx.Variables["each"] = cty.ObjectVal(map[string]cty.Value{"key": in.eachKey, "value": in.eachVal})
	}
	for _, t := range expr.Variables() {
		root := t.RootName()
		if _, ok := s.base.Variables[root]; ok {
			continue
		}
		if _, ok := ctx.Variables[root]; ok {
			continue
		}
		switch root {
		case "count", "each", "self":
			ctx.Variables[root] = cty.DynamicVal
		default:
			ctx.Variables[root] = cty.DynamicVal.Mark(markSet)
		}
	}
	return expr.Value(ctx)
}

// instances expands count and for_each. An unknown count or for_each is
// evaluated once with unknown index or key.
func (s *scope) instances(count, forEach *hcl.Attribute) ([]instance, string) {
	unknownCount := []instance{{key: "[*]", count: cty.UnknownVal(cty.Number)}}
	unknownEach := []instance{{key: "[*]", eachKey: cty.UnknownVal(cty.String), eachVal: cty.DynamicVal}}
	switch {
	case count != nil:
		v, d := s.eval(count.Expr, instance{})
		v, _ = v.UnmarkDeep()
		if d.HasErrors() || !v.IsKnown() || v.IsNull() {
			return unknownCount, "count is not known before apply: evaluated once with an unknown index"
		}
		n, err := convert.Convert(v, cty.Number)
		if err != nil {
			return unknownCount, "count is not a number: evaluated once with an unknown index"
		}
		i, acc := n.AsBigFloat().Int64()
		if acc != big.Exact || i < 0 {
			return unknownCount, "count is not a whole number: evaluated once with an unknown index"
		}
		note := ""
		if i > maxInstances {
			note = fmt.Sprintf("count = %d: only the first %d instances are evaluated", i, maxInstances)
			i = maxInstances
		}
		out := make([]instance, 0, i)
		for k := int64(0); k < i; k++ {
			out = append(out, instance{key: fmt.Sprintf("[%d]", k), count: cty.NumberIntVal(k)})
		}
		return out, note
	case forEach != nil:
		v, d := s.eval(forEach.Expr, instance{})
		v, _ = v.Unmark()
		if d.HasErrors() || !v.IsKnown() || v.IsNull() {
			return unknownEach, "for_each is not known before apply: evaluated once with an unknown key"
		}
		ty := v.Type()
		isMap := ty.IsMapType() || ty.IsObjectType()
		if !isMap && !(ty.IsSetType() && v.IsWhollyKnown()) {
			return unknownEach, "for_each is not a map or a known set: evaluated once with an unknown key"
		}
		var out []instance
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			k, _ = k.Unmark()
			if !isMap {
				val = k
			}
			ks, err := convert.Convert(k, cty.String)
			if err != nil || ks.IsNull() || !ks.IsKnown() {
				return unknownEach, "for_each has keys that are not strings: evaluated once with an unknown key"
			}
			out = append(out, instance{key: fmt.Sprintf("[%q]", ks.AsString()), eachKey: ks, eachVal: val})
			if len(out) == maxInstances {
				return out, fmt.Sprintf("for_each: only the first %d instances are evaluated", maxInstances)
			}
		}
		return out, ""
	}
	return []instance{{}}, ""
}

func (r *run) evalResource(s *scope, b *hcl.Block, prefix string) {
	typ, name := b.Labels[0], b.Labels[1]
	nameAttr := model.TerraformNameAttr(typ)
	content, _, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "count"}, {Name: "for_each"}, {Name: "direct_internet_access"}, {Name: "subnet_id"},
		{Name: model.TerraformAppNetworkAccessType}, {Name: nameAttr},
	}})
	file, line := b.DefRange.Filename, b.DefRange.Start.Line
	if diags.HasErrors() || content == nil {
		r.errs = append(r.errs, diagErrors(file, diags)...)
		return
	}
	insts, note := s.instances(content.Attributes["count"], content.Attributes["for_each"])
	if len(insts) == 0 {
		return
	}
	sups := s.mod.suppressions(file, line)
	for _, in := range insts {
		nb := model.Notebook{
			File: file, Line: line, Kind: model.KindTerraform, Type: typ,
			Address:      prefix + typ + "." + name + in.key,
			Suppressions: sups,
		}
		if model.IsDomain(typ) {
			nb.AppNetworkAccessType = s.valueOf(content.Attributes[model.TerraformAppNetworkAccessType], in)
		} else {
			nb.DirectInternetAccess = s.valueOf(content.Attributes["direct_internet_access"], in)
			nb.SubnetID = s.valueOf(content.Attributes["subnet_id"], in)
		}
		if a := content.Attributes[nameAttr]; a != nil {
			if v, ok := s.valueOf(a, in).Single(); ok {
				nb.Name = v
			}
		}
		if note != "" {
			nb.Notes = append(nb.Notes, note)
		}
		if prefix != "" {
			nb.Notes = append(nb.Notes, "declared in a local module evaluated with its caller's inputs ("+
				strings.TrimSuffix(prefix, ".")+" of root module "+filepath.ToSlash(r.root)+")")
		}
		r.notebooks = append(r.notebooks, nb)
	}
}

// valueOf evaluates an attribute into every value it can take.
func (s *scope) valueOf(a *hcl.Attribute, in instance) model.Value {
	if a == nil {
		return model.Absent()
	}
	return model.Value{Expr: s.mod.text(a.Expr), Alts: s.alts(a.Expr, in, 0)}
}

func (s *scope) alts(expr hcl.Expression, in instance, depth int) []model.Alt {
	v, diags := s.eval(expr, in)
	if diags.HasErrors() {
		return []model.Alt{{Unknown: true, Why: "cannot be evaluated: " + diagMessage(diags[0])}}
	}
	if !v.IsKnown() && depth < maxBranches {
		// An undecided condition: follow both branches, so that a branch
		// that enables direct access fails whatever the condition.
		switch e := expr.(type) {
		case *hclsyntax.ParenthesesExpr:
			return s.alts(e.Expression, in, depth+1)
		case *hclsyntax.TemplateWrapExpr:
			return s.alts(e.Wrapped, in, depth+1)
		case *hclsyntax.ConditionalExpr:
			cond := s.mod.text(e.Condition)
			var out []model.Alt
			for _, alt := range s.alts(e.TrueResult, in, depth+1) {
				alt.Why = join("when "+cond+" is true, which is not known before apply", alt.Why)
				out = append(out, alt)
			}
			for _, alt := range s.alts(e.FalseResult, in, depth+1) {
				alt.Why = join("when "+cond+" is false, which is not known before apply", alt.Why)
				out = append(out, alt)
			}
			return out
		}
	}
	return []model.Alt{s.altOf(expr, v)}
}

func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

func (s *scope) altOf(expr hcl.Expression, v cty.Value) model.Alt {
	set := v.HasMark(markSet)
	v, _ = v.UnmarkDeep()
	why := s.origin(expr)
	if !v.IsKnown() {
		if why == "" {
			why = "known only after apply"
		}
		return model.Alt{Unknown: true, Set: set || !v.Range().CouldBeNull(), Why: why}
	}
	if v.IsNull() {
		return model.Alt{Absent: true, Why: join("null", why)}
	}
	if ty := v.Type(); ty == cty.Number || ty == cty.Bool {
		v, _ = convert.Convert(v, cty.String)
	}
	if v.Type() != cty.String {
		return model.Alt{Unknown: true, Why: "a " + v.Type().FriendlyName() + ", not a string"}
	}
	return model.Alt{Value: v.AsString(), Why: why}
}

// origin names where the variables an expression uses got their values.
func (s *scope) origin(expr hcl.Expression) string {
	var parts []string
	for _, t := range expr.Variables() {
		if t.RootName() != "var" || len(t) < 2 {
			continue
		}
		a, ok := t[1].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		if o, ok := s.origins[a.Name]; ok {
			p := "var." + a.Name + " from " + o
			if !slices.Contains(parts, p) {
				parts = append(parts, p)
			}
		}
	}
	return strings.Join(parts, "; ")
}

func (r *run) evalCall(s *scope, b *hcl.Block, prefix string, stack []string) {
	name := b.Labels[0]
	file, line := b.DefRange.Filename, b.DefRange.Start.Line
	content, remain, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "source"}, {Name: "version"}, {Name: "count"}, {Name: "for_each"}, {Name: "providers"}, {Name: "depends_on"},
	}})
	if diags.HasErrors() || content == nil || content.Attributes["source"] == nil {
		r.errs = append(r.errs, diagErrors(file, diags)...)
		return
	}
	sv, d := content.Attributes["source"].Expr.Value(nil)
	if d.HasErrors() || !sv.IsKnown() || sv.IsNull() || sv.Type() != cty.String {
		r.errorf(file, line, "module %q: source must be a literal string", name)
		return
	}
	src := sv.AsString()
	if !IsLocalSource(src) {
		return // remote modules are not fetched (docs/iac.md)
	}
	dir := filepath.Clean(filepath.Join(s.mod.dir, filepath.FromSlash(src)))
	if slices.Contains(stack, dir) {
		r.errorf(file, line, "module %q: source %q calls itself", name, src)
		return
	}
	if len(stack) > maxDepth {
		r.errorf(file, line, "module %q: modules nested more than %d deep", name, maxDepth)
		return
	}
	child := r.load(dir)
	if child == nil {
		return
	}
	attrs, diags := remain.JustAttributes()
	r.errs = append(r.errs, diagErrors(file, diags)...)
	insts, _ := s.instances(content.Attributes["count"], content.Attributes["for_each"])
	for _, in := range insts {
		given := map[string]cty.Value{}
		for _, a := range attrs {
			v, d := s.eval(a.Expr, in)
			if d.HasErrors() {
				v = cty.DynamicVal
			}
			given[a.Name] = v
		}
		vals := map[string]cty.Value{}
		origins := map[string]string{}
		for _, v := range child.vars {
			if g, ok := given[v.name]; ok {
				out, err := v.convert(g)
				if err != nil {
					out = cty.UnknownVal(v.ty)
				}
				vals[v.name] = out
				origins[v.name] = fmt.Sprintf("module %q input at %s:%d", name, file, attrs[v.name].Range.Start.Line)
				continue
			}
			if v.def != nil {
				vals[v.name], origins[v.name] = defaultValue(v), "its default"
				continue
			}
			vals[v.name], origins[v.name] = cty.UnknownVal(v.ty), fmt.Sprintf("nothing: module %q does not set this required input", name)
		}
		r.evalModule(child, vals, origins, prefix+"module."+name+in.key+".", append(slices.Clone(stack), dir))
	}
}

// text is an expression's source, shortened.
func (m *module) text(expr hcl.Expression) string {
	rng := expr.Range()
	src := m.sources[rng.Filename]
	if rng.Start.Byte < 0 || rng.End.Byte > len(src) || rng.Start.Byte > rng.End.Byte {
		return ""
	}
	return model.Shorten(string(src[rng.Start.Byte:rng.End.Byte]))
}
