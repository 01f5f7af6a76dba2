// Package report dispatches a report to the writer of a format. Each format
// is a small package of its own over the one finding.Report type.
package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/sagefence/sagefence/internal/finding"
	"github.com/sagefence/sagefence/internal/report/asff"
	"github.com/sagefence/sagefence/internal/report/csv"
	"github.com/sagefence/sagefence/internal/report/github"
	"github.com/sagefence/sagefence/internal/report/html"
	jsonw "github.com/sagefence/sagefence/internal/report/json"
	"github.com/sagefence/sagefence/internal/report/junit"
	"github.com/sagefence/sagefence/internal/report/markdown"
	"github.com/sagefence/sagefence/internal/report/ocsf"
	"github.com/sagefence/sagefence/internal/report/table"
)

// Options carry what a writer needs to know about its destination.
type Options struct {
	// TTY, Color and Width describe the destination (table format only).
	TTY, Color bool
	Width      int
}

// Formats lists the formats Write accepts.
func Formats() []string {
	return []string{"table", "json", "csv", "ocsf", "asff", "junit", "markdown", "html", "github"}
}

// Extension is the file name extension of a format's output (--output-dir).
func Extension(format string) string {
	switch format {
	case "table":
		return "txt"
	case "ocsf":
		return "ocsf.json"
	case "asff":
		return "asff.json"
	case "junit":
		return "junit.xml"
	case "markdown":
		return "md"
	case "github":
		return "github.txt"
	}
	return format
}

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
		return table.Write(w, r, table.Options{TTY: opts.TTY, Color: opts.Color, Width: opts.Width})
	case "json":
		return jsonw.Write(w, r)
	case "csv":
		return csv.Write(w, r)
	case "ocsf":
		return ocsf.Write(w, r)
	case "asff":
		return asff.Write(w, r)
	case "junit":
		return junit.Write(w, r)
	case "markdown":
		return markdown.Write(w, r)
	case "html":
		return html.Write(w, r)
	case "github":
		return github.Write(w, r)
	}
	return fmt.Errorf("unknown format %q (want one of %s)", format, strings.Join(Formats(), ", "))
}
