//go:build unix

package cli

import "golang.org/x/sys/unix"

// writable reports whether files can be created in dir, by access(2): it
// creates nothing. (As root it is always true, as writing would be.)
func writable(dir string) error {
	return unix.Access(dir, unix.W_OK|unix.X_OK)
}
