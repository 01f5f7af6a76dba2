package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sagefence/sagefence/internal/buildinfo"
	"github.com/sagefence/sagefence/internal/iostreams"
)

// Version is the tool version written into reports, bundles and alerts.
func Version() string { return buildinfo.Read().Version }

func versionFormats() []string { return []string{"text", "json"} }

type versionOptions struct {
	IO     *iostreams.IOStreams
	Format string
	Info   buildinfo.Info
}

func newVersionCmd(ios *iostreams.IOStreams) *cobra.Command {
	opts := &versionOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version",
		Long: `Version prints what this binary was built from: the release version (set by
the release build), the module version of "go install ...@version", or a
pseudo-version and the commit of the checkout "go build" ran in; the commit
and its time, the build date of a release, and the Go version and platform.
--format json prints them as one JSON object. "sagefence --version" prints
the text form.`,
		Example: `  sagefence version
  sagefence version --format json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if !slices.Contains(versionFormats(), opts.Format) {
				return usageErrf("--format %q: want one of %s", opts.Format, strings.Join(versionFormats(), ", "))
			}
			opts.Info = buildinfo.Read()
			return runVersion(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: "+strings.Join(versionFormats(), ", "))
	completeWords(cmd, "format", versionFormats())
	return cmd
}

// completeWords makes the shell completion of a flag offer words.
func completeWords(cmd *cobra.Command, flag string, words []string) {
	// Registering fails only for an unknown or twice-registered flag: a
	// programming error that the completion test catches.
	_ = cmd.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(words, cobra.ShellCompDirectiveNoFileComp))
}

func runVersion(opts *versionOptions) error {
	if opts.Format == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(opts.Info); err != nil {
			return fmt.Errorf("encode version: %w", err)
		}
		return nil
	}
	return writeVersionLine(opts.IO.Out, opts.Info)
}

func writeVersionLine(w io.Writer, info buildinfo.Info) error {
	_, err := fmt.Fprintf(w, "sagefence %s\n", info)
	return err
}
