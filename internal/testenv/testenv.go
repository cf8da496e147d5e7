// Package testenv lets tests use outside programs (jing, chromium,
// mailpit, wrk, nginx …) without making `go test ./...` fail on a machine
// with only Go; everything else a test reads is in the repository. What is
// missing skips the test with a one-line reason, unless
// HERALD_TEST_REQUIRE_ALL=1 (set by .ci/run after installing everything),
// when it fails the test instead (docs/ARCHITECTURE.md, "Tests").
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireAllEnv is the environment variable that turns skips into failures.
const RequireAllEnv = "HERALD_TEST_REQUIRE_ALL"

// RequireAll reports whether missing tools must fail tests.
func RequireAll() bool { return os.Getenv(RequireAllEnv) == "1" }

// Missing skips t (or fails it under HERALD_TEST_REQUIRE_ALL=1) because
// of what is missing.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("%s (required: %s=1)", reason, RequireAllEnv)
	}
	t.Skip(reason)
}

// Need returns the path of the program name on PATH, or skips/fails t.
func Need(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" not found on PATH")
	}
	return p
}

// RepoRoot is the directory holding go.mod, found upwards from the
// working directory (a package's directory under go test).
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testenv: no go.mod above the working directory")
		}
		dir = parent
	}
}
