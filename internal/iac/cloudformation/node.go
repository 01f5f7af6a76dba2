// Package cloudformation reads CloudFormation templates (JSON and YAML,
// including CDK's cdk.out/*.template.json) and statically resolves the
// intrinsic functions that decide a notebook instance's DirectInternetAccess
// and SubnetId: Ref (parameters with AllowedValues or Default, pseudo
// parameters, resources), Fn::If over Conditions decidable from parameter
// defaults (otherwise every branch), Fn::Sub, Fn::Join, Fn::Select,
// Fn::Split and Fn::FindInMap. YAML short-form tags (!Ref, !If, !Sub, ...)
// are read as their long forms. Values known only at deployment (Fn::GetAtt,
// Fn::ImportValue, ...) are unknown, never guessed.
package cloudformation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Kind is a document node's kind.
type Kind uint8

// Node kinds.
const (
	Null Kind = iota
	Scalar
	Seq
	Map
)

// Node is a template document node with its source line, the common form
// of JSON and YAML templates.
type Node struct {
	Kind  Kind
	Str   string
	Items []*Node
	// Keys, KeyLines and Vals are a mapping's entries in document order.
	Keys     []string
	KeyLines []int
	Vals     []*Node
	Line     int
}

// Get returns the value of key in a mapping, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != Map {
		return nil
	}
	for i, k := range n.Keys {
		if k == key {
			return n.Vals[i]
		}
	}
	return nil
}

// SyntaxError is a template that is not well-formed JSON or YAML.
type SyntaxError struct {
	File string
	Line int
	Msg  string
}

func (e *SyntaxError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return e.File + ": " + e.Msg
}

// nodeBudget bounds a document's nodes after YAML alias expansion, so that
// a "billion laughs" document costs an error, not the machine: without
// aliases a document has fewer nodes than bytes.
func nodeBudget(data []byte) int { return len(data) + 10_000 }

// Decode parses a JSON or YAML document (JSON when it starts with '{').
func Decode(name string, data []byte) (*Node, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if bytes.HasPrefix(trimmed, []byte("{")) {
		return decodeJSON(name, data)
	}
	return decodeYAML(name, data)
}

func decodeYAML(name string, data []byte) (n *Node, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := yamlErrorLine(err)
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimPrefix(msg, fmt.Sprintf("line %d: ", line))
		return nil, &SyntaxError{File: name, Line: line, Msg: "not valid YAML: " + msg}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return &Node{Kind: Null}, nil
	}
	c := &yconv{name: name, budget: nodeBudget(data)}
	out := c.conv(doc.Content[0], 0)
	if c.err != nil {
		return nil, c.err
	}
	return out, nil
}

type yconv struct {
	name   string
	budget int
	err    error
}

func (c *yconv) conv(y *yaml.Node, depth int) *Node {
	c.budget--
	if c.err != nil || y == nil {
		return &Node{Kind: Null}
	}
	if c.budget < 0 || depth > 1000 {
		c.err = &SyntaxError{File: c.name, Line: y.Line, Msg: "document too large or too deeply nested (YAML aliases?)"}
		return &Node{Kind: Null}
	}
	var n *Node
	switch y.Kind {
	case yaml.AliasNode:
		return c.conv(y.Alias, depth+1)
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &Node{Kind: Null, Line: y.Line}
		}
		return c.conv(y.Content[0], depth+1)
	case yaml.ScalarNode:
		if y.ShortTag() == "!!null" {
			n = &Node{Kind: Null, Line: y.Line}
		} else {
			n = &Node{Kind: Scalar, Str: y.Value, Line: y.Line}
		}
	case yaml.SequenceNode:
		n = &Node{Kind: Seq, Line: y.Line, Items: make([]*Node, 0, len(y.Content))}
		for _, item := range y.Content {
			n.Items = append(n.Items, c.conv(item, depth+1))
		}
	case yaml.MappingNode:
		n = &Node{Kind: Map, Line: y.Line}
		for i := 0; i+1 < len(y.Content); i += 2 {
			k := y.Content[i]
			for k.Kind == yaml.AliasNode && k.Alias != nil && depth < 1000 {
				k = k.Alias
			}
			n.Keys = append(n.Keys, k.Value)
			n.KeyLines = append(n.KeyLines, k.Line)
			n.Vals = append(n.Vals, c.conv(y.Content[i+1], depth+1))
		}
	default:
		return &Node{Kind: Null, Line: y.Line}
	}
	if tag := y.Tag; strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!") && len(tag) > 1 {
		return shortForm(tag[1:], n)
	}
	return n
}

