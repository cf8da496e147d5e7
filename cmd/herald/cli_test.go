package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCLI runs herald in-process as the shell would, returning the exit
// status and both outputs.
func runCLI(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, env, &out, &errb)
	code := exitCode(err, &errb)
	return code, out.String(), errb.String()
}

// testEnv points the store and content folder into a temp dir.
func testEnv(t *testing.T) (map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	os.MkdirAll(content, 0o755)
	return map[string]string{
		"HERALD_STORE_DSN":       filepath.Join(dir, "h.db"),
		"HERALD_CONTENT_DIR":     content,
		"HERALD_MAIL_OUTBOX_DIR": filepath.Join(dir, "outbox"),
		"HERALD_HTTP_LISTEN":     "127.0.0.1:0",
	}, dir
}

func TestUsage(t *testing.T) {
	env, _ := testEnv(t)
	tests := []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"ErrNoCommand", nil, 2, "no command given"},
		{"ErrUnknownCommand", []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"ErrUnknownFlag", []string{"import", "--wat"}, 2, "flag provided but not defined"},
		{"ErrImportNoPath", []string{"import"}, 2, "no PATH given"},
		{"Help", []string{"--help"}, 0, ""},
		{"Version", []string{"version"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, env, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.err) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.err)
			}
		})
	}
	_, out, _ := runCLI(t, env, "version")
	if !strings.HasPrefix(out, "herald ") || !strings.Contains(out, "commit") {
		t.Errorf("version: %q", out)
	}
}

func TestCheck(t *testing.T) {
	env, dir := testEnv(t)
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("site:\n  title: Nyheter\n"), 0o644)
	code, out, stderr := runCLI(t, env, "check", "--config", good)
	if code != 0 || !strings.Contains(out, "good.yaml: ok") {
		t.Errorf("good: %d %q %q", code, out, stderr)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("site:\n  title: \"\"\n  colour: red\nfeed:\n  items: 0\n"), 0o644)
	code, _, stderr = runCLI(t, env, "--config", bad, "check")
	if code != 1 || !strings.Contains(stderr, "bad.yaml:3: site.colour: unknown key") {
		t.Errorf("unknown key: %d %q", code, stderr)
	}
	os.WriteFile(bad, []byte("site:\n  title: \"\"\nfeed:\n  items: 0\n"), 0o644)
	code, _, stderr = runCLI(t, env, "check", "--config", bad)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 1 || len(lines) != 2 || !strings.Contains(stderr, "bad.yaml:2: site.title") || !strings.Contains(stderr, "bad.yaml:4: feed.items") {
		t.Errorf("every problem, one a line: %d %q", code, stderr)
	}
	env["HERALD_CONFIG"] = good
	if code, out, _ := runCLI(t, env, "check"); code != 0 || !strings.Contains(out, "good.yaml") {
		t.Errorf("HERALD_CONFIG not used: %q", out)
	}
}

func TestImportCommand(t *testing.T) {
	env, dir := testEnv(t)
	src := filepath.Join(dir, "incoming")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "2026-10-01-gothenburg.md"), []byte("---\ntitle: Göteborg\ndate: 2026-10-01\ntags: [WP2]\n---\nHej.\n"), 0o644)
	os.WriteFile(filepath.Join(src, "nodate.md"), []byte("---\ntitle: No date\n---\n"), 0o644)
	os.WriteFile(filepath.Join(src, "badkey.md"), []byte("---\ntitle: x\ndate: 2026-10-01\nauthr: y\n---\n"), 0o644)

	code, out, stderr := runCLI(t, env, "import", "--dry-run", src)
	if code != 1 || !strings.Contains(out, "dry run: would have 1 added") {
		t.Errorf("dry run: %d %q %q", code, out, stderr)
	}
	code, out, stderr = runCLI(t, env, "import", src)
	if code != 1 || !strings.Contains(out, "1 added, 0 updated, 0 unchanged, 2 failed") {
		t.Errorf("import: %d %q", code, out)
	}
	for _, want := range []string{filepath.Join(src, "nodate.md") + ":2: date is required", filepath.Join(src, "badkey.md") + `:4: unknown front matter key "authr"`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	os.Remove(filepath.Join(src, "nodate.md"))
	os.Remove(filepath.Join(src, "badkey.md"))
	code, out, _ = runCLI(t, env, "import", src)
	if code != 0 || !strings.Contains(out, "0 added, 0 updated, 1 unchanged, 0 failed") {
		t.Errorf("re-import: %d %q", code, out)
	}
}
