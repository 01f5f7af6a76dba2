package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sagefence/sagefence/internal/awsclient"
	"github.com/sagefence/sagefence/internal/suggest"
)

// Input every command checks the same way, before it reads AWS: region
// names, output paths, unknown commands and flags. The configured region
// (environment, shared config) is checked where the SDK configuration is
// loaded (awsclient.Load), before any call.

// regionsFlag splits --regions and checks every name, naming the flag.
// An empty value is no regions (the command's default).
func regionsFlag(value string) ([]string, error) {
	if value == "" {
		return nil, nil
	}
	regions := splitList(value)
	if len(regions) == 0 {
		return nil, usageErrf("--regions: no region given")
	}
	for _, r := range regions {
		if err := awsclient.CheckRegion("--regions", r); err != nil {
			return nil, usageErr(err)
		}
	}
	return regions, nil
}

// checkOutputFile refuses, before anything is read, a file flag the
// command could not write when it is done: its directory must exist and
// be writable, and the path must not be a directory. It creates nothing.
func checkOutputFile(flag, path string) error {
	if path == "" {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usageErrf("%s %q: is a directory (name a file in it)", flag, path)
	}
	return checkDirWritable(flag, path, filepath.Dir(path))
}

// checkOutputDir refuses a directory flag the command could not write
// into: an existing directory must be writable; one that does not exist
// yet (the command creates it) needs a writable parent.
func checkOutputDir(flag, dir string) error {
	if dir == "" {
		return nil
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return usageErrf("%s %q: is a file, not a directory", flag, dir)
	case err == nil:
		if writable(dir) != nil {
			return usageErrf("%s %q: directory is not writable", flag, dir)
		}
		return nil
	case errors.Is(err, os.ErrNotExist):
		return checkDirWritable(flag, dir, filepath.Dir(filepath.Clean(dir)))
	default:
		return usageErrf("%s %q: %v", flag, dir, unwrapPath(err))
	}
}

// checkDirWritable checks dir, where flag's path will be created.
func checkDirWritable(flag, path, dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return usageErrf("%s %q: directory %q does not exist", flag, path, dir)
	case err != nil:
		return usageErrf("%s %q: directory %q: %v", flag, path, dir, unwrapPath(err))
	case !fi.IsDir():
		return usageErrf("%s %q: %q is not a directory", flag, path, dir)
	case writable(dir) != nil:
		return usageErrf("%s %q: directory %q is not writable", flag, path, dir)
	}
	return nil
}

// unwrapPath drops the operation and path of a *PathError: the message
// already names the path.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// flagError is every command's flag error: a usage error, and for an
// unknown flag, the flag that was probably meant.
func flagError(cmd *cobra.Command, err error) error {
	var ne *pflag.NotExistError
	if !errors.As(err, &ne) || ne.GetSpecifiedShortnames() != "" {
		return usageErr(err)
	}
	name := ne.GetSpecifiedName()
	switch {
	case name == "region" && cmd.Flags().Lookup("regions") != nil:
		// What AWS CLI users type.
		return usageErrf("%v (sagefence takes --regions, a comma-separated list)", err)
	case name == "region" || name == "regions":
		return usageErrf("%v (%s takes no region: only %s take --regions)", err, cmd.CommandPath(), suggest.Join(regionCommands(cmd.Root()), "and"))
	}
	var names []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			names = append(names, f.Name)
		}
	})
	if s := suggest.Closest(name, names, 2); len(s) > 0 {
		for i := range s {
			s[i] = "--" + s[i]
		}
		return usageErrf("%v (did you mean %s?)", err, suggest.Join(s, "or"))
	}
	return usageErr(err)
}

// regionCommands are the commands that take --regions.
func regionCommands(root *cobra.Command) []string {
	var out []string
	for _, c := range root.Commands() {
		if c.Flags().Lookup("regions") != nil {
			out = append(out, c.Name())
		}
	}
	slices.Sort(out)
	return out
}

// groupCommand makes cmd, which only groups subcommands, refuse an
// unknown subcommand with cobra's suggestions, in one line. (Cobra itself
// prints the suggestions on lines of their own for the root, and the help,
// with exit 0, for any other command that cannot run.) Without arguments
// it prints its help, as before.
func groupCommand(cmd *cobra.Command) {
	cmd.SuggestionsMinimumDistance = 2
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return nil
		}
		err := fmt.Errorf("unknown command %q for %q", args[0], cmd.CommandPath())
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			err = fmt.Errorf("%w (did you mean %s?)", err, suggest.Join(s, "or"))
		}
		return usageErr(err)
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return cmd.Help() }
}
