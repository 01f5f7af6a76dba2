// Package iac is "sagefence iac": it finds Terraform configuration,
// Terraform plans (JSON) and CloudFormation/CDK templates under the given
// paths, has each source's adapter extract the notebook instances and
// SageMaker Studio domains they declare (internal/iac/terraform, tfplan,
// cloudformation), and decides each control's direct-internet-access check
// from configuration alone (DirectInternetAccess for notebooks,
// AppNetworkAccessType for domains), in the live scan's vocabulary
// (finding.Result), before anything is deployed.
//
// Files are processed as a stream by a bounded pool of workers: each worker
// parses one source (a file, or a Terraform root module with its local
// modules), keeps only the results, and drops the parsed form, so memory
// follows the largest source, not the size of the tree.
package iac

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sagefence/sagefence/internal/control"
	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/iac/cloudformation"
	"github.com/sagefence/sagefence/internal/iac/model"
	"github.com/sagefence/sagefence/internal/iac/terraform"
	"github.com/sagefence/sagefence/internal/iac/tfplan"
)

// Unresolved says what an UNKNOWN verdict (a value decided only at
// deployment) is reported as.
type Unresolved string

// Unresolved policies.
const (
	UnresolvedReview Unresolved = "review"
	UnresolvedFail   Unresolved = "fail"
	UnresolvedPass   Unresolved = "pass"
)

// UnresolvedPolicies lists the valid --unresolved values.
func UnresolvedPolicies() []string {
	return []string{string(UnresolvedReview), string(UnresolvedFail), string(UnresolvedPass)}
}

// maxFileSize bounds one source file; a larger one is reported, not read.
const maxFileSize = 256 << 20

// Options configure a scan.
type Options struct {
	// Inputs are the Terraform root-module variables from the command line.
	Inputs *terraform.Inputs
	// Params override CloudFormation parameters (from --var NAME=VALUE).
	Params map[string]string
	// Unresolved is the policy for unknown values (default review).
	Unresolved Unresolved
	// Concurrency is the number of sources processed at once (default
	// GOMAXPROCS).
	Concurrency int
	// Compliance is each control's compliance mapping, by control ID; a
	// result carries its control's.
	Compliance map[string]map[string][]string
}

// Scanner scans paths for notebook instances declared as code.
type Scanner struct {
	opts Options
	tf   *terraform.Evaluator
}

// New returns a Scanner.
func New(opts Options) *Scanner {
	if opts.Unresolved == "" {
		opts.Unresolved = UnresolvedReview
	}
	if opts.Concurrency < 1 {
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	return &Scanner{opts: opts, tf: terraform.New(opts.Inputs)}
}

// unit is one source to evaluate.
type unit struct {
	// tfRoot is a Terraform root module directory; else path is a file.
	tfRoot   string
	path     string
	explicit bool
}

// Scan evaluates every source under paths (files or directories, walked
// recursively; .git, .terraform and node_modules are skipped). The results
// are sorted by file, line and address. A path that cannot be read at all
// is an error (the caller checks paths first); a source that cannot be
// parsed is a finding.Error naming file:line, and the scan goes on.
func (s *Scanner) Scan(ctx context.Context, paths []string) ([]finding.Result, []finding.Error, error) {
	tfDirs := map[string]bool{}
	var files []unit
	seen := map[string]bool{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p, err)
		}
		if !st.IsDir() {
			if terraform.IsConfigFile(p) {
				tfDirs[filepath.Clean(filepath.Dir(p))] = true
			} else if !seen[filepath.Clean(p)] {
				seen[filepath.Clean(p)] = true
				files = append(files, unit{path: filepath.Clean(p), explicit: true})
			}
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			name := d.Name()
			if d.IsDir() {
				if path != p && (name == ".git" || name == ".terraform" || name == "node_modules") {
					return filepath.SkipDir
				}
				return nil
			}
			switch {
			case terraform.IsConfigFile(name):
				tfDirs[filepath.Dir(path)] = true
			case isDataFile(name) && !seen[path]:
				seen[path] = true
				files = append(files, unit{path: path})
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("walking %s: %w", p, err)
		}
	}

	units := s.terraformRoots(ctx, tfDirs)
	units = append(units, files...)

	var (
		mu      sync.Mutex
		results []finding.Result
		errs    []finding.Error
	)
	work := make(chan unit)
	var wg sync.WaitGroup
	for range min(s.opts.Concurrency, max(len(units), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range work {
				nbs, merrs := s.evaluate(ctx, u)
				res := make([]finding.Result, 0, len(nbs))
				for i := range nbs {
					res = append(res, s.Verdict(&nbs[i]))
				}
				mu.Lock()
				results = append(results, res...)
				for _, e := range merrs {
					errs = append(errs, toError(e))
				}
				mu.Unlock()
			}
		}()
	}
	for _, u := range units {
		if ctx.Err() != nil {
			break
		}
		work <- u
	}
	close(work)
	wg.Wait()

	slices.SortFunc(results, func(a, b finding.Result) int {
		if c := strings.Compare(a.Resource.File, b.Resource.File); c != 0 {
			return c
		}
		if a.Resource.Line != b.Resource.Line {
			return a.Resource.Line - b.Resource.Line
		}
		if c := strings.Compare(a.Resource.Address, b.Resource.Address); c != 0 {
			return c
		}
		// A module called from two roots declares the same address twice.
		return slices.Compare(a.Evidence.Notes, b.Evidence.Notes)
	})
	slices.SortFunc(errs, func(a, b finding.Error) int {
		if c := strings.Compare(a.Resource, b.Resource); c != 0 {
			return c
		}
		return strings.Compare(a.Message, b.Message)
	})
	errs = slices.CompactFunc(errs, func(a, b finding.Error) bool { return a == b })
	return results, errs, ctx.Err()
}

