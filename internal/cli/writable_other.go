//go:build !unix

package cli

// writable cannot be known without creating a file where access(2) does
// not exist (a read-only attribute on a Windows directory does not stop
// files being created in it); the write itself reports a failure.
func writable(string) error { return nil }
