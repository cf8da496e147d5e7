package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var atomEntryID = regexp.MustCompile(`(?s)<entry>.*?<title[^>]*>([^<]*)</title>.*?<id>([^<]+)</id>`)

// entryIDs maps each entry's title to its id in an Atom feed.
func entryIDs(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range atomEntryID.FindAllStringSubmatch(body, -1) {
		out[m[1]] = m[2]
	}
	return out
}

// serveOnce starts serve with env, reads the site's Atom feed and stops.
func serveOnce(t *testing.T, env map[string]string) string {
	t.Helper()
	cfg, err := LoadConfig("", env)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	code, body := get(t, "http://"+d.Addr()+"/feed.atom")
	if code != 200 {
		t.Fatalf("feed: %d %s", code, body)
	}
	return body
}

// TestFeedIDsStable: an article's feed id is fixed when it is first
// published; correcting its date and title and moving the site to another
// domain (a restart with another site.base_url) keep it, so feed readers
// do not show the article twice.
func TestFeedIDsStable(t *testing.T) {
	env, _ := testEnv(t)
	env["HERALD_CONTENT_WATCH"] = "false"
	env["HERALD_SITE_BASE_URL"] = "https://news.example.org"
	file := filepath.Join(env["HERALD_CONTENT_DIR"], "2026-10-01-partner-meeting.md")
	os.WriteFile(file, articleFile("Partner meeting", "2026-10-01"), 0o644)

	first := entryIDs(t, serveOnce(t, env))["Partner meeting"]
	if !strings.HasPrefix(first, "tag:news.example.org,") || !strings.HasSuffix(first, ":/articles/partner-meeting") {
		t.Fatalf("id %q", first)
	}

	os.WriteFile(file, articleFile("Partner meeting in Aalborg", "2026-09-24"), 0o644)
	env["HERALD_SITE_BASE_URL"] = "https://herald.example.com"
	os.WriteFile(filepath.Join(env["HERALD_CONTENT_DIR"], "2026-10-02-later.md"), articleFile("Later news", "2026-10-02"), 0o644)
	body := serveOnce(t, env)
	ids := entryIDs(t, body)
	if got, ok := ids["Partner meeting in Aalborg"]; !ok || got != first {
		t.Errorf("after correcting date and title and moving the site: id %q (ok %v), want %q\n%s", got, ok, first, body)
	}
	// The authority was fixed at the store's first start.
	if got := ids["Later news"]; !strings.HasPrefix(got, "tag:news.example.org,") {
		t.Errorf("new article after the move: id %q, want the authority fixed at first start", got)
	}
	if !strings.Contains(body, `href="https://herald.example.com/articles/partner-meeting"`) {
		t.Error("links should follow the new base URL")
	}
}
