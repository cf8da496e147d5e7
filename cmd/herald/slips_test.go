package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestArchiveTellsIssuesApart: two issues with one subject are told
// apart on /newsletters by the period their articles span and their
// article count, and the CLI counts "1 article", not "1 articles".
func TestArchiveTellsIssuesApart(t *testing.T) {
	dir := t.TempDir()
	cfgPath := digestConfig(t, dir, `http: {listen: "127.0.0.1:0"}`)
	if code, _, errs := runCLI(t, nil, "--config", cfgPath, "import", filepath.Join("..", "..", "examples", "articles")); code != 0 {
		t.Fatal(errs)
	}
	addSubscribers(t, filepath.Join(dir, "h.db"), 2, nil)
	// max_articles is 3: the eight examples go out as 3, 3 and 2.
	for i, want := range []string{"run 1: 3 articles to 2 recipients", "run 2: 3 articles", "run 3: 2 articles"} {
		if code, out, errs := runCLI(t, nil, "--config", cfgPath, "digest", "send", "--newsletter", "monthly", "--now"); code != 0 || !strings.Contains(out, want) {
			t.Fatalf("send %d: %s%s", i+1, out, errs)
		}
	}
	day := time.Now().UTC().AddDate(0, 0, -1)
	extra := filepath.Join(dir, "extra")
	os.MkdirAll(extra, 0o755)
	os.WriteFile(filepath.Join(extra, "late-news.md"), fmt.Appendf(nil, "---\ntitle: Late news\ndate: %s\n---\nBody.\n", day.Format("2006-01-02")), 0o644)
	if code, _, errs := runCLI(t, nil, "--config", cfgPath, "import", extra); code != 0 {
		t.Fatal(errs)
	}
	if code, out, errs := runCLI(t, nil, "--config", cfgPath, "digest", "send", "--newsletter", "monthly", "--now"); code != 0 || !strings.Contains(out, "run 4: 1 article to 2 recipients") {
		t.Fatalf("last send: %s%s", out, errs)
	}
	cfg, err := LoadConfig(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	resp, err := http.Get("http://" + d.Addr() + "/newsletters")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	metas := regexp.MustCompile(`<p class="meta">([^<]*<time[^>]*>[^<]*</time>[^<]*)</p>`).FindAllStringSubmatch(string(b), -1)
	subjects := regexp.MustCompile(`<h2><a href="/newsletters/monthly/\d+">([^<]*)</a></h2>`).FindAllStringSubmatch(string(b), -1)
	if len(metas) != 4 || len(subjects) != 4 || subjects[0][1] != subjects[3][1] {
		t.Fatalf("want four issues with one subject:\n%s", b)
	}
	if !strings.HasSuffix(metas[0][1], " · 1 article, "+day.Format("2 January 2006")) {
		t.Errorf("newest issue: %q", metas[0][1])
	}
	span := regexp.MustCompile(` · ([23]) articles, \d{1,2}( [A-Z][a-z]+ )?–( )?\d{1,2} [A-Z][a-z]+ \d{4}$`)
	seen := map[string]bool{}
	for i, m := range metas {
		if i > 0 && !span.MatchString(m[1]) {
			t.Errorf("issue %d: %q", i+1, m[1])
		}
		if seen[m[1]] {
			t.Errorf("two issues read alike: %q", m[1])
		}
		seen[m[1]] = true
	}
}

// TestFeedCommandErrors: an error of `herald feed` names the command once.
func TestFeedCommandErrors(t *testing.T) {
	env, _ := testEnv(t)
	if code, _, errs := runCLI(t, env, "import", filepath.Join("..", "..", "examples", "articles")); code != 0 {
		t.Fatalf("import: %d %s", code, errs)
	}
	code, _, errs := runCLI(t, env, "feed", "--tag", "nope")
	if code != 1 || !strings.Contains(errs, `feed: unknown tag: "nope"`) || strings.Contains(errs, "feed: feed:") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
