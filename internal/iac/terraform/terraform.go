// Package terraform reads Terraform configuration (.tf and .tf.json) with
// hashicorp/hcl/v2 and statically evaluates the SageMaker notebook instances
// and Studio domains it declares: variables (defaults, terraform.tfvars, *.auto.tfvars, then
// --var-file and --var in command-line order), locals, conditionals, count
// and for_each, the functions of go-cty's standard library, and local child
// modules evaluated with their caller's inputs. References to other
// resources, data sources and module outputs are unknown until apply; a
// value that depends on them is reported as unknown, never guessed.
package terraform

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/sagefence/sagefence/internal/iac/model"
)

// VarArg is one --var-file or --var argument, kept in command-line order
// because later ones win.
type VarArg struct {
	// File is set for --var-file.
	File string
	// Name and Value are set for --var NAME=VALUE.
	Name, Value string
}

// Inputs are the root-module variable values given on the command line,
// parsed once for every root module.
type Inputs struct {
	vals []input
}

// input is one variable assignment.
type input struct {
	name string
	// raw is a --var value: Terraform reads it as a literal string for
	// primitive types and as an HCL expression for the others.
	raw   string
	isRaw bool
	val   cty.Value
	// source is where the assignment is written ("--var", "file:line").
	source string
}

// ParseInputs reads the --var-file files and splits the --var arguments.
// An error means the command line cannot be honoured (exit 2).
func ParseInputs(ctx context.Context, args []VarArg) (*Inputs, error) {
	in := &Inputs{}
	for _, a := range args {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if a.File == "" {
			in.vals = append(in.vals, input{name: a.Name, raw: a.Value, isRaw: true, source: "--var " + a.Name})
			continue
		}
		data, err := os.ReadFile(a.File)
		if err != nil {
			return nil, fmt.Errorf("--var-file %s: %w", a.File, err)
		}
		vals, errs := parseVarFile(a.File, data)
		if len(errs) > 0 {
			return nil, fmt.Errorf("--var-file: %w", errs[0])
		}
		in.vals = append(in.vals, vals...)
	}
	return in, nil
}

// parseVarFile parses a .tfvars or .tfvars.json file: literal values only,
// as Terraform allows.
func parseVarFile(name string, data []byte) ([]input, []model.Error) {
	f, diags := parse(name, data)
	if diags.HasErrors() {
		return nil, diagErrors(name, diags)
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return nil, diagErrors(name, diags)
	}
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	slices.SortFunc(list, func(a, b *hcl.Attribute) int { return a.Range.Start.Byte - b.Range.Start.Byte })
	var out []input
	var errs []model.Error
	for _, a := range list {
		v, d := a.Expr.Value(nil)
		if d.HasErrors() {
			errs = append(errs, diagErrors(name, d)...)
			continue
		}
		out = append(out, input{name: a.Name, val: v, source: fmt.Sprintf("%s:%d", name, a.Range.Start.Line)})
	}
	return out, errs
}

// parse parses HCL native syntax, or JSON syntax for names ending in .json.
func parse(name string, data []byte) (*hcl.File, hcl.Diagnostics) {
	if strings.HasSuffix(name, ".json") {
		return hcljson.Parse(data, name)
	}
	return hclsyntax.ParseConfig(data, name, hcl.InitialPos)
}

