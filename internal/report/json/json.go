// Package json writes a report as the stable JSON contract of CONTROL.md.
package json

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/sagefence/sagefence/internal/finding"
)

// Write encodes the report as indented JSON.
func Write(w io.Writer, r *finding.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode JSON report: %w", err)
	}
	return nil
}
