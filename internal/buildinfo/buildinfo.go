// Package buildinfo owns what a sagefence binary knows about its own build:
// its version, the commit and time of the source, when it was built and by
// which Go. It reads the Go toolchain's build information, so a binary from
// `go install module@version` reports its module version and one from `go
// build` in a checkout its commit; a release build sets the version, commit
// and build date with the linker (-ldflags -X), which win.
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the linker in release builds, for example
//
//	-X github.com/sagefence/sagefence/internal/buildinfo.version=1.2.0
//
// The linker can only set package-level string variables; no code writes
// them.
var (
	version string
	commit  string
	date    string
)

// Info describes a build. Empty fields are unknown.
type Info struct {
	// Version is the release version (no leading "v"), the module version
	// of `go install`, a pseudo-version from the checkout's commit, or
	// "dev" when none is known.
	Version string `json:"version"`
	// Commit is the full revision of the source.
	Commit string `json:"commit,omitempty"`
	// CommitTime is the commit's time, RFC 3339.
	CommitTime string `json:"commit_time,omitempty"`
	// Modified is true when the checkout had uncommitted changes.
	Modified bool `json:"modified,omitempty"`
	// BuildDate is when a release was built (set by the release build).
	BuildDate string `json:"build_date,omitempty"`
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string `json:"go_version"`
	// Platform is GOOS/GOARCH.
	Platform string `json:"platform"`
}

// Linker is what the release build sets with -ldflags -X.
type Linker struct{ Version, Commit, Date string }

// Read returns this binary's build information.
func Read() Info {
	bi, _ := debug.ReadBuildInfo()
	return From(bi, Linker{Version: version, Commit: commit, Date: date})
}

// From combines the toolchain's build information (nil when the binary has
// none) with what the linker set, which wins.
func From(bi *debug.BuildInfo, ld Linker) Info {
	info := Info{Version: "dev", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			info.Version = strings.TrimPrefix(v, "v")
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.time":
				info.CommitTime = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if ld.Version != "" {
		info.Version = strings.TrimPrefix(ld.Version, "v")
	}
	if ld.Commit != "" {
		info.Commit = ld.Commit
	}
	info.BuildDate = ld.Date
	return info
}

// String is the one-line form: "1.2.0 (commit 0123abc, built 2026-01-02T03:04:05Z, go1.26.8 linux/amd64)".
func (i Info) String() string {
	var parts []string
	if i.Commit != "" {
		c := i.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		if i.Modified {
			c += "-dirty"
		}
		parts = append(parts, "commit "+c)
	}
	if i.BuildDate != "" {
		parts = append(parts, "built "+i.BuildDate)
	} else if i.CommitTime != "" {
		parts = append(parts, "committed "+i.CommitTime)
	}
	parts = append(parts, i.GoVersion+" "+i.Platform)
	return i.Version + " (" + strings.Join(parts, ", ") + ")"
}
