package newsroom_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/newsroom"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/testenv"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// backends open a fresh real store of each kind.
var backends = []struct {
	name string
	open func(t *testing.T) newsroom.Store
}{
	{"SQLite", func(t *testing.T) newsroom.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"PostgreSQL", func(t *testing.T) newsroom.Store {
		s, err := postgres.Open(context.Background(), testenv.PostgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}},
}

// clock is a test's settable now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T, st newsroom.Store) (*newsroom.Service, *clock) {
	c := &clock{t0}
	return &newsroom.Service{Store: st, Parser: article.NewParser(time.UTC, nil), Now: c.now, Log: slog.New(slog.DiscardHandler)}, c
}

var (
	ann = newsroom.Actor{UserID: 3, Email: "ann@example.org", IP: "192.0.2.10"}
	bot = newsroom.Actor{Token: "default", IP: "198.51.100.7"}
)

func in(slug, title string) newsroom.Input {
	return newsroom.Input{Slug: slug, Title: title, Date: "2026-11-20", Body: "Hello **world**."}
}

func TestValidate(t *testing.T) {
	s, _ := newService(t, nil)
	for _, tt := range []struct {
		name string
		in   newsroom.Input
		want []newsroom.FieldError
	}{
		{"OK", in("a", "A"), nil},
		{"OKSlugFromTitle", in("", "Göteborg news"), nil},
		{"ErrTitleRequired", in("a", " "), []newsroom.FieldError{{"title", "title is required"}}},
		{"ErrDateRequired", newsroom.Input{Slug: "a", Title: "A"}, []newsroom.FieldError{{"date", "date is required (2018-11-13 or RFC 3339)"}}},
		{"ErrSeveral", newsroom.Input{Slug: "a", Image: "https://example.org/a.png"}, []newsroom.FieldError{
			{"title", "title is required"}, {"date", "date is required (2018-11-13 or RFC 3339)"},
			{"image_alt", "image_alt is required with an image: describe it for readers who cannot see it"}}},
		{"ErrImageAltRequired", func() newsroom.Input { i := in("a", "A"); i.Image = "https://example.org/a.png"; return i }(),
			[]newsroom.FieldError{{"image_alt", "image_alt is required with an image: describe it for readers who cannot see it"}}},
		{"ErrDate", func() newsroom.Input { i := in("a", "A"); i.Date = "soon"; return i }(),
			[]newsroom.FieldError{{"date", `date: "soon" is not a date (use 2018-11-13 or RFC 3339 such as 2018-11-13T09:30:00+01:00)`}}},
		{"ErrLink", func() newsroom.Input { i := in("a", "A"); i.Link = "javascript:x"; return i }(),
			[]newsroom.FieldError{{"link", `link must be an absolute http(s) URL, got "javascript:x"`}}},
		{"ErrSlugFromTitle", in("", "?!"), []newsroom.FieldError{{"slug", `title "?!" has no letters or digits to make a slug from: give a slug`}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Validate(tt.in); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestPreview(t *testing.T) {
	s, _ := newService(t, nil)
	p := s.Preview(newsroom.Input{Body: "First **para**.\n\nSecond <script>alert(1)</script>."})
	if strings.Contains(p.HTML, "<script") || !strings.Contains(p.HTML, "<strong>para</strong>") || p.Summary != "First para." {
		t.Errorf("preview %+v", p)
	}
	if len(p.Errors) != 2 || p.Errors[0].Field != "title" || p.Errors[1].Field != "date" {
		t.Errorf("errors %+v", p.Errors)
	}
}

func TestService(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("CreateEditConflictRestore", func(t *testing.T) { testEdits(t, b.open(t)) })
			t.Run("ReadOnlyAndStates", func(t *testing.T) { testStates(t, b.open(t)) })
			t.Run("RevisionCap", func(t *testing.T) { testCap(t, b.open(t)) })
		})
	}
}

func testEdits(t *testing.T, st newsroom.Store) {
	ctx := context.Background()
	s, c := newService(t, st)
	created, err := s.Create(ctx, ann, in("", "Harbour news"))
	if err != nil {
		t.Fatal(err)
	}
	if created.Slug != "harbour-news" || created.Version == "0" || !created.Changed {
		t.Fatalf("created %+v", created)
	}
	// A second create of the title gets -2; of the slug, an ExistsError.
	if again, err := s.Create(ctx, ann, in("", "Harbour news")); err != nil || again.Slug != "harbour-news-2" {
		t.Fatalf("derived again: %v %v", again, err)
	}
	var ex *newsroom.ExistsError
	if _, err := s.Create(ctx, ann, in("harbour-news", "X")); !errors.As(err, &ex) {
		t.Fatalf("create over: %v", err)
	}
	var inv *newsroom.InvalidError
	if _, err := s.Create(ctx, ann, in("x", "")); !errors.As(err, &inv) || inv.Errors[0].Field != "title" {
		t.Fatalf("invalid: %v", err)
	}
	// "new" is the editor's new-article address: asked for, refused; made
	// from a title "New", passed over as if taken.
	if _, err := s.Create(ctx, ann, in("New", "X")); !errors.As(err, &inv) || inv.Errors[0].Field != "slug" {
		t.Fatalf("slug new: %v", err)
	}
	if titled, err := s.Create(ctx, ann, in("", "New!")); err != nil || titled.Slug != "new-2" {
		t.Fatalf("title New: %+v %v", titled, err)
	}

	// Two editors start from one version; the second save conflicts.
	c.t = c.t.Add(time.Minute)
	e1 := in("harbour-news", "Harbour news, first edit")
	e1.Base = created.Version
	v2, err := s.Replace(ctx, bot, "harbour-news", e1)
	if err != nil {
		t.Fatal(err)
	}
	e2 := in("harbour-news", "Harbour news, second edit")
	e2.Base = created.Version
	var ce *newsroom.ConflictError
	if _, err := s.Replace(ctx, ann, "harbour-news", e2); !errors.As(err, &ce) || ce.Current != v2.Version || ce.Who != "token default" {
		t.Fatalf("stale edit: %v", err)
	}
	if !strings.Contains(ce.Error(), "token default") {
		t.Errorf("conflict message %q", ce.Error())
	}
	base := "nonsense"
	if _, err := s.Patch(ctx, ann, "harbour-news", newsroom.Patch{Base: &base}); !errors.As(err, &inv) || inv.Errors[0].Field != "base" {
		t.Errorf("bad base: %v", err)
	}
	// A patch from the current version goes through.
	title := "Harbour news, patched"
	p3, err := s.Patch(ctx, ann, "harbour-news", newsroom.Patch{Title: &title, Base: &v2.Version})
	if err != nil || p3.Title != title {
		t.Fatalf("patch: %v %v", p3, err)
	}

	revs, err := s.Revisions(ctx, "harbour-news")
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 3 || !revs[0].Current || revs[0].Version != p3.Version || revs[1].Who != "token default" || revs[2].Who != "ann@example.org" ||
		revs[2].IP != "192.0.2.10" || !revs[2].At.Equal(t0) {
		t.Fatalf("revisions %+v", revs)
	}
	old, err := s.Revision(ctx, "harbour-news", revs[2].ID)
	if err != nil || old.Input.Title != "Harbour news" || old.Current {
		t.Fatalf("revision: %+v %v", old, err)
	}
	// Restore from a stale base conflicts; from the current, makes a new revision.
	if _, err := s.Restore(ctx, ann, "harbour-news", revs[2].ID, v2.Version); !errors.As(err, &ce) {
		t.Errorf("stale restore: %v", err)
	}
	r, err := s.Restore(ctx, ann, "harbour-news", revs[2].ID, p3.Version)
	if err != nil || r.Title != "Harbour news" || !r.Changed {
		t.Fatalf("restore: %+v %v", r, err)
	}
	if revs, _ := s.Revisions(ctx, "harbour-news"); len(revs) != 4 || revs[0].Version != r.Version {
		t.Errorf("after restore: %+v", revs)
	}
	if _, err := s.Revision(ctx, "harbour-news-2", revs[2].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another article's revision: %v", err)
	}
	// Deleting from a stale version conflicts; from the current, deletes.
	if err := s.Delete(ctx, ann, "harbour-news", p3.Version); !errors.As(err, &ce) {
		t.Errorf("stale delete: %v", err)
	}
	if err := s.Delete(ctx, ann, "harbour-news", r.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Revisions(ctx, "harbour-news"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revisions after delete: %v", err)
	}
}

func testStates(t *testing.T, st newsroom.Store) {
	ctx := context.Background()
	s, c := newService(t, st)
	file, err := article.NewParser(time.UTC, nil).Parse("from-file.md", []byte("---\ntitle: From a file\ndate: 2026-10-01\n---\nBody.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.(interface {
		UpsertArticle(context.Context, *article.Article, time.Time) (bool, error)
	}).UpsertArticle(ctx, file, t0); err != nil {
		t.Fatal(err)
	}
	var ro *newsroom.ReadOnlyError
	for name, err := range map[string]error{
		"Replace":  func() error { _, err := s.Replace(ctx, ann, "from-file", in("", "X")); return err }(),
		"Publish":  func() error { _, err := s.Publish(ctx, ann, "from-file", ""); return err }(),
		"Delete":   s.Delete(ctx, ann, "from-file", ""),
		"Create":   func() error { _, err := s.Create(ctx, ann, in("from-file", "X")); return err }(),
		"Restore":  func() error { _, err := s.Restore(ctx, ann, "from-file", 1, ""); return err }(),
		"Schedule": func() error { _, err := s.Schedule(ctx, ann, "from-file", t0.Add(time.Hour), ""); return err }(),
	} {
		if !errors.As(err, &ro) || !strings.Contains(err.Error(), "from-file.md") {
			t.Errorf("%s of a file article: %v", name, err)
		}
	}

	draft := in("d", "Draft")
	draft.Draft = true
	d, err := s.Create(ctx, ann, draft)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.State(c.now()); got != article.StateDraft {
		t.Errorf("state %s", got)
	}
	c.t = c.t.Add(time.Hour)
	sch, err := s.Schedule(ctx, ann, "d", c.t.Add(48*time.Hour), d.Version)
	if err != nil || sch.State(c.now()) != article.StateScheduled || !sch.Published.Equal(c.t.Add(48*time.Hour)) {
		t.Fatalf("schedule: %+v %v", sch, err)
	}
	var inv *newsroom.InvalidError
	if _, err := s.Schedule(ctx, ann, "d", c.t.Add(-time.Minute), ""); !errors.As(err, &inv) || inv.Errors[0].Field != "date" {
		t.Errorf("schedule in the past: %v", err)
	}
	pub, err := s.Publish(ctx, ann, "d", sch.Version)
	if err != nil || pub.State(c.now()) != article.StatePublished || !pub.Published.Equal(c.t) {
		t.Fatalf("publish: %+v %v", pub, err)
	}
	un, err := s.Unpublish(ctx, ann, "d", pub.Version)
	if err != nil || un.State(c.now()) != article.StateDraft {
		t.Fatalf("unpublish: %+v %v", un, err)
	}
	// Saving what is already there makes no revision.
	same, err := s.Unpublish(ctx, ann, "d", un.Version)
	if err != nil || same.Changed || same.Version != un.Version {
		t.Errorf("no-op: %+v %v", same, err)
	}
}

func testCap(t *testing.T, st newsroom.Store) {
	ctx := context.Background()
	s, c := newService(t, st)
	if _, err := s.Create(ctx, ann, in("c", "Edit 0")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= newsroom.Keep+5; i++ {
		c.t = c.t.Add(time.Second)
		if _, err := s.Replace(ctx, ann, "c", in("c", fmt.Sprint("Edit ", i))); err != nil {
			t.Fatal(err)
		}
	}
	revs, err := s.Revisions(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != newsroom.Keep {
		t.Fatalf("%d revisions kept, want %d", len(revs), newsroom.Keep)
	}
	oldest, err := s.Revision(ctx, "c", revs[len(revs)-1].ID)
	if err != nil || oldest.Input.Title != "Edit 6" {
		t.Errorf("oldest kept %+v %v", oldest.Input, err)
	}
}
