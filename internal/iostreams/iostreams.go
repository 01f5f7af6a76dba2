// Package iostreams holds the terminal policy of the CLI in one value: data
// goes to Out, status and progress to ErrOut, colour and progress only when
// the stream is a terminal (and NO_COLOR is unset).
package iostreams

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/term"
)

// IOStreams are the process's standard streams and what they are attached to.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	inTTY, outTTY, errTTY, noColor bool
	// errWidth, when set (tests), overrides the width of the terminal on
	// ErrOut.
	errWidth func() int
}

// System returns the process's streams with TTY detection.
func System() *IOStreams {
	_, noColor := os.LookupEnv("NO_COLOR")
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		inTTY:   term.IsTerminal(int(os.Stdin.Fd())),
		outTTY:  term.IsTerminal(int(os.Stdout.Fd())),
		errTTY:  term.IsTerminal(int(os.Stderr.Fd())),
		noColor: noColor || os.Getenv("TERM") == "dumb",
	}
}

// Test returns streams backed by buffers, not attached to a terminal.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}

// SetStdoutTTY and SetStderrTTY override detection (tests).
func (s *IOStreams) SetStdoutTTY(v bool) { s.outTTY = v }

// SetStderrTTY overrides detection of stderr (tests).
func (s *IOStreams) SetStderrTTY(v bool) { s.errTTY = v }

// SetStdinTTY overrides detection of stdin (tests).
func (s *IOStreams) SetStdinTTY(v bool) { s.inTTY = v }

// IsStdinTTY reports whether In is a terminal (a person can answer a prompt).
func (s *IOStreams) IsStdinTTY() bool { return s.inTTY }

// IsStdoutTTY reports whether Out is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.outTTY }

// IsStderrTTY reports whether ErrOut is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.errTTY }

// TerminalWidth is the width of the terminal on stdout, or 0 when stdout
// is not a terminal or its size is unknown.
func (s *IOStreams) TerminalWidth() int {
	if !s.outTTY {
		return 0
	}
	if f, ok := s.Out.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 0 {
			return w
		}
	}
	return 0
}

// ColorEnabled reports whether Out may carry colour.
func (s *IOStreams) ColorEnabled() bool { return s.outTTY && !s.noColor }
