package digest_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/templates"
)

var update = flag.Bool("update", false, "rewrite golden files")

var stockholm = mustLoc("Europe/Stockholm")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// links is a deterministic digest.Links.
type links struct{ base string }

func (l links) UnsubscribeURL(id int64, _ []byte, nl string) string {
	return fmt.Sprintf("%s/unsubscribe?token=u%d-%s", l.base, id, nl)
}
func (l links) PreferencesURL(id int64, _ []byte) string {
	return fmt.Sprintf("%s/preferences?token=p%d&x=1", l.base, id)
}

type env struct {
	st    *sqlite.Store
	clock *clock
	nl    digest.Newsletter
}

func newEnv(t testing.TB) *env {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{st: st, clock: &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)},
		nl: digest.Newsletter{ID: "monthly", Title: "Cluster Bridge Monthly", Schedule: "0 9 1 * *", Location: stockholm,
			MaxArticles: 20, FirstWindow: 30 * 24 * time.Hour, CatchUp: 72 * time.Hour,
			Subject: "{{.Newsletter.Title}} — {{.Period}}"}}
}

func (e *env) service(t testing.TB, m digest.Mailer, mod func(*digest.Config)) *digest.Service {
	t.Helper()
	cfg := digest.Config{
		Newsletters: []digest.Newsletter{e.nl},
		Site: digest.Site{Title: "Herald News", BaseURL: "https://news.example.org", Language: "en",
			Address: "Cluster Bridge Secretariat, Lindholmspiren 5, 417 56 Göteborg, Sweden"},
		Templates:   templates.Embedded(),
		From:        &netmail.Address{Name: "Herald News", Address: "news@example.org"},
		Store:       e.st,
		Mailer:      m,
		Links:       links{"https://news.example.org"},
		Lease:       30 * time.Second,
		MaxAttempts: 4,
		RetryBase:   10 * time.Millisecond,
		Workers:     4,
		Logger:      slog.New(slog.DiscardHandler),
		Now:         e.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := digest.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func (e *env) article(t testing.TB, slug, title string, published time.Time, tags ...string) {
	t.Helper()
	a := &article.Article{Slug: slug, Title: title, Published: published, Source: article.SourceAPI, ContentHash: slug,
		Summary: "Summary of " + title + ": what happened & why <it> matters.", AuthorName: "Liesbeth Van den Broeck"}
	for _, tg := range tags {
		a.Tags = append(a.Tags, article.Tag{Name: strings.ToUpper(tg[:1]) + tg[1:], Slug: tg})
	}
	if slug == "harbour-workshop" {
		a.Image = &article.Image{MediaPath: "images/harbour-workshop.png", Alt: "Workshop at the harbour", Width: 1200, Height: 600}
	}
	if _, err := e.st.UpsertArticle(context.Background(), a, published); err != nil {
		t.Fatal(err)
	}
}

// subscribers inserts n active subscribers of monthly straight into the
// store (the subscribe engine owns the real path).
func (e *env) subscribers(t testing.TB, n int, tags map[int][]string) {
	t.Helper()
	db := openRaw(t, e.st.Path())
	defer db.close()
	for i := 1; i <= n; i++ {
		db.exec(t, `INSERT INTO subscribers (id, email, name, status, created_at, updated_at) VALUES (?, ?, ?, 'active', 0, 0)`,
			i, fmt.Sprintf("user%d@example.net", i), fmt.Sprintf("Reader Nº%d", i))
		db.exec(t, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES ('monthly', ?, 0)`, i)
		for _, tg := range tags[i] {
			db.exec(t, `INSERT INTO subscriber_tags (subscriber_id, tag_slug) VALUES (?, ?)`, i, tg)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		ok         bool
	}{
		{"OK", "0 9 1 * *", true},
		{"OKDescriptor", "@monthly", true},
		{"OKEvery", "@every 1h", true},
		{"ErrBareTZ", "CRON_TZ=UTC", false},
		{"ErrTZInSpec", "CRON_TZ=UTC 0 9 1 * *", false},
		{"ErrSeconds", "0 0 9 1 * *", false},
		{"ErrEmpty", " ", false},
		{"ErrGarbage", "every monday", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := digest.ParseSchedule(tc.spec, stockholm)
			if (err == nil) != tc.ok {
				t.Fatalf("ParseSchedule(%q) = %v", tc.spec, err)
			}
		})
	}
}

// TestDSTRepeat: on the autumn change 02:30 happens twice in Stockholm;
// robfig/cron fires both, and the slot key makes them one run.
func TestDSTRepeat(t *testing.T) {
	e := newEnv(t)
	e.nl.Schedule = "30 2 * * *"
	e.nl.SendIfEmpty = true
	s := e.service(t, nil, nil)
	sched, _ := digest.ParseSchedule(e.nl.Schedule, stockholm)
	first := sched.Next(time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC))
	second := first.Add(time.Hour) // 02:30 CET after 02:30 CEST
	if k1, k2 := digest.SlotKey(first, stockholm), digest.SlotKey(second, stockholm); k1 != k2 || k1 != "2026-10-25T02:30" {
		t.Fatalf("keys %s %s", k1, k2)
	}
	ctx := context.Background()
	if _, err := s.PlanSlot(ctx, "monthly", first); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PlanSlot(ctx, "monthly", second); !errors.Is(err, digest.ErrAlreadyPlanned) {
		t.Fatalf("repeat hour planned again: %v", err)
	}
}

func TestCatchUp(t *testing.T) {
	nov := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC) // 09:00 Stockholm
	dec := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		ranNov   bool
		now      time.Time
		schedule string
		want     string // slot planned by catch-up, "" none
	}{
		{"OKWithinCatchUp", true, dec.Add(5 * time.Hour), "0 9 1 * *", "2026-12-01T09:00"},
		{"NoneBeyondCatchUp", true, dec.Add(73 * time.Hour), "0 9 1 * *", ""},
		{"NoneNeverRan", false, dec.Add(time.Hour), "0 9 1 * *", ""},
		{"NoneNothingMissed", true, dec.Add(-time.Hour), "0 9 1 * *", ""},
		{"OnlyLatest", true, time.Date(2026, 11, 4, 12, 0, 0, 0, time.UTC), "0 9 * * *", "2026-11-04T09:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.nl.Schedule = tc.schedule
			e.nl.SendIfEmpty = true
			s := e.service(t, nil, nil)
			ctx := context.Background()
			if tc.ranNov {
				e.clock.Set(nov)
				if _, err := s.PlanSlot(ctx, "monthly", nov); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Set(tc.now)
			if err := s.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			runs, err := e.st.ListRuns(ctx, "monthly", false, 0)
			if err != nil {
				t.Fatal(err)
			}
			var slots []string
			for _, r := range runs {
				if r.Slot != "2026-11-01T09:00" {
					slots = append(slots, r.Slot)
				}
			}
			if got := strings.Join(slots, ","); got != tc.want {
				t.Fatalf("catch-up planned %q, want %q", got, tc.want)
			}
		})
	}
}

// TestScheduler runs the real cron: an @every schedule plans slots, and
// StopScheduler waits for the job in hand.
func TestScheduler(t *testing.T) {
	e := newEnv(t)
	e.nl.Schedule = "@every 1s"
	e.nl.SendIfEmpty = true
	e.clock = &clock{t: time.Now()}
	s := e.service(t, nil, func(c *digest.Config) { c.Now = time.Now })
	ctx := context.Background()
	if err := s.StartScheduler(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		runs, _ := e.st.ListRuns(ctx, "monthly", false, 0)
		if len(runs) > 0 {
			if runs[0].Kind != digest.KindScheduled {
				t.Fatalf("run %+v", runs[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no run planned by the scheduler")
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.StopScheduler()
}

func composeFixture(t *testing.T) (*env, *digest.Service) {
	e := newEnv(t)
	day := 24 * time.Hour
	e.article(t, "harbour-workshop", "Harbour workshop in Århus", e.clock.Now().Add(-3*day), "ports")
	e.article(t, "cluster-training", "Why <br> tags matter in cluster training", e.clock.Now().Add(-10*day), "training")
	e.article(t, "hamburg-visit", "Study visit to Hamburg", e.clock.Now().Add(-12*day), "ports", "training")
	return e, e.service(t, nil, nil)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./digest -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./digest -update rewrites it):\n%s", name, firstDiff(string(want), string(got)))
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("length %d vs %d lines", len(al), len(bl))
}

// TestCompose checks the composed variants against golden files: the
// full variant as planned (with slots), the web page, and the preview.
func TestCompose(t *testing.T) {
	e, s := composeFixture(t)
	ctx := context.Background()
	e.clock.Set(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC))
	run, err := s.PlanSlot(ctx, "monthly", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if run.Subject != "Cluster Bridge Monthly — December 2026" || run.Articles != 3 {
		t.Fatalf("run %+v", run)
	}
	all, _, err := e.st.Variant(ctx, run.ID, digest.VariantAll)
	if err != nil {
		t.Fatal(err)
	}
	web, _, _ := e.st.Variant(ctx, run.ID, digest.VariantWeb)
	golden(t, "digest.html", []byte(all.HTML))
	golden(t, "digest.txt", []byte(all.Text))
	golden(t, "web.html", []byte(web.HTML))
	for _, want := range []string{
		`src="https://news.example.org/media/images/harbour-workshop.png"`, `alt="Workshop at the harbour"`,
		`width="552"`, `height="276"`, `aria-label="Read more: `, `href="https://news.example.org/articles/harbour-workshop"`,
		`Why &lt;br&gt; tags matter`, `https://news.example.org/newsletters/monthly/1`,
		`~HERALD~unsubscribe_html~`, `~HERALD~preferences_html~`, `~HERALD~greeting_html~`, `Lindholmspiren 5`,
		`style="`, `prefers-color-scheme: dark`, `width="600"`,
	} {
		if !strings.Contains(all.HTML, want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	for _, bad := range []string{"<script", "@import", "<link", "font-face"} {
		if strings.Contains(all.HTML, bad) {
			t.Errorf("HTML has %s", bad)
		}
	}
	if strings.Contains(web.HTML, "~HERALD~") || strings.Contains(web.Text, "~HERALD~") {
		t.Error("the web page holds personal slots")
	}
	for _, want := range []string{"Why <br> tags matter", "~HERALD~unsubscribe~", "Read more: https://news.example.org/articles/hamburg-visit"} {
		if !strings.Contains(all.Text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
}

func TestPreview(t *testing.T) {
	e, s := composeFixture(t)
	e.subscribers(t, 2, map[int][]string{2: {"ports"}})
	ctx := context.Background()
	subject, text, err := s.Preview(ctx, "monthly", "user2@example.net", "text")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "preview-topics.txt", []byte(subject+"\n\n"+text))
	if strings.Contains(text, "cluster-training") || !strings.Contains(text, "Hello Reader Nº2,") ||
		!strings.Contains(text, "token=u2-monthly") || !strings.Contains(text, "for the topics Ports") {
		t.Errorf("topic preview:\n%s", text)
	}
	_, html, err := s.Preview(ctx, "monthly", "", "html")
	if err != nil || strings.Contains(html, "~HERALD~") || !strings.Contains(html, "Hello,") {
		t.Fatalf("preview html: %v", err)
	}
	// Previews change nothing.
	if runs, _ := e.st.ListRuns(ctx, "", false, 0); len(runs) != 0 {
		t.Fatalf("preview planned %d runs", len(runs))
	}
}

// TestTemplateOverride: templates.dir replaces digest.html; without a
// digest.txt of its own the text part comes from html2text.
func TestTemplateOverride(t *testing.T) {
	e, _ := composeFixture(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "email"), 0o755)
	os.WriteFile(filepath.Join(dir, "email", "digest.html"), []byte(`<!DOCTYPE html><html><head><style>p{color:#123456}</style></head>
<body><p>{{.Greeting}} {{len .Articles}} items</p>{{range .Articles}}<p><a href="{{.URL}}">{{.Title}}</a></p>{{end}}
<script>alert(1)</script><p onclick="x()"><a href="javascript:alert(1)">bad</a> <a href="{{.UnsubscribeURL}}">Unsubscribe</a></p></body></html>`), 0o644)
	os.WriteFile(filepath.Join(dir, "email", "digest.txt"), nil, 0o644)
	os.Remove(filepath.Join(dir, "email", "digest.txt"))
	s := e.service(t, nil, func(c *digest.Config) { c.Templates = templates.FS(dir) })
	_, html, err := s.Preview(context.Background(), "monthly", "", "html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, `<p style="color:#123456">Hello, 3 items</p>`) || strings.Contains(html, "<script") ||
		strings.Contains(html, "onclick") || strings.Contains(html, "javascript:") {
		t.Fatalf("override html:\n%s", html)
	}
	_, text, err := s.Preview(context.Background(), "monthly", "", "text")
	if err != nil || !strings.Contains(text, "Hello, 3 items") || !strings.Contains(text, "https://news.example.org/unsubscribe") {
		t.Fatalf("html2text fallback: %v\n%s", err, text)
	}
}
