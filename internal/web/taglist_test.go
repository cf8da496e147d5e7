package web_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

// syncBuffer is a log sink shared by the request goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// tagList is "t0,t1,…" with n distinct tags.
func tagList(n int) string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("t%d", i)
	}
	return strings.Join(names, ",")
}

// TestTagListBounds: every surface that reads a tag list (feeds, embed
// builder, frame, subscribe) refuses a query over 2 KiB or more than 50
// tags with a 400 that says so, and logs no error for it. Before, a 1 MB
// ?tags= made a 15.8 MB frame.
func TestTagListBounds(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, a := range embedArticles() {
		if _, err := st.UpsertArticle(ctx, a, embedNow); err != nil {
			t.Fatal(err)
		}
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	fh := feed.NewHandler(st, feed.Site{Title: "Herald Test", BaseURL: base, Language: "en", Author: "Test"}, feed.Options{
		Items: 20, MaxItems: 100, Now: func() time.Time { return embedNow }, Logger: log})
	if _, err := fh.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := subscribe.New(subscribe.Config{
		BaseURL: base, SiteTitle: "Herald Test", Newsletters: []subscribe.Newsletter{{ID: "monthly", Title: "Monthly", Default: true}},
		ConfirmTTL: 7 * 24 * time.Hour, ResendInterval: time.Hour, ConsentText: "I agree.",
		Templates: templates.Embedded(), Tokens: subscribe.NewTokens([][]byte{[]byte("test-key-0123456789abcdef")}), Store: st,
		Mailer: subscribetest.NewMailer(), Now: func() time.Time { return embedNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Config{
		Site:  web.Site{Title: "Herald Test", BaseURL: base, Language: "en", Location: time.UTC},
		Store: st, Feeds: feedRoutes{fh}, Templates: templates.Embedded(), PageSize: 20, MaxItems: 100,
		Now: func() time.Time { return embedNow }, Logger: log,
		Subscribe: &web.SubscribeConfig{Service: svc, AllowedOrigins: []string{"*"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)

	huge := "tags=" + strings.Repeat("a,", 512<<10) // 1 MiB
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		want                            string
		language                        string // Accept-Language, if any
	}{
		{"OKFrameFiftyTags", "GET", "/embed/frame?tags=" + tagList(50), "", "", 200, "", ""},
		// Fifty are accepted: the feed then looks them up (none exist: 404).
		{"OKFeedFiftyTags", "GET", "/feed.atom?tags=" + tagList(50), "", "", 404, "unknown tag", ""},
		{"ErrFrameHugeQuery", "GET", "/embed/frame?" + huge, "", "", 400, "longer than 2048 bytes", ""},
		{"ErrBuilderHugeQuery", "GET", "/embed?" + huge, "", "", 400, "longer than 2048 bytes", ""},
		{"ErrFeedHugeQuery", "GET", "/feed.json?" + huge, "", "", 400, "longer than 2048 bytes", ""},
		{"ErrFrameTooManyTags", "GET", "/embed/frame?tags=" + tagList(51), "", "", 400, "more than 50 tags", ""},
		{"ErrFrameTooManyRepeated", "GET", "/embed/frame?tags=" + strings.ReplaceAll(tagList(51), ",", "&tags="), "", "", 400, "more than 50 tags", ""},
		{"ErrBuilderTooManyTags", "GET", "/embed?tags=" + tagList(51), "", "", 400, "more than 50 tags", ""},
		// A reader of another language gets both bounds in it.
		{"ErrBuilderTooManyTagsGerman", "GET", "/embed?tags=" + tagList(51), "", "", 400, "höchstens 50 Themen, in einer Adresse von höchstens 2048 Byte", "de"},
		{"ErrFrameHugeQuerySwedish", "GET", "/embed/frame?" + huge, "", "", 400, "högst 50 ämnen, i en adress på högst 2048 byte", "sv"},
		{"ErrFeedTooManyTags", "GET", "/feed.rss?tags=" + tagList(51), "", "", 400, "more than 50 tags", ""},
		{"ErrTagFeedTooManyTags", "GET", "/tags/wp4/feed.atom?tags=" + tagList(51), "", "", 400, "more than 50 tags", ""},
		{"ErrSubscribeJSONTooManyTags", "POST", "/subscribe", "application/json",
			`{"email":"t@example.org","tags":["` + strings.ReplaceAll(tagList(51), ",", `","`) + `"]}`, 400, "more than 50 tags", ""},
		{"ErrSubscribeFormTooManyTags", "POST", "/subscribe", "application/x-www-form-urlencoded",
			"email=t%40example.org&tag=" + strings.ReplaceAll(tagList(51), ",", "&tag="), 400, "more than 50 tags", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.language != "" {
				req.Header.Set("Accept-Language", tt.language)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(body.String(), tt.want) {
				t.Fatalf("status %d, want %d with %q: %.300s", resp.StatusCode, tt.status, tt.want, body.String())
			}
		})
	}
	if strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("bad client input logged as an error:\n%s", logs.String())
	}
}
