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
	"github.com/herald-news/herald/internal/store/sqlite"
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
}

// clock is a test's settable now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newService(t *testing.T, st newsroom.Store) (*newsroom.Service, *clock) {
	c := &clock{t0}
	return &newsroom.Service{Store: st, Parser: article.NewParser(time.UTC, nil), Now: c.now, Log: slog.New(slog.DiscardHandler)}, c
}

var ann = newsroom.Actor{UserID: 3, Email: "ann@example.org", IP: "192.0.2.10"}

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

func TestStates(t *testing.T) {
	ctx := context.Background()
	st := backends[0].open(t)
	s, c := newService(t, st)
	draft := in("d", "Draft")
	draft.Draft = true
	if _, err := s.Create(ctx, ann, draft); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(time.Hour)
	sch, err := s.Schedule(ctx, ann, "d", c.t.Add(48*time.Hour), "")
	if err != nil || sch.State(c.now()) != article.StateScheduled {
		t.Fatalf("schedule: %+v %v", sch, err)
	}
	var inv *newsroom.InvalidError
	if _, err := s.Schedule(ctx, ann, "d", c.t.Add(-time.Minute), ""); !errors.As(err, &inv) || inv.Errors[0].Field != "date" {
		t.Errorf("schedule in the past: %v", err)
	}
	pub, err := s.Publish(ctx, ann, "d", "")
	if err != nil || pub.State(c.now()) != article.StatePublished || !pub.Published.Equal(c.t) {
		t.Fatalf("publish: %+v %v", pub, err)
	}
	if un, err := s.Unpublish(ctx, ann, "d", ""); err != nil || un.State(c.now()) != article.StateDraft {
		t.Fatalf("unpublish: %+v %v", un, err)
	}
}
