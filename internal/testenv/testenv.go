// Package testenv lets tests use outside programs (chromium, jing,
// smtp-sink, mailpit, …) under the policy of DESIGN §3.6: a missing program
// skips the test with a one-line reason, unless HERALD_TEST_REQUIRE_ALL=1,
// which CI sets after installing them all, so there it fails instead.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// RequireAll reports whether every outside dependency must be present.
func RequireAll() bool { return os.Getenv("HERALD_TEST_REQUIRE_ALL") == "1" }

// Missing skips t, or fails it when RequireAll, with reason.
func Missing(t testing.TB, reason string) {
	t.Helper()
	if RequireAll() {
		t.Fatalf("HERALD_TEST_REQUIRE_ALL=1 but %s", reason)
	}
	t.Skip("skipped: " + reason)
}

// Need returns the path of program, or skips/fails t when it is missing.
func Need(t testing.TB, program string) string {
	t.Helper()
	p, err := exec.LookPath(program)
	if err != nil {
		Missing(t, program+" is not installed")
	}
	return p
}

// RepoRoot is the repository root (the folder holding go.mod).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("testenv: cannot locate source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// SharedDir is ../shared beside the repository (DESIGN.md, schemas); it
// exists in CI and on developers' machines, not in a fresh clone.
func SharedDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(RepoRoot(t), "..", "shared")
	if _, err := os.Stat(d); err != nil {
		Missing(t, "../shared is not beside the repository")
	}
	return d
}
