// Package exceptions owns suppression rules: a YAML file of exceptions, each
// matching notebooks by account, region, name glob and tags, with the reason,
// owner and expiry date that make the exception auditable. Applying a set to
// a report turns matching FAIL and REVIEW results into MUTED (keeping what
// they would have been); expired exceptions stop muting and are reported.
//
// The file looks like:
//
//	exceptions:
//	  - match: {account: "111111111111", region: us-east-1, name: "vendor-*", tags: {approved: SEC-1234}}
//	    reason: Vendor package mirror needs internet access (SEC-1234)
//	    owner: ml-platform@example.com
//	    expires: 2025-06-30
package exceptions

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sagefence/sagefence/internal/finding"
)

// Source is the Mute.Source of results muted by an exception.
const Source = "exception"

// Set is a parsed exceptions file.
type Set struct {
	File       string
	Exceptions []Exception
}

// Exception is one entry of the file.
type Exception struct {
	Match Match
	// Reason, Owner and Expires are required.
	Reason string
	Owner  string
	// Expires is the last day (UTC) on which the exception mutes.
	Expires time.Time
	// Line is where the entry starts in File.
	Line int
}

// Match selects results. Every non-empty field must hold.
type Match struct {
	// Type is the resource type (finding.ResourceTypes) the exception
	// covers. Empty means notebook instances: exceptions were written for
	// them before Studio domains were scanned, and must not start muting
	// a domain or user profile that happens to share a name or tags.
	Type    string
	Account string
	Region  string
	// Name is a path.Match glob over the notebook name.
	Name string
	// Tags must all be present on the notebook with exactly these values.
	Tags map[string]string
}

// ParseError is a problem in the file, with its location.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// Load reads and parses the exceptions file at path.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading exceptions: %w", err)
	}
	return Parse(path, data)
}

// Parse parses an exceptions file; name is used in error messages. All
// problems are reported, each as a *ParseError naming file:line.
func Parse(name string, data []byte) (*Set, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ParseError{File: name, Line: yamlErrorLine(err), Msg: err.Error()}
	}
	set := &Set{File: name}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &ParseError{File: name, Msg: "empty file: want a top-level \"exceptions:\" list"}
	}
	root := doc.Content[0]
	p := parser{file: name}
	if root.Kind != yaml.MappingNode {
		return nil, p.errAt(root, "want a mapping with an \"exceptions\" list at the top level")
	}
	var list *yaml.Node
	for key, val := range p.fields(root) {
		switch key.Value {
		case "exceptions":
			list = val
		default:
			p.add(key, "unknown top-level key %q (want \"exceptions\")", key.Value)
		}
	}
	if list == nil && len(p.errs) == 0 {
		p.add(root, "missing \"exceptions\" list")
	}
	if list != nil {
		if list.Kind != yaml.SequenceNode {
			if !(list.Kind == yaml.ScalarNode && list.Tag == "!!null") {
				p.add(list, "\"exceptions\" must be a list")
			}
		} else {
			for i, item := range list.Content {
				if e, ok := p.exception(i+1, item); ok {
					set.Exceptions = append(set.Exceptions, e)
				}
			}
		}
	}
	if err := errors.Join(p.errs...); err != nil {
		return nil, err
	}
	return set, nil
}

type parser struct {
	file string
	errs []error
}

func (p *parser) errAt(n *yaml.Node, format string, args ...any) error {
	return &ParseError{File: p.file, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) add(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, p.errAt(n, format, args...))
}

// fields yields a mapping's key/value pairs, reporting duplicate keys.
func (p *parser) fields(m *yaml.Node) func(yield func(k, v *yaml.Node) bool) {
	return func(yield func(k, v *yaml.Node) bool) {
		seen := map[string]bool{}
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if seen[k.Value] {
				p.add(k, "duplicate key %q", k.Value)
				continue
			}
			seen[k.Value] = true
			if !yield(k, v) {
				return
			}
		}
	}
}

func (p *parser) scalar(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.add(n, "%s must be a single value", what)
		return "", false
	}
	return strings.TrimSpace(n.Value), true
}

func (p *parser) exception(idx int, n *yaml.Node) (Exception, bool) {
	e := Exception{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		p.add(n, "exception %d must be a mapping with match, reason, owner and expires", idx)
		return e, false
	}
	before := len(p.errs)
	var haveMatch, haveExpires bool
	for k, v := range p.fields(n) {
		switch k.Value {
		case "match":
			haveMatch = true
			e.Match = p.match(idx, v)
		case "reason":
			e.Reason, _ = p.scalar(v, "reason")
		case "owner":
			e.Owner, _ = p.scalar(v, "owner")
		case "expires":
			haveExpires = true
			s, ok := p.scalar(v, "expires")
			if !ok {
				continue
			}
			t, err := time.Parse(time.DateOnly, s)
			if err != nil {
				p.add(v, "exception %d: expires %q is not a date (want YYYY-MM-DD)", idx, s)
				continue
			}
			e.Expires = t
		default:
			p.add(k, "exception %d: unknown key %q (want match, reason, owner, expires)", idx, k.Value)
		}
	}
	if !haveMatch {
		p.add(n, "exception %d: missing required field \"match\"", idx)
	}
	if e.Reason == "" {
		p.add(n, "exception %d: missing required field \"reason\"", idx)
	}
	if e.Owner == "" {
		p.add(n, "exception %d: missing required field \"owner\"", idx)
	}
	if !haveExpires {
		p.add(n, "exception %d: missing required field \"expires\"", idx)
	}
	return e, len(p.errs) == before
}

