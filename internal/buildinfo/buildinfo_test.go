package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFromPrefersTheLinkerThenTheModuleThenTheCheckout(t *testing.T) {
	checkout := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/sagefence/sagefence", Version: "v0.0.0-20260102030405-0123456789ab+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	installed := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}}
	devel := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		ld   Linker
		want Info
	}{
		{"go build in a checkout: pseudo-version and commit", checkout, Linker{},
			Info{Version: "0.0.0-20260102030405-0123456789ab+dirty", Commit: "0123456789abcdef0123456789abcdef01234567",
				CommitTime: "2026-01-02T03:04:05Z", Modified: true, GoVersion: "go1.26.8"}},
		{"go install module@version: the module version", installed, Linker{}, Info{Version: "1.4.0", GoVersion: "go1.26.8"}},
		{"no version known", devel, Linker{}, Info{Version: "dev", GoVersion: "go1.26.8"}},
		{"release build: the linker's values win", checkout, Linker{Version: "v1.5.0", Commit: "fedcba", Date: "2026-02-03T00:00:00Z"},
			Info{Version: "1.5.0", Commit: "fedcba", CommitTime: "2026-01-02T03:04:05Z", Modified: true,
				BuildDate: "2026-02-03T00:00:00Z", GoVersion: "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := From(tt.bi, tt.ld)
			got.Platform = ""
			if got != tt.want {
				t.Errorf("From:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestStringShortensTheCommitAndMarksAModifiedTree(t *testing.T) {
	i := Info{Version: "1.5.0", Commit: "0123456789abcdef0123", Modified: true, BuildDate: "2026-02-03T00:00:00Z", GoVersion: "go1.26.8", Platform: "linux/amd64"}
	if got, want := i.String(), "1.5.0 (commit 0123456789ab-dirty, built 2026-02-03T00:00:00Z, go1.26.8 linux/amd64)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	i = Info{Version: "dev", CommitTime: "2026-01-02T03:04:05Z", GoVersion: "go1.26.8", Platform: "linux/arm64"}
	if got, want := i.String(), "dev (committed 2026-01-02T03:04:05Z, go1.26.8 linux/arm64)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
