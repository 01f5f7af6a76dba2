package cli

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/sagefence/sagefence/internal/awsclient"
)

// Input every command checks the same way, before it reads AWS: region
// names and output paths. The configured region
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
