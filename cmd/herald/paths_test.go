package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/store/sqlite"
)

// etcConfig writes a config file with relative paths into its own
// folder, away from the working directory the test moves to.
func etcConfig(t *testing.T, body string) (cfgPath, etc, cwd string) {
	t.Helper()
	root := t.TempDir()
	etc, cwd = filepath.Join(root, "etc"), filepath.Join(root, "elsewhere")
	for _, d := range []string{etc, cwd} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfgPath = filepath.Join(etc, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(cwd)
	return cfgPath, etc, cwd
}

// TestRelativePaths: relative paths in a config file are relative to its
// folder, those from the environment or defaults to the working directory.
func TestRelativePaths(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		cfgPath, etc, cwd := etcConfig(t, "store: {dsn: data/h.db}\ncontent: {dir: articles, watch: false}\n"+
			"mail: {outbox_dir: outbox, dkim: {domain: example.org, selector: s1, key_file: dkim.pem}}\ntemplates: {dir: tpl}\n")
		cfg, err := LoadConfig(cfgPath, map[string]string{"HERALD_MAIL_OUTBOX_DIR": "spool"})
		if err != nil {
			t.Fatal(err)
		}
		for got, want := range map[string]string{
			cfg.Store.DSN:         filepath.Join(etc, "data", "h.db"),
			cfg.Content.Dir:       filepath.Join(etc, "articles"),
			cfg.Templates.Dir:     filepath.Join(etc, "tpl"),
			cfg.Mail.DKIM.KeyFile: filepath.Join(etc, "dkim.pem"),
			cfg.Mail.OutboxDir:    "spool", // from the environment: the working directory's
		} {
			if got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		}
		os.WriteFile(cfgPath, []byte("store: {dsn: data/h.db}\nmail: {outbox_dir: outbox}\n"), 0o644) // no DKIM key to read
		if code, _, stderr := runCLI(t, map[string]string{}, "--config", cfgPath, "subscribers", "add", "asa@example.org", "--confirmed"); code != 0 {
			t.Fatalf("subscribers add: %s", stderr)
		}
		if !fileExists(filepath.Join(etc, "data", "h.db")) || fileExists(filepath.Join(cwd, "data")) {
			t.Errorf("the store was not made beside the config file")
		}
		if code, out, stderr := runCLI(t, map[string]string{}, "--config", cfgPath, "subscribers", "list"); code != 0 || !strings.Contains(out, "asa@example.org") {
			t.Errorf("list: %d %q %q", code, out, stderr)
		}
	})
	t.Run("ErrStoreMoved", func(t *testing.T) {
		cfgPath, etc, cwd := etcConfig(t, "store: {dsn: data/herald.db}\n")
		// Where earlier versions put it: relative to the working directory.
		old, err := sqlite.Open(context.Background(), filepath.Join(cwd, "data", "herald.db"))
		if err != nil {
			t.Fatal(err)
		}
		old.Close()
		for _, args := range [][]string{{"check"}, {"subscribers", "list"}, {"serve"}} {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // a serve that starts stops at once
			var out, errb strings.Builder
			code := exitCode(run(ctx, append([]string{"--config", cfgPath}, args...), map[string]string{}, &out, &errb), &errb)
			if code != 1 || !strings.Contains(errb.String(), filepath.Join(etc, "data", "herald.db")) ||
				!strings.Contains(errb.String(), filepath.Join(cwd, "data", "herald.db")) {
				t.Errorf("%s: exit %d, %q: want a refusal naming both paths", args, code, errb.String())
			}
		}
		if fileExists(filepath.Join(etc, "data")) {
			t.Errorf("an empty store was started beside the config file")
		}
	})
}

