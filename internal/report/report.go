// Package report dispatches a report to the writer of a format. Each format
// is a small package of its own over the one finding.Report type.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	jsonw "github.com/sagefence/sagefence/internal/report/json"
	"github.com/sagefence/sagefence/internal/report/table"
)

// Options carry what a writer needs to know about its destination.
type Options struct {
	// TTY and Color describe the destination (table format only).
	TTY, Color bool
}

// Formats lists the formats Write accepts.
func Formats() []string { return []string{"table", "json"} }

// Valid reports whether format is known.
func Valid(format string) bool {
	for _, f := range Formats() {
		if f == format {
			return true
		}
	}
	return false
}

// Write renders r in format to w.
func Write(w io.Writer, format string, r *finding.Report, opts Options) error {
	switch format {
	case "table":
		return table.Write(w, r, table.Options{TTY: opts.TTY, Color: opts.Color})
	case "json":
		return jsonw.Write(w, r)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}