// isDataFile says whether a file may be a plan or a template.
func isDataFile(name string) bool {
	if strings.HasSuffix(name, ".tfvars.json") {
		return false
	}
	for _, ext := range []string{".json", ".yaml", ".yml", ".template"} {
		if strings.HasSuffix(strings.ToLower(name), ext) {
			return true
		}
	}
	return false
}

// terraformRoots returns the module directories that no other scanned
// directory calls as a local module: those are evaluated standalone; the
// others only with their callers' inputs.
func (s *Scanner) terraformRoots(ctx context.Context, dirs map[string]bool) []unit {
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	slices.Sort(list)
	called := map[string]bool{}
	var mu sync.Mutex
	work := make(chan string)
	var wg sync.WaitGroup
	for range min(s.opts.Concurrency, max(len(list), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				calls := terraform.LocalCalls(ctx, d)
				mu.Lock()
				for _, c := range calls {
					if c != d {
						called[c] = true
					}
				}
				mu.Unlock()
			}
		}()
	}
	for _, d := range list {
		work <- d
	}
	close(work)
	wg.Wait()
	var out []unit
	for _, d := range list {
		if !called[d] {
			out = append(out, unit{tfRoot: d})
		}
	}
	return out
}

func (s *Scanner) evaluate(ctx context.Context, u unit) ([]model.Notebook, []model.Error) {
	if ctx.Err() != nil {
		return nil, nil
	}
	if u.tfRoot != "" {
		return s.tf.EvaluateRoot(ctx, u.tfRoot)
	}
	return s.evaluateFile(u.path, u.explicit)
}

// evaluateFile reads one plan or template. A file that is neither is
// skipped, unless it was named on the command line or looks like one.
func (s *Scanner) evaluateFile(path string, explicit bool) (nbs []model.Notebook, errs []model.Error) {
	defer func() {
		if p := recover(); p != nil {
			nbs, errs = nil, []model.Error{{File: path, Msg: fmt.Sprintf("internal error reading the file: %v", p)}}
		}
	}()
	st, err := os.Stat(path)
	if err != nil {
		return nil, []model.Error{{File: path, Msg: err.Error()}}
	}
	if st.Size() > maxFileSize {
		return nil, []model.Error{{File: path, Msg: fmt.Sprintf("file is larger than %d MiB: not read", maxFileSize>>20)}}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []model.Error{{File: path, Msg: err.Error()}}
	}
	return s.EvaluateData(path, data, explicit)
}

// EvaluateData evaluates the content of one plan or template file.
func (s *Scanner) EvaluateData(path string, data []byte, explicit bool) ([]model.Notebook, []model.Error) {
	name := filepath.ToSlash(path)
	// Editors on Windows write a byte-order mark that JSON decoders refuse.
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if tfplan.Detect(data) {
		nbs, err := tfplan.Notebooks(name, data)
		if err != nil {
			return nil, []model.Error{asModelError(name, err)}
		}
		return nbs, nil
	}
	doc, err := cloudformation.Decode(name, data)
	if err != nil {
		if explicit || looksLikeTemplate(data) {
			return nil, []model.Error{asModelError(name, err)}
		}
		return nil, nil
	}
	if !cloudformation.IsTemplate(doc) {
		if explicit {
			return nil, []model.Error{{File: name, Msg: "not a Terraform plan (terraform show -json) or a CloudFormation template: nothing evaluated"}}
		}
		return nil, nil
	}
	cdk := strings.Contains("/"+name, "/cdk.out/")
	return cloudformation.Notebooks(name, doc, cloudformation.Options{Params: s.opts.Params, CDK: cdk})
}

func looksLikeTemplate(data []byte) bool {
	return bytes.Contains(data, []byte("AWSTemplateFormatVersion")) || bytes.Contains(data, []byte("AWS::")) ||
		bytes.Contains(data, []byte("Resources")) || bytes.Contains(data, []byte(`"format_version"`))
}

func asModelError(file string, err error) model.Error {
	switch e := err.(type) {
	case model.Error:
		return e
	case *cloudformation.SyntaxError:
		return model.Error{File: e.File, Line: e.Line, Msg: e.Msg}
	}
	return model.Error{File: file, Msg: err.Error()}
}

// toError is a source problem in the report's errors: Resource is the
// location, Message starts with it so that one line says everything.
func toError(e model.Error) finding.Error {
	e.File = filepath.ToSlash(e.File)
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return finding.Error{Operation: "iac", Resource: loc, Message: e.Error()}
}

// Compliance is the compliance mapping of each control the IaC rules
// decide (the embedded catalog of internal/control), by control ID, in the
// form every result carries.
func Compliance() (map[string]map[string][]string, error) {
	out := map[string]map[string][]string{}
	for _, id := range []string{finding.ControlID, finding.ControlIDStudio} {
		catalog, err := control.CatalogFor(id)
		if err != nil {
			return nil, fmt.Errorf("compliance of %s: %w", id, err)
		}
		m := make(map[string][]string, len(catalog))
		for _, fw := range catalog {
			m[fw.Key] = fw.IDs
		}
		out[id] = m
	}
	return out, nil
}

// Profile is the report profile of an IaC scan: configuration alone
// decides direct-internet-access; the VPC path is checked after deployment
// by sagefence scan.
const Profile = "iac"

// NewReport assembles the report of a scan (summary included).
func NewReport(tool finding.Tool, started, finished time.Time, results []finding.Result, errs []finding.Error) *finding.Report {
	rep := &finding.Report{
		SchemaVersion: finding.SchemaVersion, Tool: tool, Profile: Profile,
		StartedAt: started, FinishedAt: finished, Results: results, Errors: errs,
	}
	rep.Summarize()
	return rep
}