// shortForm turns a YAML short-form intrinsic (!Ref x, !GetAtt a.b, !If
// [...]) into its long form.
func shortForm(fn string, arg *Node) *Node {
	key := "Fn::" + fn
	switch fn {
	case "Ref", "Condition":
		key = fn
	case "GetAtt":
		if arg.Kind == Scalar {
			res, attr, _ := strings.Cut(arg.Str, ".")
			arg = &Node{Kind: Seq, Line: arg.Line, Items: []*Node{
				{Kind: Scalar, Str: res, Line: arg.Line}, {Kind: Scalar, Str: attr, Line: arg.Line},
			}}
		}
	}
	return &Node{Kind: Map, Line: arg.Line, Keys: []string{key}, KeyLines: []int{arg.Line}, Vals: []*Node{arg}}
}

// yamlErrorLine pulls the line number out of a yaml.v3 error ("yaml: line 3: ...").
func yamlErrorLine(err error) int {
	var line int
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		_, _ = fmt.Sscanf(msg[i:], "line %d", &line)
	}
	return line
}

// decodeJSON reads JSON token by token to keep each value's line.
func decodeJSON(name string, data []byte) (*Node, error) {
	p := &jparser{name: name, dec: json.NewDecoder(bytes.NewReader(data))}
	p.dec.UseNumber()
	p.lines = []int{0}
	for i, c := range data {
		if c == '\n' {
			p.lines = append(p.lines, i+1)
		}
	}
	p.size = len(data)
	p.budget = nodeBudget(data)
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, &SyntaxError{File: name, Line: p.line(), Msg: "unexpected data after the top-level value"}
	}
	return n, nil
}

type jparser struct {
	name   string
	dec    *json.Decoder
	lines  []int
	size   int
	nodes  int
	budget int
}

// line is the line of the last token read.
func (p *jparser) line() int {
	off := int(p.dec.InputOffset()) - 1
	return p.lineAt(off)
}

func (p *jparser) lineAt(off int) int {
	if off < 0 {
		off = 0
	}
	return sort.Search(len(p.lines), func(i int) bool { return p.lines[i] > off })
}

func (p *jparser) fail(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &SyntaxError{File: p.name, Line: p.lineAt(int(se.Offset) - 1), Msg: "not valid JSON: " + se.Error()}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &SyntaxError{File: p.name, Line: p.lineAt(p.size - 1), Msg: "unexpected end of JSON input"}
	}
	return &SyntaxError{File: p.name, Line: p.line(), Msg: err.Error()}
}

func (p *jparser) value(depth int) (*Node, error) {
	tok, err := p.dec.Token()
	if err != nil {
		return nil, p.fail(err)
	}
	return p.valueFrom(tok, depth)
}

func (p *jparser) valueFrom(tok json.Token, depth int) (*Node, error) {
	p.nodes++
	line := p.line()
	if depth > 10000 || p.nodes > p.budget {
		return nil, &SyntaxError{File: p.name, Line: line, Msg: "document too large or too deeply nested"}
	}
	switch t := tok.(type) {
	case nil:
		return &Node{Kind: Null, Line: line}, nil
	case string:
		return &Node{Kind: Scalar, Str: t, Line: line}, nil
	case json.Number:
		return &Node{Kind: Scalar, Str: t.String(), Line: line}, nil
	case bool:
		s := "false"
		if t {
			s = "true"
		}
		return &Node{Kind: Scalar, Str: s, Line: line}, nil
	case json.Delim:
		switch t {
		case '[':
			n := &Node{Kind: Seq, Line: line}
			for p.dec.More() {
				item, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.Items = append(n.Items, item)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, p.fail(err)
			}
			return n, nil
		case '{':
			n := &Node{Kind: Map, Line: line}
			for p.dec.More() {
				kt, err := p.dec.Token()
				if err != nil {
					return nil, p.fail(err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, &SyntaxError{File: p.name, Line: p.line(), Msg: "object key is not a string"}
				}
				kl := p.line()
				v, err := p.value(depth + 1)
				if err != nil {
					return nil, err
				}
				n.Keys, n.KeyLines, n.Vals = append(n.Keys, k), append(n.KeyLines, kl), append(n.Vals, v)
			}
			if _, err := p.dec.Token(); err != nil {
				return nil, p.fail(err)
			}
			return n, nil
		}
	}
	return nil, &SyntaxError{File: p.name, Line: line, Msg: fmt.Sprintf("unexpected token %v", tok)}
}
