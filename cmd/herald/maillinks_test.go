package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var hrefRe = regexp.MustCompile(`href="([^"]+)"`)

// TestMailLinksAnswer: every Herald link in a digest, a topic subscriber's
// digest and a test send to an address without a subscription answers 200
// (no 404 "view in browser", no 400 preferences or unsubscribe), and the
// topic subscriber's "View in your browser" shows their own selection.
func TestMailLinksAnswer(t *testing.T) {
	dir := t.TempDir()
	cfgPath := digestConfig(t, dir, `http: {listen: "127.0.0.1:0"}`)
	if code, _, errs := runCLI(t, nil, "--config", cfgPath, "import", filepath.Join("..", "..", "examples", "articles")); code != 0 {
		t.Fatal(errs)
	}
	addSubscribers(t, filepath.Join(dir, "h.db"), 2, map[int]string{2: "interview"})
	if code, _, errs := runCLI(t, nil, "--config", cfgPath, "digest", "send", "--newsletter", "monthly", "--now"); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := runCLI(t, nil, "--config", cfgPath, "digest", "send", "--newsletter", "monthly", "--test-to", "editor@example.org"); code != 0 {
		t.Fatal(errs)
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
	base := strings.TrimRight(cfg.Site.BaseURL, "/")
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + d.Addr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	files := outboxFiles(t, dir)
	if len(files) != 3 {
		t.Fatalf("outbox holds %d mails, want 3", len(files))
	}
	var topicView string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := parseMail(t, raw)
		to := m.Header.Get("To")
		links := []string{strings.Trim(m.Header.Get("List-Unsubscribe"), "<>")}
		for _, h := range hrefRe.FindAllStringSubmatch(m.HTML, -1) {
			links = append(links, strings.ReplaceAll(h[1], "&amp;", "&"))
		}
		checked := 0
		for _, l := range links {
			path, ok := strings.CutPrefix(l, base)
			if !ok {
				continue
			}
			checked++
			if code, _ := get(path); code != http.StatusOK {
				t.Errorf("%s: link %s answers %d", to, l, code)
			}
			if strings.Contains(to, "reader2@") && strings.HasPrefix(path, "/newsletters/monthly/") && strings.Count(path, "/") == 4 {
				topicView = path
			}
		}
		if checked < 5 {
			t.Errorf("%s: only %d Herald links checked", to, checked)
		}
	}
	if topicView == "" {
		t.Fatal("the topic subscriber's mail has no link to their own variant")
	}
	_, body := get(topicView)
	if !strings.Contains(body, "for the topics") || strings.Count(body, `aria-label="Read more: `) != 1 || strings.Contains(body, "~HERALD~") {
		t.Errorf("topic variant page %s does not show the topic selection:\n%s", topicView, body)
	}
	if _, full := get("/newsletters/monthly/1"); strings.Count(full, "<h4") < 2 {
		t.Error("the full issue does not hold every article")
	}
}