// Functions returns the functions expressions may call: those of go-cty's
// standard library under their Terraform names, with try and can. Functions
// that read files or the clock are absent; a call to one is an unknown
// value, not an error.
func Functions() map[string]function.Function {
	return map[string]function.Function{
		"abs":             stdlib.AbsoluteFunc,
		"can":             tryfunc.CanFunc,
		"ceil":            stdlib.CeilFunc,
		"chomp":           stdlib.ChompFunc,
		"chunklist":       stdlib.ChunklistFunc,
		"coalesce":        stdlib.CoalesceFunc,
		"coalescelist":    stdlib.CoalesceListFunc,
		"compact":         stdlib.CompactFunc,
		"concat":          stdlib.ConcatFunc,
		"contains":        stdlib.ContainsFunc,
		"csvdecode":       stdlib.CSVDecodeFunc,
		"distinct":        stdlib.DistinctFunc,
		"element":         stdlib.ElementFunc,
		"flatten":         stdlib.FlattenFunc,
		"floor":           stdlib.FloorFunc,
		"format":          stdlib.FormatFunc,
		"formatdate":      stdlib.FormatDateFunc,
		"formatlist":      stdlib.FormatListFunc,
		"indent":          boundedIndent(),
		"join":            stdlib.JoinFunc,
		"jsondecode":      stdlib.JSONDecodeFunc,
		"jsonencode":      stdlib.JSONEncodeFunc,
		"keys":            stdlib.KeysFunc,
		"length":          stdlib.LengthFunc,
		"log":             stdlib.LogFunc,
		"lookup":          stdlib.LookupFunc,
		"lower":           stdlib.LowerFunc,
		"max":             stdlib.MaxFunc,
		"merge":           stdlib.MergeFunc,
		"min":             stdlib.MinFunc,
		"parseint":        stdlib.ParseIntFunc,
		"pow":             stdlib.PowFunc,
		"range":           stdlib.RangeFunc,
		"regex":           stdlib.RegexFunc,
		"regexall":        stdlib.RegexAllFunc,
		"replace":         stdlib.ReplaceFunc,
		"reverse":         stdlib.ReverseListFunc,
		"setintersection": stdlib.SetIntersectionFunc,
		"setproduct":      stdlib.SetProductFunc,
		"setsubtract":     stdlib.SetSubtractFunc,
		"setunion":        stdlib.SetUnionFunc,
		"signum":          stdlib.SignumFunc,
		"slice":           stdlib.SliceFunc,
		"sort":            stdlib.SortFunc,
		"split":           stdlib.SplitFunc,
		"strlen":          stdlib.StrlenFunc,
		"strrev":          stdlib.ReverseFunc,
		"substr":          stdlib.SubstrFunc,
		"timeadd":         stdlib.TimeAddFunc,
		"title":           stdlib.TitleFunc,
		"tobool":          stdlib.MakeToFunc(cty.Bool),
		"tolist":          stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":           stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tonumber":        stdlib.MakeToFunc(cty.Number),
		"toset":           stdlib.MakeToFunc(cty.Set(cty.DynamicPseudoType)),
		"tostring":        stdlib.MakeToFunc(cty.String),
		"trim":            stdlib.TrimFunc,
		"trimprefix":      stdlib.TrimPrefixFunc,
		"trimspace":       stdlib.TrimSpaceFunc,
		"trimsuffix":      stdlib.TrimSuffixFunc,
		"try":             tryfunc.TryFunc,
		"upper":           stdlib.UpperFunc,
		"values":          stdlib.ValuesFunc,
		"zipmap":          stdlib.ZipmapFunc,
	}
}

// diagErrors turns HCL error diagnostics into file:line errors.
func diagErrors(file string, diags hcl.Diagnostics) []model.Error {
	var out []model.Error
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		e := model.Error{File: file, Msg: diagMessage(d)}
		if d.Subject != nil {
			if d.Subject.Filename != "" {
				e.File = d.Subject.Filename
			}
			e.Line = d.Subject.Start.Line
		}
		out = append(out, e)
	}
	return out
}

func diagMessage(d *hcl.Diagnostic) string {
	msg := d.Summary
	if d.Detail != "" {
		msg += ": " + d.Detail
	}
	return msg
}

// IsLocalSource reports whether a module source is a local path, the only
// kind evaluated (registry and remote modules are not fetched).
func IsLocalSource(src string) bool {
	return strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../") ||
		strings.HasPrefix(src, `.\`) || strings.HasPrefix(src, `..\`)
}

// LocalCalls returns the directories that dir's module blocks call by a
// local source, cleaned. It reads only the files that mention "module";
// problems are left for the evaluation to report.
func LocalCalls(ctx context.Context, dir string) []string {
	names, err := configFiles(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, name := range names {
		if ctx.Err() != nil {
			return out
		}
		data, err := os.ReadFile(name)
		if err != nil || !bytes.Contains(data, []byte("module")) {
			continue
		}
		f, diags := parse(name, data)
		if diags.HasErrors() || f == nil {
			continue
		}
		content, _, _ := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "module", LabelNames: []string{"name"}}}})
		if content == nil {
			continue
		}
		for _, b := range content.Blocks {
			attrs, _, _ := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "source"}}})
			if attrs == nil || attrs.Attributes["source"] == nil {
				continue
			}
			v, d := attrs.Attributes["source"].Expr.Value(nil)
			if d.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
				continue
			}
			if src := v.AsString(); IsLocalSource(src) {
				out = append(out, filepath.Clean(filepath.Join(dir, filepath.FromSlash(src))))
			}
		}
	}
	return out
}

// configFiles lists a module directory's .tf and .tf.json files, sorted.
func configFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if n := e.Name(); IsConfigFile(n) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	slices.Sort(out)
	return out, nil
}

// IsConfigFile reports whether a file name is Terraform configuration.
func IsConfigFile(name string) bool {
	return strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")
}

// boundedIndent is indent refusing more than 1024 spaces: unbounded, one
// line of configuration could make gigabytes of text.
func boundedIndent() function.Function {
	return function.New(&function.Spec{
		Params: stdlib.IndentFunc.Params(),
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if n, _ := args[0].AsBigFloat().Int64(); n > 1024 {
				return cty.UnknownVal(cty.String), fmt.Errorf("indent: %d spaces is more than 1024", n)
			}
			return stdlib.IndentFunc.Call(args)
		},
	})
}