// TestMissingStore: only the commands that put something into the store
// create it; any other on a missing store is an error, not an empty answer.
func TestMissingStore(t *testing.T) {
	articles, err := filepath.Abs(filepath.Join("..", "..", "examples", "articles"))
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(t *testing.T) (string, string) {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "config.yaml")
		os.WriteFile(cfg, []byte("store: {dsn: data/h.db}\ncontent: {dir: "+articles+", watch: false}\nmail: {outbox_dir: outbox}\n"), 0o644)
		return cfg, filepath.Join(dir, "data", "h.db")
	}
	csv := filepath.Join(t.TempDir(), "subs.csv")
	os.WriteFile(csv, []byte("email\nbo@example.org\n"), 0o644)
	backupCfg, _ := fresh(t)
	backup := filepath.Join(t.TempDir(), "b.db")
	if code, _, stderr := runCLI(t, nil, "--config", backupCfg, "subscribers", "add", "a@example.org", "--confirmed"); code != 0 {
		t.Fatal(stderr)
	}
	if code, _, stderr := runCLI(t, nil, "--config", backupCfg, "backup", backup); code != 0 {
		t.Fatal(stderr)
	}
	t.Run("ErrReaders", func(t *testing.T) {
		for _, args := range [][]string{
			{"subscribers", "list"}, {"subscribers", "export"}, {"subscribers", "remove", "a@example.org"},
			{"subscribers", "erase", "a@example.org"}, {"subscribers", "export-data", "a@example.org"},
			{"digest", "status"}, {"digest", "preview"}, {"digest", "pause", "--run", "1"},
			{"feed"}, {"backup", filepath.Join(t.TempDir(), "x.db")},
		} {
			cfg, db := fresh(t)
			code, out, stderr := runCLI(t, nil, append([]string{"--config", cfg}, args...)...)
			if code != 1 || !strings.Contains(stderr, "no store at "+db) || out != "" {
				t.Errorf("%s: exit %d, stdout %q, stderr %q: want an error naming %s", args, code, out, stderr, db)
			}
			if fileExists(db) {
				t.Errorf("%s created the store", args)
			}
		}
	})
	t.Run("OKCreators", func(t *testing.T) {
		for _, args := range [][]string{
			{"import", articles}, {"subscribers", "add", "a@example.org"}, {"subscribers", "import", csv},
			{"digest", "send", "--newsletter", "monthly", "--now"}, {"restore", backup},
		} {
			cfg, db := fresh(t)
			if code, _, stderr := runCLI(t, nil, append([]string{"--config", cfg}, args...)...); code != 0 || !fileExists(db) {
				t.Errorf("%s: exit %d (%s), store made: %v", args, code, stderr, fileExists(db))
			}
		}
	})
}

// TestBaseURLFollowsListen: with site.base_url left at its default, a
// changed http.listen is where links point, and serve says which key to
// set.
func TestBaseURLFollowsListen(t *testing.T) {
	tests := []struct {
		name, listen, base, want string
		warn                     bool
	}{
		{"OKPort", ":9000", "", "http://localhost:9000", true},
		{"OKHost", "127.0.0.1:9001", "", "http://127.0.0.1:9001", true},
		{"OKWildcard", "[::]:9002", "", "http://localhost:9002", true},
		{"OKBaseSet", ":9000", "https://news.example.org", "https://news.example.org", false},
		{"OKDefaults", "", "", "http://localhost:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			if tt.listen != "" {
				env["HERALD_HTTP_LISTEN"] = tt.listen
			}
			if tt.base != "" {
				env["HERALD_SITE_BASE_URL"] = tt.base
			}
			cfg, err := LoadConfig("", env)
			if err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(cfg.Warnings().Error(), "set site.base_url")
			if cfg.Site.BaseURL != tt.want || warned != tt.warn {
				t.Errorf("base_url %q (warning %v), want %q (%v)", cfg.Site.BaseURL, warned, tt.want, tt.warn)
			}
		})
	}
	t.Run("OKServe", func(t *testing.T) {
		env, _ := testEnv(t) // http.listen 127.0.0.1:0, base_url default
		env["HERALD_CONTENT_WATCH"] = "false"
		cfg, err := LoadConfig("", env)
		if err != nil {
			t.Fatal(err)
		}
		var logs strings.Builder
		d, err := startDaemon(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		base := "http://" + d.Addr()
		code, body := get(t, base+"/feed.atom")
		if code != 200 || !strings.Contains(body, `href="`+base+`/feed.atom"`) {
			t.Errorf("feed does not link to %s:\n%.600s", base, body)
		}
		if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "set site.base_url") {
			t.Errorf("no WARN naming site.base_url:\n%s", l)
		}
	})
}
