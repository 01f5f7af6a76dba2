// Package testenv is test support shared by the tests of every package: it
// runs moto_server (the AWS emulator) on a free loopback port, isolates the
// AWS SDK from the developer's own configuration, injects faults between the
// SDK and moto (FaultProxy), builds realistic networks and notebook
// instances in moto (estate.go, with transit gateways in transit.go and
// what lies past a subnet in routing.go), builds the estates of the path
// analysis with their expected verdicts (paths.go), and corrects in the
// proxy the answers moto gets wrong (motofix.go). Only _test.go files
// import it. Nothing in it ever talks to real AWS: every endpoint is
// 127.0.0.1.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// ErrMotoNotInstalled is returned by StartMoto when neither moto_server nor
// python3 with the moto package can be found.
var ErrMotoNotInstalled = errors.New("moto_server is not installed (pip install 'moto[server]')")

// startTimeout bounds how long StartMoto waits for the server to answer.
// moto imports every service model at start; on a busy two-core machine
// running tests in parallel that takes several seconds.
const startTimeout = 60 * time.Second

// Moto is one running moto_server process.
type Moto struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	log  *tailBuffer

	closeOnce sync.Once
}

// StartMoto starts moto_server on a free loopback port and returns once it
// answers HTTP. It runs `moto_server`, or `python3 -m moto.server` when that
// script is not on PATH. The process runs in its own process group, which
// Close kills as a whole.
func StartMoto(ctx context.Context) (*Moto, error) {
	argv, err := motoCommand(ctx)
	if err != nil {
		return nil, err
	}
	// The port is picked by binding :0 and releasing it, so another
	// process can take it in between; try a few ports before giving up.
	var lastErr error
	for range 3 {
		m, err := startMotoOnce(ctx, argv)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if ctx.Err() != nil || errors.Is(err, ErrMotoNotInstalled) {
			break
		}
	}
	return nil, lastErr
}

// motoCommand finds how to run moto on this machine.
func motoCommand(ctx context.Context) ([]string, error) {
	if p, err := exec.LookPath("moto_server"); err == nil {
		return []string{p}, nil
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		return nil, ErrMotoNotInstalled
	}
	if err := exec.CommandContext(ctx, py, "-c", "import moto.server").Run(); err != nil {
		return nil, ErrMotoNotInstalled
	}
	return []string{py, "-m", "moto.server"}, nil
}

func startMotoOnce(ctx context.Context, argv []string) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	args := append(append([]string{}, argv[1:]...), "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	// Not CommandContext: the process must outlive ctx, which only bounds
	// the start; Close ends it.
	cmd := exec.Command(argv[0], args...)
	cmd.SysProcAttr = sysProcAttr()
	log := &tailBuffer{max: 16 << 10}
	cmd.Stdout = log
	cmd.Stderr = log
	// moto must not pick up a developer's real AWS settings.
	cmd.Env = Environ("")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	m := &Moto{
		url:  "http://127.0.0.1:" + strconv.Itoa(port),
		cmd:  cmd,
		done: make(chan struct{}),
		log:  log,
	}
	go func() {
		_ = cmd.Wait()
		close(m.done)
	}()
	if err := m.waitReady(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (m *Moto) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/moto-api/", nil)
		if err != nil {
			return fmt.Errorf("moto readiness request: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-m.done:
			code := m.cmd.ProcessState.ExitCode()
			if code == 127 { // e.g. a pyenv shim for a Python without moto
				return fmt.Errorf("%w: %s", ErrMotoNotInstalled, m.log.String())
			}
			return fmt.Errorf("moto_server exited with status %d before answering: %s", code, m.log.String())
		case <-ctx.Done():
			return fmt.Errorf("moto_server at %s did not answer: %w; output: %s", m.url, ctx.Err(), m.log.String())
		case <-tick.C:
		}
	}
}

// URL is the server's base URL, http://127.0.0.1:PORT.
func (m *Moto) URL() string { return m.url }

// Reset drops every resource in every account and region of the server.
func (m *Moto) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.url+"/moto-api/reset", nil)
	if err != nil {
		return fmt.Errorf("moto reset: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("moto reset %s: %w", m.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto reset %s: HTTP %d", m.url, resp.StatusCode)
	}
	return nil
}

// Close stops the server and every process in its group, and waits for it
// to exit. It is safe to call more than once.
func (m *Moto) Close() {
	m.closeOnce.Do(func() {
		killGroup(m.cmd, false)
		select {
		case <-m.done:
			return
		case <-time.After(5 * time.Second):
		}
		killGroup(m.cmd, true)
		<-m.done
	})
}

// Output returns the tail of the server's log, for failure messages.
func (m *Moto) Output() string { return m.log.String() }

// MotoForTest starts a moto_server for one test and stops it when the test
// ends. When moto is not installed the test is skipped, except on CI
// (CI=true), where a missing emulator is a failure. Tests that need moto in
// more than one case should share one server through SharedMoto instead:
// starting moto takes seconds.
func MotoForTest(t testing.TB) *Moto {
	t.Helper()
	m, err := StartMoto(context.Background())
	if err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(m.Close)
	return m
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	if errors.Is(err, ErrMotoNotInstalled) && os.Getenv("CI") != "true" {
		t.Skipf("skipping: %v", err)
	} else {
		t.Fatalf("moto: %v", err)
	}
}

// SharedMoto is one moto_server for a whole test binary, started on first
// use and stopped by Main. Declare it next to TestMain:
//
//	var moto testenv.SharedMoto
//
//	func TestMain(m *testing.M) { testenv.Main(m, &moto) }
//
// Tests that call ForTest must not run in parallel with each other: each
// call resets the server.
type SharedMoto struct {
	mu   sync.Mutex
	moto *Moto
	err  error
	ran  bool
}

// ForTest returns the shared server, starting it on first use, with all of
// its state reset. It skips or fails the test like MotoForTest when moto is
// missing.
func (s *SharedMoto) ForTest(t testing.TB) *Moto {
	t.Helper()
	s.mu.Lock()
	if !s.ran {
		s.ran = true
		s.moto, s.err = StartMoto(context.Background())
	}
	m, err := s.moto, s.err
	s.mu.Unlock()
	if err != nil {
		skipOrFail(t, err)
	}
	if err := m.Reset(context.Background()); err != nil {
		t.Fatalf("%v", err)
	}
	return m
}

// Close stops the shared server if it was started.
func (s *SharedMoto) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.moto != nil {
		s.moto.Close()
	}
}

// Main runs the tests of a package and stops the shared server afterwards;
// call it from TestMain. It does not return.
func Main(m *testing.M, s *SharedMoto) {
	code := m.Run()
	s.Close()
	os.Exit(code)
}

// tailBuffer keeps the last max bytes written to it: moto logs every
// request, and only the end matters when it fails.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
