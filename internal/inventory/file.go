package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/sagefence/sagefence/internal/atomicfile"
)

// InputError is a problem with an inventory file: its name, the position
// (line and column, 0 when unknown) and what is wrong.
type InputError struct {
	File         string
	Line, Column int
	Msg          string
}

func (e *InputError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// maxFileSize bounds what ReadFile accepts (an inventory of a very large
// organisation is tens of MB).
const maxFileSize = 2 << 30

// ReadFile reads and validates an inventory snapshot.
func ReadFile(path string) (*Inventory, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, &InputError{File: path, Msg: pe.Err.Error()}
		}
		return nil, &InputError{File: path, Msg: err.Error()}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, &InputError{File: path, Msg: "read: " + err.Error()}
	}
	if len(data) > maxFileSize {
		return nil, &InputError{File: path, Msg: "file too large"}
	}
	return Parse(data, path)
}

// Parse decodes and validates an inventory snapshot; name is used in errors.
func Parse(data []byte, name string) (*Inventory, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &InputError{File: name, Msg: "empty file: not an inventory"}
	}
	// One pass with the JSON v2 reference decoder (encoding/json's
	// semantics, about three times faster on large inventories); only a
	// file that fails is read again, by encoding/json, for its position.
	var inv Inventory
	if err := jsonv2.Unmarshal(data, &inv, jsonv1.DefaultOptionsV1()); err != nil {
		return nil, explain(data, name, err)
	}
	if err := checkVersion(&inv.SchemaVersion, name); err != nil {
		return nil, err
	}
	if err := inv.Validate(); err != nil {
		return nil, &InputError{File: name, Msg: err.Error()}
	}
	return &inv, nil
}

func checkVersion(v *string, name string) error {
	switch {
	case v == nil || *v == "":
		return &InputError{File: name, Msg: "no schema_version: not a sagefence inventory"}
	case *v != SchemaVersion && *v != SchemaVersion2 && *v != SchemaVersion1:
		return &InputError{File: name, Msg: fmt.Sprintf("inventory schema_version %q is not supported (this sagefence reads %q, %q and %q)", *v, SchemaVersion1, SchemaVersion2, SchemaVersion)}
	}
	return nil
}

