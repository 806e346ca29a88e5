// Package version says which tokenwatch this is.
package version

import (
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X github.com/tokenwatch/tokenwatch/internal/version.Version=v1.2.3".
var Version = "dev"

// Commit is the VCS revision the binary was built from, when Go recorded it.
func Commit() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	commit, dirty := "unknown", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty {
		commit += "-dirty"
	}
	return commit
}

// GoVersion is the Go release the binary was built with.
func GoVersion() string { return runtime.Version() }

// UserAgent is sent with every request tokenwatch makes.
func UserAgent() string { return "tokenwatch/" + Version }
