package iostreams

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProgressDrawsOnlyOnATerminalAndErasesItself(t *testing.T) {
	for _, tty := range []bool{true, false} {
		ios, _, out, errOut := Test()
		ios.SetStderrTTY(tty)
		called := make(chan struct{})
		var once sync.Once
		stop := ios.StartProgress(time.Millisecond, func() string {
			once.Do(func() { close(called) })
			return "3 regions done"
		})
		if tty {
			select {
			case <-called:
			case <-time.After(5 * time.Second):
				t.Fatal("progress line never drawn")
			}
		} else {
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		stop() // idempotent
		got := errOut.String()
		switch {
		case tty && (!strings.HasPrefix(got, "\r\x1b[K3 regions done") || !strings.HasSuffix(got, "\r\x1b[K")):
			t.Errorf("TTY stderr = %q, want the line redrawn in place and erased at the end", got)
		case !tty && got != "":
			t.Errorf("non-TTY stderr = %q, want nothing", got)
		}
		if out.Len() != 0 {
			t.Errorf("progress wrote to stdout: %q", out)
		}
	}
}

func TestProgressFinishedBeforeOneIntervalDrawsNothing(t *testing.T) {
	ios, _, _, errOut := Test()
	ios.SetStderrTTY(true)
	stop := ios.StartProgress(time.Hour, func() string { return "never" })
	stop()
	if errOut.Len() != 0 {
		t.Errorf("stderr = %q, want nothing for work shorter than one interval", errOut)
	}
}

func TestProgressLineFitsTheTerminal(t *testing.T) {
	ios, _, _, errOut := Test()
	ios.SetStderrTTY(true)
	ios.errWidth = func() int { return 10 }
	called := make(chan struct{})
	var once sync.Once
	stop := ios.StartProgress(time.Millisecond, func() string {
		once.Do(func() { close(called) })
		return "0123456789abcdef"
	})
	<-called
	stop()
	if got := errOut.String(); !strings.HasPrefix(got, "\r\x1b[K01234567…") {
		t.Errorf("stderr = %q, want the line cut to 9 columns so it cannot wrap", got)
	}
}
