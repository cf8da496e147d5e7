package main

import (
	"fmt"
	"runtime/debug"
)

// Set with -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
var (
	version = ""
	commit  = ""
)

func versionString() (string, string) {
	v, c := version, commit
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && c == "" {
				c = s.Value
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	return v, c
}

func cmdVersion(e *env, args []string) error {
	if _, err := e.flags("version", "herald version", nil, args); err != nil {
		return helpOK(err)
	}
	v, c := versionString()
	fmt.Fprintf(e.stdout, "herald %s (commit %s)\n", v, c)
	return nil
}

// helpOK turns the help signal into success.
func helpOK(err error) error {
	if err == errHelp {
		return nil
	}
	return err
}
