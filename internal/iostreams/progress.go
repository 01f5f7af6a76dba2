package iostreams

import (
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/term"
)

// clearLine returns the cursor to the start of the line and erases it.
const clearLine = "\r\x1b[K"

// defaultWidth is assumed when the terminal's width cannot be read.
const defaultWidth = 80

// StartProgress redraws one status line on ErrOut, in place, every interval
// with what line returns, until the returned stop is called; stop erases
// the line, so what is printed next starts on a clean line, and returns
// once nothing more will be drawn. The first line appears after one
// interval: work that finishes sooner leaves the terminal untouched. When
// ErrOut is not a terminal nothing is ever written (progress is for people;
// a log or a pipe gets errors only).
//
// line is called from another goroutine. Nothing else may write to ErrOut
// until stop returns.
func (s *IOStreams) StartProgress(interval time.Duration, line func() string) (stop func()) {
	if !s.errTTY || interval <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		drawn, last := false, ""
		for {
			select {
			case <-done:
				if drawn {
					io.WriteString(s.ErrOut, clearLine)
				}
				return
			case <-t.C:
				// A line longer than the terminal would wrap, and "\r"
				// would then redraw only its last row.
				text := fit(line(), s.width()-1)
				if drawn && text == last {
					continue
				}
				io.WriteString(s.ErrOut, clearLine+text)
				drawn, last = true, text
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}

// width is the width of the terminal on ErrOut, defaultWidth when unknown.
func (s *IOStreams) width() int {
	w := 0
	if s.errWidth != nil {
		w = s.errWidth()
	} else if f, ok := s.ErrOut.(*os.File); ok {
		w, _, _ = term.GetSize(int(f.Fd()))
	}
	if w <= 0 {
		return defaultWidth
	}
	return w
}

// fit cuts s to at most n runes, marking the cut.
func fit(s string, n int) string {
	if n < 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
