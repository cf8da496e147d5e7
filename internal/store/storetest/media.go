package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store"
)

// MediaStore keeps uploaded images (docs/ARCHITECTURE.md, "Media"), and
// articles that use them.
type MediaStore interface {
	PutMedia(ctx context.Context, it media.Item) (media.Item, bool, error)
	Media(ctx context.Context, hash string) (media.Item, error)
	ListMedia(ctx context.Context) ([]media.Item, error)
	MediaBytes(ctx context.Context, hash string, variant int) (media.File, error)
	MediaUsage(ctx context.Context, hash string) ([]media.Use, error)
	DeleteMedia(ctx context.Context, hash string) error
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	DeleteArticle(ctx context.Context, slug string) error
}

// mediaItem is an upload with made-up bytes: every byte value, so a
// backend that treats them as text fails.
func mediaItem(n int, at time.Time) media.Item {
	data := func(size, seed int) []byte {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(i*7 + seed)
		}
		return b
	}
	file := func(w, h int, ct string, seed int) media.File {
		d := data(300+w, seed)
		return media.File{Width: w, Height: h, ContentType: ct, Size: int64(len(d)), Data: d}
	}
	return media.Item{
		Hash: fmt.Sprintf("%032x", n), Name: fmt.Sprintf("Bild %d – Göteborg.png", n),
		Original:    file(2000, 1000, media.PNG, n),
		Derivatives: []media.File{file(600, 300, media.JPEG, n+1), file(1200, 600, media.JPEG, n+2)},
		CreatedAt:   at, CreatedBy: "ann@example.org",
	}
}

// described is it as a store describes it: no bytes.
func described(it media.Item) media.Item {
	it.Original.Data = nil
	it.Derivatives = append([]media.File(nil), it.Derivatives...)
	for i := range it.Derivatives {
		it.Derivatives[i].Data = nil
	}
	return it
}

func sameItem(t *testing.T, what string, got, want media.Item) {
	t.Helper()
	if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Errorf("%s = %+v\nwant %+v", what, got, want)
	}
}

func put(t *testing.T, st MediaStore, it media.Item) {
	t.Helper()
	if _, created, err := st.PutMedia(context.Background(), it); err != nil || !created {
		t.Fatalf("PutMedia(%s) = %v, %v", it.Hash, created, err)
	}
}

