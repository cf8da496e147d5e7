package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckEveryProblem: check lists every problem of a file at once,
// unknown keys, bad values and failed checks, each with key and line.
func TestCheckEveryProblem(t *testing.T) {
	p := writeConfig(t, `site:
  colour: red
http:
  listen: nonsense
feed:
  items: 0
digest:
  lease: soon
newsletters:
  - id: weekly
    schedule: "0 9 * * 1"
  - title: No id
metrics:
  listen: "localhost:99999"
`)
	code, _, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		p + ":2: site.colour: unknown key",
		p + ":4: http.listen:",
		p + ":6: feed.items:",
		p + ":8: digest.lease:",
		p + ":10: newsletters[0].title: is required",
		p + ":12: newsletters[1].id: is required",
		p + ":14: metrics.listen:",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := len(strings.Split(strings.TrimSpace(stderr), "\n")); n != 7 {
		t.Errorf("%d lines, want 7 (one a problem):\n%s", n, stderr)
	}
}

func TestValidListen(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{":8080", true}, {"127.0.0.1:8080", true}, {"[::1]:8080", true}, {"localhost:8080", true}, {"news.example.org:443", true},
		{"nonsense", false}, {"localhost:99999", false}, {"127.0.0.1", false}, {"bad host!:80", false}, {":", false}, {"", false},
	} {
		if err := validListen(tt.addr); (err == nil) != tt.ok {
			t.Errorf("validListen(%q) = %v, want ok %v", tt.addr, err, tt.ok)
		}
	}
	_, err := LoadConfig("", map[string]string{"HERALD_HTTP_LISTEN": "nonsense"})
	if err == nil || !strings.Contains(err.Error(), "http.listen") || !strings.Contains(err.Error(), "HERALD_HTTP_LISTEN") {
		t.Errorf("from the environment: %v", err)
	}
}

// TestNewsletterDefaults: an entry needs id and title; default is false,
// timezone site.timezone, every other key the shipped value.
func TestNewsletterDefaults(t *testing.T) {
	p := writeConfig(t, "site:\n  timezone: Europe/Oslo\n  base_url: https://news.example.org\nnewsletters:\n  - id: weekly\n    title: Weekly\n")
	code, out, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
	if code != 0 || !strings.HasSuffix(out, filepath.Base(p)+": ok\n") || stderr != "" {
		t.Fatalf("check: %d %q %q", code, out, stderr)
	}
	cfg, err := LoadConfig(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Newsletters[0]
	shipped := DefaultConfig().Newsletters[0]
	if got.Default || got.Timezone != "Europe/Oslo" || got.Schedule != shipped.Schedule || got.MaxArticles != shipped.MaxArticles ||
		got.FirstWindow.D() != 30*24*time.Hour || got.CatchUp.D() != 72*time.Hour || got.Subject != shipped.Subject || got.Tags == nil {
		t.Errorf("entry = %+v", got)
	}
}

// TestCheckWarnings: an http:// base URL with newsletters works but turns
// one-click unsubscribe off: check says so and still passes.
func TestCheckWarnings(t *testing.T) {
	p := writeConfig(t, "site:\n  base_url: http://news.example.org\n")
	code, out, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
	if code != 0 || !strings.Contains(out, "ok") || !strings.Contains(stderr, "warning: "+p+":2: site.base_url:") || !strings.Contains(stderr, "one-click") {
		t.Errorf("check: %d %q %q", code, out, stderr)
	}
	p = writeConfig(t, "site:\n  base_url: http://news.example.org\nnewsletters: []\n")
	if code, _, stderr := runCLI(t, map[string]string{}, "check", "--config", p); code != 0 || stderr != "" {
		t.Errorf("no newsletters, no warning: %d %q", code, stderr)
	}
}
