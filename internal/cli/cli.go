// Package cli is sagefence's command line: flags, terminal policy and exit
// codes. It is the only package that knows about cobra, TTYs and os.Exit's
// codes; every command is an options struct plus a run function.
package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sagefence/sagefence/internal/buildinfo"
	"github.com/sagefence/sagefence/internal/iostreams"
)

// Exit codes (CONTROL.md; the same for every command).
const (
	ExitOK          = 0
	ExitFail        = 1
	ExitUsage       = 2
	ExitIncomplete  = 3
	ExitInterrupted = 130
)

// exitError carries an exit code and a one-line message for the user.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageErr marks an error as a usage, input or configuration error (exit 2).
func usageErr(err error) error { return &exitError{code: ExitUsage, err: err} }

func usageErrf(format string, a ...any) error { return usageErr(fmt.Errorf(format, a...)) }

// codeOnly ends a command with a code after it has written its output.
type codeOnly int

func (c codeOnly) Error() string { return fmt.Sprintf("exit %d", int(c)) }

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, ios *iostreams.IOStreams, args []string) int {
	root := NewRoot(ios)
	root.SetArgs(args)
	return exitCode(ctx, ios, root.ExecuteContext(ctx))
}

// exitCode reports err on stderr, in one line, and maps it to an exit code.
func exitCode(ctx context.Context, ios *iostreams.IOStreams, err error) int {
	if err == nil {
		return ExitOK
	}
	var c codeOnly
	if errors.As(err, &c) {
		return int(c)
	}
	if ctx.Err() != nil {
		fmt.Fprintln(ios.ErrOut, "sagefence: interrupted")
		return ExitInterrupted
	}
	var ee *exitError
	code := ExitUsage // cobra's own errors (unknown command, bad flag) are usage errors
	if errors.As(err, &ee) {
		code = ee.code
	}
	fmt.Fprintln(ios.ErrOut, "sagefence: "+oneLine(err.Error()))
	return code
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

const exitCodesHelp = `Exit codes:
  0    evaluated, nothing failing
  1    at least one FAIL (or REVIEW with --strict)
  2    usage, input or configuration error (nothing evaluated)
  3    incomplete: something could not be evaluated (wins over 1)
  130  interrupted`

// NewRoot builds the command tree.
func NewRoot(ios *iostreams.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:   "sagefence",
		Short: "Find, fix and prove the absence of internet exposure on SageMaker notebook instances",
		Long: `sagefence audits Amazon SageMaker notebook instances for internet access: the
DirectInternetAccess flag and the effective network path of every notebook
(subnet route tables, NAT and internet gateways, security groups, network ACLs).
Each verdict comes with its evidence and the AWS CLI commands that reproduce it.

` + exitCodesHelp,
		Version:       buildinfo.Read().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// --version prints what "sagefence version" prints.
	root.SetVersionTemplate("sagefence {{.Version}}\n")
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	root.SetFlagErrorFunc(flagError)
	// cobra's "completion bash|zsh|fish|powershell"; its hidden __complete
	// commands serve the scripts.
	root.CompletionOptions.HiddenDefaultCmd = false
	root.AddCommand(newScanCmd(ios, nil))
	root.AddCommand(newMergeCmd(ios, nil))
	root.AddCommand(newPreflightCmd(ios), newIAMPolicyCmd(ios), newGuardrailCmd(ios))
	root.AddCommand(newEventsSetupCmd(ios, nil))
	root.AddCommand(newPlanCmd(ios), newApplyCmd(ios), newBackoutCmd(ios), newFinalizeCmd(ios), newJournalCmd(ios))
	root.AddCommand(newIACCmd(ios, nil))
	root.AddCommand(newWatchCmd(ios))
	root.AddCommand(newVersionCmd(ios))
	groupCommand(root)
	for _, c := range root.Commands() {
		if c.HasSubCommands() {
			groupCommand(c)
		}
	}
	return root
}