// RunMedia runs the media suite; open returns an empty store.
func RunMedia(t *testing.T, open func(t *testing.T) MediaStore) {
	ctx := context.Background()
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

	t.Run("OK", func(t *testing.T) {
		st := open(t)
		a, b := mediaItem(1, at), mediaItem(2, at.Add(time.Minute))
		got, created, err := st.PutMedia(ctx, a)
		if err != nil || !created {
			t.Fatalf("PutMedia = %v, %v", created, err)
		}
		sameItem(t, "PutMedia", got, described(a))
		put(t, st, b)
		sameItem(t, "Media", must(st.Media(ctx, a.Hash)).get(t), described(a))
		list := must(st.ListMedia(ctx)).get(t)
		if len(list) != 2 {
			t.Fatalf("ListMedia: %d items, want 2", len(list))
		}
		sameItem(t, "ListMedia[0] (newest)", list[0], described(b))
		sameItem(t, "ListMedia[1]", list[1], described(a))
		for variant, want := range media.Variants(a) {
			f := must(st.MediaBytes(ctx, a.Hash, variant)).get(t)
			if !bytes.Equal(f.Data, want.Data) || f.ContentType != want.ContentType || f.Width != want.Width || f.Size != want.Size {
				t.Errorf("MediaBytes(%d) = %dx%d %s %d bytes, want %dx%d %s %d", variant, f.Width, f.Height, f.ContentType, len(f.Data),
					want.Width, want.Height, want.ContentType, len(want.Data))
			}
		}
	})

	t.Run("Dedupe", func(t *testing.T) {
		st := open(t)
		a := mediaItem(1, at)
		put(t, st, a)
		again := a
		again.Name, again.CreatedAt, again.CreatedBy = "other.png", at.Add(time.Hour), "bob@example.org"
		got, created, err := st.PutMedia(ctx, again)
		if err != nil || created {
			t.Fatalf("second PutMedia: created %v, %v; want false, nil", created, err)
		}
		sameItem(t, "second PutMedia", got, described(a))
		if n := len(must(st.ListMedia(ctx)).get(t)); n != 1 {
			t.Errorf("ListMedia: %d items, want 1", n)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		a := mediaItem(1, at)
		put(t, st, a)
		unknown := fmt.Sprintf("%032x", 99)
		if _, err := st.Media(ctx, unknown); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Media(unknown): %v, want ErrNotFound", err)
		}
		if _, err := st.MediaBytes(ctx, unknown, 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("MediaBytes(unknown): %v, want ErrNotFound", err)
		}
		if _, err := st.MediaBytes(ctx, a.Hash, 800); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("MediaBytes(no such width): %v, want ErrNotFound", err)
		}
		if err := st.DeleteMedia(ctx, unknown); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteMedia(unknown): %v, want ErrNotFound", err)
		}
		if list := must(st.ListMedia(ctx)).get(t); len(list) != 1 {
			t.Errorf("ListMedia: %d items, want 1", len(list))
		}
	})

	t.Run("ErrInUse", func(t *testing.T) {
		st := open(t)
		byImage, byURL, byBody, unused := mediaItem(1, at), mediaItem(2, at), mediaItem(3, at), mediaItem(4, at)
		for _, it := range []media.Item{byImage, byURL, byBody, unused} {
			put(t, st, it)
		}
		lead := mk("lead", 1)
		lead.Image = &article.Image{MediaPath: "u/" + byImage.Hash + ".png", Alt: "A harbour"}
		abs := mk("absolute", 2)
		abs.Image = &article.Image{URL: "https://news.example.org" + byURL.URL(), Alt: "A bridge"}
		body := mk("body", 3)
		body.Body = "Before\n\n![Quay](" + byBody.DerivativeURL(600) + ")\n"
		for _, a := range []*article.Article{lead, abs, body} {
			upsert(t, st, a, t0)
		}
		for _, c := range []struct {
			it   media.Item
			slug string
		}{{byImage, "lead"}, {byURL, "absolute"}, {byBody, "body"}} {
			uses := must(st.MediaUsage(ctx, c.it.Hash)).get(t)
			if len(uses) != 1 || uses[0].Slug != c.slug || uses[0].Title != "Title "+c.slug {
				t.Errorf("MediaUsage(%s) = %+v, want %s", c.slug, uses, c.slug)
			}
			if err := st.DeleteMedia(ctx, c.it.Hash); !errors.Is(err, media.ErrInUse) {
				t.Errorf("DeleteMedia used by %s: %v, want ErrInUse", c.slug, err)
			}
			if _, err := st.MediaBytes(ctx, c.it.Hash, 0); err != nil {
				t.Errorf("after a refused delete: %v", err)
			}
		}
		if uses := must(st.MediaUsage(ctx, unused.Hash)).get(t); len(uses) != 0 {
			t.Errorf("MediaUsage(unused) = %+v", uses)
		}
		ok(t, st.DeleteMedia(ctx, unused.Hash))
		ok(t, st.DeleteArticle(ctx, "lead"))
		ok(t, st.DeleteMedia(ctx, byImage.Hash))
		for _, h := range []string{unused.Hash, byImage.Hash} {
			if _, err := st.Media(ctx, h); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Media after delete: %v, want ErrNotFound", err)
			}
			for variant := range media.Variants(byImage) {
				if _, err := st.MediaBytes(ctx, h, variant); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("MediaBytes(%d) after delete: %v, want ErrNotFound", variant, err)
				}
			}
		}
		if n := len(must(st.ListMedia(ctx)).get(t)); n != 2 {
			t.Errorf("ListMedia after deletes: %d items, want 2", n)
		}
	})
}