func (p *parser) match(idx int, n *yaml.Node) Match {
	var m Match
	if n.Kind != yaml.MappingNode {
		p.add(n, "exception %d: match must be a mapping of type, account, region, name, tags", idx)
		return m
	}
	for k, v := range p.fields(n) {
		switch k.Value {
		case "account":
			m.Account, _ = p.scalar(v, "match.account")
			if m.Account != "" && (len(m.Account) != 12 || strings.Trim(m.Account, "0123456789") != "") {
				p.add(v, "exception %d: match.account %q is not a 12-digit AWS account ID (quote it in YAML to keep leading zeros)", idx, m.Account)
			}
		case "type":
			m.Type, _ = p.scalar(v, "match.type")
			if !slices.Contains(finding.ResourceTypes(), m.Type) {
				p.add(v, "exception %d: match.type %q is not a resource type sagefence reports (want %s)", idx, m.Type, strings.Join(finding.ResourceTypes(), ", "))
			}
		case "region":
			m.Region, _ = p.scalar(v, "match.region")
		case "name":
			m.Name, _ = p.scalar(v, "match.name")
			if _, err := path.Match(m.Name, ""); err != nil {
				p.add(v, "exception %d: match.name %q is not a valid glob: %v", idx, m.Name, err)
			}
		case "tags":
			if v.Kind != yaml.MappingNode {
				p.add(v, "exception %d: match.tags must be a mapping of tag key to value", idx)
				continue
			}
			m.Tags = map[string]string{}
			for tk, tv := range p.fields(v) {
				val, ok := p.scalar(tv, "tag value")
				if ok {
					m.Tags[tk.Value] = val
				}
			}
		default:
			p.add(k, "exception %d: unknown match key %q (want type, account, region, name, tags)", idx, k.Value)
		}
	}
	if m.Type == "" && m.Account == "" && m.Region == "" && m.Name == "" && len(m.Tags) == 0 {
		p.add(n, "exception %d: match is empty; an exception must name what it covers", idx)
	}
	return m
}

// yamlErrorLine pulls the line number out of a yaml.v3 syntax error
// ("yaml: line 3: ...").
func yamlErrorLine(err error) int {
	var line int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		_, _ = fmt.Sscanf(msg[i:], "line %d", &line)
	}
	return line
}

// Matches reports whether the exception's match holds for res.
func (m Match) Matches(res *finding.Result) bool {
	if cmp.Or(m.Type, finding.ResourceType) != cmp.Or(res.Resource.Type, finding.ResourceType) {
		return false
	}
	if m.Account != "" && m.Account != res.AccountID {
		return false
	}
	if m.Region != "" && m.Region != res.Region {
		return false
	}
	if m.Name != "" {
		if ok, err := path.Match(m.Name, res.Resource.Name); err != nil || !ok {
			return false
		}
	}
	for k, v := range m.Tags {
		got, ok := res.Resource.Tags[k]
		if !ok || got != v {
			return false
		}
	}
	return true
}

// String describes the match, e.g. "account=111111111111 name=dev-* tag:team=ml".
func (m Match) String() string {
	var parts []string
	if m.Type != "" {
		parts = append(parts, "type="+m.Type)
	}
	if m.Account != "" {
		parts = append(parts, "account="+m.Account)
	}
	if m.Region != "" {
		parts = append(parts, "region="+m.Region)
	}
	if m.Name != "" {
		parts = append(parts, "name="+m.Name)
	}
	keys := make([]string, 0, len(m.Tags))
	for k := range m.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, "tag:"+k+"="+m.Tags[k])
	}
	return strings.Join(parts, " ")
}

// Expired reports whether the exception no longer applies at now: it mutes
// through the whole of its expiry day (UTC).
func (e Exception) Expired(now time.Time) bool {
	return !now.UTC().Before(e.Expires.AddDate(0, 0, 1))
}

// Apply mutes r's FAIL and REVIEW results that an unexpired exception of set
// matches (the first one in file order wins), records every expired
// exception in r.ExpiredExceptions with the results it would still have
// muted, and recomputes the summary. PASS and ERROR results are never muted:
// an exception must not hide a notebook that could not be evaluated.
// A nil set leaves the report as it is.
func Apply(r *finding.Report, set *Set, now time.Time) {
	if set == nil {
		return
	}
	var expired []finding.ExpiredException
	for _, e := range set.Exceptions {
		if !e.Expired(now) {
			continue
		}
		x := finding.ExpiredException{
			Source: fmt.Sprintf("%s:%d", set.File, e.Line), Match: e.Match.String(),
			Reason: e.Reason, Owner: e.Owner, Expires: e.Expires.Format(time.DateOnly),
		}
		for i := range r.Results {
			res := &r.Results[i]
			if mutable(res) && e.Match.Matches(res) {
				id := res.Resource.ARN
				if id == "" {
					id = res.Resource.Name
				}
				x.Resources = append(x.Resources, id)
			}
		}
		expired = append(expired, x)
	}
	for i := range r.Results {
		res := &r.Results[i]
		if res.Status != finding.StatusFail && res.Status != finding.StatusReview {
			continue
		}
		for _, e := range set.Exceptions {
			if e.Expired(now) || !e.Match.Matches(res) {
				continue
			}
			res.UnmutedStatus = res.Status
			res.Status = finding.StatusMuted
			res.Mute = &finding.Mute{Reason: e.Reason, Owner: e.Owner, Expires: e.Expires.Format(time.DateOnly), Source: Source}
			break
		}
	}
	r.ExpiredExceptions = expired
	r.Summarize()
}

// mutable reports whether an exception could mute res: FAIL or REVIEW, or
// already muted by an exception (a re-application).
func mutable(res *finding.Result) bool {
	switch res.Status {
	case finding.StatusFail, finding.StatusReview:
		return true
	case finding.StatusMuted:
		return res.Mute != nil && res.Mute.Source == Source
	}
	return false
}