// explain turns a failed decode into an InputError: a snapshot of another
// version is refused for its version rather than for a field this version
// does not know, and anything else is reported with its line and column.
func explain(data []byte, name string, cause error) error {
	var head struct {
		SchemaVersion *string `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return positionError(data, name, err)
	}
	if err := checkVersion(head.SchemaVersion, name); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var inv Inventory
	if err := dec.Decode(&inv); err != nil {
		return positionError(data, name, err)
	}
	if dec.More() {
		line, col := lineCol(data, int(dec.InputOffset()))
		return &InputError{File: name, Line: line, Column: col, Msg: "unexpected data after the inventory object"}
	}
	return &InputError{File: name, Msg: "invalid inventory: " + oneLine(cause.Error())}
}

func oneLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Validate checks what the analysis relies on: every region and notebook
// named, no duplicates. Dangling references are not errors here: the
// analysis reports them as unknown facts.
func (inv *Inventory) Validate() error {
	if s := inv.Shard; s != nil && (s.Count < 2 || s.Index < 0 || s.Index >= s.Count) {
		return fmt.Errorf("shard %d/%d: want 0 <= index < count, count at least 2", s.Index, s.Count)
	}
	seen := map[[2]string]bool{}
	for i, r := range inv.Regions {
		if r.Region == "" {
			return fmt.Errorf("regions[%d]: region is empty", i)
		}
		key := [2]string{r.AccountID, r.Region}
		if seen[key] {
			return fmt.Errorf("regions[%d]: account %q region %q appears twice", i, r.AccountID, r.Region)
		}
		seen[key] = true
		names := make(map[string]bool, len(r.Notebooks))
		for j, nb := range r.Notebooks {
			if nb.Name == "" {
				return fmt.Errorf("regions[%d].notebooks[%d]: name is empty", i, j)
			}
			if names[nb.Name] {
				return fmt.Errorf("regions[%d].notebooks[%d]: notebook %q appears twice", i, j, nb.Name)
			}
			names[nb.Name] = true
		}
		if err := validateDomains(i, r.StudioDomains); err != nil {
			return err
		}
	}
	return nil
}

// validateDomains checks that every domain, and every profile and space of
// one, is named once.
func validateDomains(i int, domains []StudioDomain) error {
	ids := make(map[string]bool, len(domains))
	for j, d := range domains {
		if d.ID == "" {
			return fmt.Errorf("regions[%d].studio_domains[%d]: id is empty", i, j)
		}
		if ids[d.ID] {
			return fmt.Errorf("regions[%d].studio_domains[%d]: domain %q appears twice", i, j, d.ID)
		}
		ids[d.ID] = true
		if err := uniqueNames(d.UserProfiles, func(p StudioUserProfile) string { return p.Name }); err != nil {
			return fmt.Errorf("regions[%d].studio_domains[%d] (%s): user profile %w", i, j, d.ID, err)
		}
		if err := uniqueNames(d.Spaces, func(s StudioSpace) string { return s.Name }); err != nil {
			return fmt.Errorf("regions[%d].studio_domains[%d] (%s): space %w", i, j, d.ID, err)
		}
	}
	return nil
}

func uniqueNames[T any](items []T, name func(T) string) error {
	seen := make(map[string]bool, len(items))
	for k, it := range items {
		n := name(it)
		if n == "" {
			return fmt.Errorf("[%d]: name is empty", k)
		}
		if seen[n] {
			return fmt.Errorf("%q appears twice", n)
		}
		seen[n] = true
	}
	return nil
}

func positionError(data []byte, name string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn) && int(syn.Offset) >= len(data) && strings.Contains(syn.Error(), "unexpected end"):
		line, col := lineCol(data, len(data))
		return &InputError{File: name, Line: line, Column: col, Msg: "unexpected end of file: the inventory is truncated"}
	case errors.As(err, &syn) && strings.Contains(syn.Error(), "after top-level value"):
		line, col := lineCol(data, int(syn.Offset)-1)
		return &InputError{File: name, Line: line, Column: col, Msg: "unexpected data after the inventory object"}
	case errors.As(err, &syn):
		line, col := lineCol(data, int(syn.Offset)-1)
		return &InputError{File: name, Line: line, Column: col, Msg: "invalid JSON: " + syn.Error()}
	case errors.As(err, &typ):
		line, col := lineCol(data, int(typ.Offset))
		if typ.Field == "" {
			return &InputError{File: name, Line: line, Column: col, Msg: fmt.Sprintf("an inventory is a JSON object, found JSON %s", typ.Value)}
		}
		return &InputError{File: name, Line: line, Column: col, Msg: fmt.Sprintf("%s: expected JSON %s, found JSON %s", typ.Field, jsonKind(typ.Type), typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		line, col := lineCol(data, len(data))
		return &InputError{File: name, Line: line, Column: col, Msg: "unexpected end of file: the inventory is truncated"}
	}
	return &InputError{File: name, Msg: err.Error()}
}

// jsonKind names what JSON a Go type is read from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8,
		reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	}
	return t.Kind().String()
}

// lineCol converts a byte offset to a 1-based line and column.
func lineCol(data []byte, off int) (int, int) {
	if off > len(data) {
		off = len(data)
	}
	if off < 0 {
		off = 0
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

// WriteFile saves the inventory atomically as indented JSON.
func (inv *Inventory) WriteFile(path string) error {
	return atomicfile.Write(path, 0o600, inv.Encode)
}

// Encode writes the inventory as indented JSON.
func (inv *Inventory) Encode(w io.Writer) error {
	// encoding/json's semantics, the v2 reference encoder's speed.
	if err := jsonv2.MarshalWrite(w, inv, jsonv1.DefaultOptionsV1(), jsontext.WithIndent("  ")); err != nil {
		return fmt.Errorf("encode inventory: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
