package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

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
	// The version first, so a future snapshot is refused for its version
	// rather than for a field this version does not know.
	var head struct {
		SchemaVersion *string `json:"schema_version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, positionError(data, name, err)
	}
	switch {
	case head.SchemaVersion == nil:
		return nil, &InputError{File: name, Msg: "no schema_version: not a sagefence inventory"}
	case *head.SchemaVersion != SchemaVersion:
		return nil, &InputError{File: name, Msg: fmt.Sprintf("inventory schema_version %q is not supported (this sagefence reads %q)", *head.SchemaVersion, SchemaVersion)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var inv Inventory
	if err := dec.Decode(&inv); err != nil {
		return nil, positionError(data, name, err)
	}
	if dec.More() {
		off := int(dec.InputOffset())
		line, col := lineCol(data, off)
		return nil, &InputError{File: name, Line: line, Column: col, Msg: "unexpected data after the inventory object"}
	}
	if err := inv.Validate(); err != nil {
		return nil, &InputError{File: name, Msg: err.Error()}
	}
	return &inv, nil
}

// Validate checks what the analysis relies on: every region and notebook
// named, no duplicates. Dangling references are not errors here: the
// analysis reports them as unknown facts.
func (inv *Inventory) Validate() error {
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
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return &InputError{File: name, Line: line, Column: col, Msg: fmt.Sprintf("%s: expected %s, found JSON %s", field, typ.Type, typ.Value)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		line, col := lineCol(data, len(data))
		return &InputError{File: name, Line: line, Column: col, Msg: "unexpected end of file: the inventory is truncated"}
	}
	return &InputError{File: name, Msg: err.Error()}
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
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(inv); err != nil {
		return fmt.Errorf("encode inventory: %w", err)
	}
	return nil
}
