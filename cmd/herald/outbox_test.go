package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestOutboxLeftoversCleaned: temporary files a crash left in the outbox
// are removed when a command next opens it, but only those older than
// digest.lease; a younger one may be another process's write in flight.
func TestOutboxLeftoversCleaned(t *testing.T) {
	env, dir := testEnv(t)
	env["HERALD_DIGEST_LEASE"] = "30s"
	outbox := filepath.Join(dir, "outbox")
	if err := os.MkdirAll(outbox, 0o750); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(outbox, ".tmp-20260101T000000Z-aa.eml-123")
	fresh := filepath.Join(outbox, ".tmp-20260101T000001Z-bb.eml-456")
	other := filepath.Join(outbox, ".keep-me")
	for _, p := range []string{stale, fresh, other} {
		if err := os.WriteFile(p, []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{stale, other} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, stderr := runCLI(t, env, "subscribers", "add", "leftover@example.org", "--newsletter", "monthly"); code != 0 {
		t.Fatalf("add: %d %s", code, stderr)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file still there (%v)", err)
	}
	for _, p := range []string{fresh, other} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", filepath.Base(p), err)
		}
	}
	if n := len(outboxFiles(t, dir)); n != 1 {
		t.Errorf("%d mails in the outbox, want 1", n)
	}
}
