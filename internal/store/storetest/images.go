package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store"
)

// RemoteImageStore is the part of a store the remote image suite
// exercises (docs/ARCHITECTURE.md, "Remote images").
type RemoteImageStore interface {
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	GetArticle(ctx context.Context, slug string) (*article.Article, error)
	ListArticles(ctx context.Context, q article.Query) ([]article.Article, error)
	SetRemoved(ctx context.Context, slug string, removed bool) error
	ArticlesGeneration(ctx context.Context) (int64, error)
	FeedChanged(ctx context.Context, tags []string, now time.Time) (time.Time, error)
	RemoteImage(ctx context.Context, url string) (*article.RemoteImage, error)
	PendingImages(ctx context.Context) ([]article.PendingImage, error)
	KeptFiles(ctx context.Context) ([]article.RemoteImage, error)
	KeepImage(ctx context.Context, ref string, k *article.Kept, now time.Time) (int, error)
	ImageFailed(ctx context.Context, ref, msg string, retryAt time.Time) error
	DeleteArticle(ctx context.Context, slug string) error
	PutMedia(ctx context.Context, it media.Item) (media.Item, bool, error)
	MediaUsage(ctx context.Context, hash string) ([]media.Use, error)
	DeleteMedia(ctx context.Context, hash string) error
}

func keptFixture(name string) *article.Kept {
	r := func(suffix string, w, h int) article.Rendition {
		return article.Rendition{Path: "/media/u/" + name + suffix, Width: w, Height: h}
	}
	return &article.Kept{
		Original: r(".jpg", 1600, 1200),
		Sizes:    []article.Rendition{r("-600.jpg", 600, 450), r("-1200.jpg", 1200, 900)},
		Lead:     r("-lead.jpg", 1200, 900),
		Thumb:    r("-thumb.jpg", 192, 192),
	}
}

// RunRemoteImages runs the remote image conformance suite.
func RunRemoteImages(t *testing.T, open func(t *testing.T) RemoteImageStore) {
	ctx := context.Background()
	now := t0.AddDate(0, 1, 0)
	const u1, u2 = "https://images.example.org/one.jpg", "https://images.example.org/two.png"
	withImage := func(slug, url string, tags ...string) *article.Article {
		a := mk(slug, 1, tags...)
		a.Image = &article.Image{URL: url, Alt: "alt " + slug}
		return a
	}

	t.Run("FailThenKeep", func(t *testing.T) {
		s := open(t)
		upsert(t, s, withImage("a", u1, "Ports"), now)
		upsert(t, s, withImage("b", u1), now)
		upsert(t, s, withImage("c", u2), now)
		local := mk("d", 1)
		local.Image = &article.Image{MediaPath: "images/d.png", Width: 10, Height: 10}
		upsert(t, s, local, now)
		// A content-folder image waits to be kept too, under its path.
		want := []article.PendingImage{
			{Ref: "/images/d.png", Slug: "d", Source: article.SourceFile, SourcePath: "d.md"},
			{Ref: u1, Slug: "a", Source: article.SourceFile, SourcePath: "a.md"},
			{Ref: u1, Slug: "b", Source: article.SourceFile, SourcePath: "b.md"},
			{Ref: u2, Slug: "c", Source: article.SourceFile, SourcePath: "c.md"},
		}
		if got := must(s.PendingImages(ctx)).get(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("PendingImages = %+v, want %+v", got, want)
		}
		if _, err := s.RemoteImage(ctx, u1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RemoteImage before any fetch: err = %v, want ErrNotFound", err)
		}

		retry := now.Add(time.Minute)
		ok(t, s.ImageFailed(ctx, u1, "first", now))
		ok(t, s.ImageFailed(ctx, u1, "the server answered 503", retry))
		ri := must(s.RemoteImage(ctx, u1)).get(t)
		if ri.Kept != nil || ri.Attempts != 2 || ri.LastError != "the server answered 503" || !ri.NextAttempt.Equal(retry) {
			t.Fatalf("after two failures: %+v", ri)
		}
		// The pending list says why, for herald check.
		for i := 1; i <= 2; i++ {
			want[i].Attempts, want[i].LastError, want[i].NextAttempt = 2, "the server answered 503", retry
		}
		if got := must(s.PendingImages(ctx)).get(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("PendingImages after failures = %+v, want %+v", got, want)
		}

		gen := must(s.ArticlesGeneration(ctx)).get(t)
		later := now.Add(time.Hour)
		k := keptFixture("one")
		if n := must(s.KeepImage(ctx, u1, k, later)).get(t); n != 2 {
			t.Fatalf("KeepImage changed %d articles, want 2", n)
		}
		ri = must(s.RemoteImage(ctx, u1)).get(t)
		if !reflect.DeepEqual(ri.Kept, k) || ri.Attempts != 0 || ri.LastError != "" || !ri.NextAttempt.IsZero() {
			t.Fatalf("after keeping: %+v", ri)
		}
		for _, slug := range []string{"a", "b"} {
			got := must(s.GetArticle(ctx, slug)).get(t)
			if got.Image == nil || got.Image.URL != u1 || !reflect.DeepEqual(got.Image.Kept, k) ||
				got.Image.Width != 1600 || got.Image.Height != 1200 || got.Image.Alt != "alt "+slug {
				t.Errorf("%s: image %+v", slug, got.Image)
			}
		}
		if g := must(s.ArticlesGeneration(ctx)).get(t); g == gen {
			t.Error("keeping an image did not change the articles generation")
		}
		if c := must(s.FeedChanged(ctx, []string{"ports"}, later)).get(t); !c.Equal(later) {
			t.Errorf("the tag feed changed at %v, want %v", c, later)
		}
		list := must(s.ListArticles(ctx, article.Query{Now: later})).get(t)
		for _, a := range list {
			if a.Slug == "a" && (a.Image == nil || !reflect.DeepEqual(a.Image.Kept, k)) {
				t.Errorf("ListArticles: image %+v", a.Image)
			}
		}
		want = append(want[:1], want[3:]...)
		if got := must(s.PendingImages(ctx)).get(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("PendingImages after keeping = %+v, want %+v", got, want)
		}
		ok(t, s.SetRemoved(ctx, "c", true))
		ok(t, s.SetRemoved(ctx, "d", true))
		if got := must(s.PendingImages(ctx)).get(t); len(got) != 0 {
			t.Fatalf("PendingImages lists a removed article: %+v", got)
		}
		if n := must(s.KeepImage(ctx, u1, k, later)).get(t); n != 0 {
			t.Fatalf("keeping again changed %d articles", n)
		}
	})

	t.Run("WritesTakeTheKeptCopy", func(t *testing.T) {
		s := open(t)
		k := keptFixture("one")
		if n := must(s.KeepImage(ctx, u1, k, now)).get(t); n != 0 {
			t.Fatalf("KeepImage with no article changed %d", n)
		}
		// A new article naming a URL already kept shows it at once.
		upsert(t, s, withImage("a", u1), now)
		if got := must(s.GetArticle(ctx, "a")).get(t); got.Image == nil || !reflect.DeepEqual(got.Image.Kept, k) {
			t.Fatalf("new article: image %+v", got.Image)
		}
		// A changed one keeps it.
		a := withImage("a", u1)
		a.ContentHash, a.Title = "h-a-2", "Retitled"
		upsert(t, s, a, now.Add(time.Hour))
		if got := must(s.GetArticle(ctx, "a")).get(t); got.Image == nil || !reflect.DeepEqual(got.Image.Kept, k) {
			t.Fatalf("changed article: image %+v", got.Image)
		}
		// A copy the caller brings for a URL never kept is not believed.
		b := withImage("b", u2)
		b.Image.Kept = keptFixture("forged")
		upsert(t, s, b, now)
		if got := must(s.GetArticle(ctx, "b")).get(t); got.Image == nil || got.Image.Kept != nil {
			t.Fatalf("forged copy: image %+v", got.Image)
		}
		// Moving to another URL drops the copy of the old one.
		a = withImage("a", u2)
		a.ContentHash = "h-a-3"
		upsert(t, s, a, now.Add(2*time.Hour))
		if got := must(s.GetArticle(ctx, "a")).get(t); got.Image == nil || got.Image.Kept != nil || got.Image.URL != u2 {
			t.Fatalf("new URL: image %+v", got.Image)
		}
	})

	t.Run("KeptCopiesAreInUse", func(t *testing.T) {
		// An upload holding a kept copy is used by the articles showing
		// it; once deleted, the URL is fetched again when next named.
		s := open(t)
		it, _, err := s.PutMedia(ctx, mediaItem(7, now))
		ok(t, err)
		k := &article.Kept{Original: article.Rendition{Path: it.URL(), Width: 2000, Height: 1000}}
		k.Lead, k.Thumb = k.Original, k.Original
		must(s.KeepImage(ctx, u1, k, now)).get(t)
		upsert(t, s, withImage("a", u1), now)
		if uses := must(s.MediaUsage(ctx, it.Hash)).get(t); len(uses) != 1 || uses[0].Slug != "a" {
			t.Fatalf("MediaUsage = %+v, want article a", uses)
		}
		if err := s.DeleteMedia(ctx, it.Hash); !errors.Is(err, media.ErrInUse) {
			t.Fatalf("DeleteMedia of a kept copy in use: %v, want ErrInUse", err)
		}
		ok(t, s.DeleteArticle(ctx, "a"))
		ok(t, s.DeleteMedia(ctx, it.Hash))
		if _, err := s.RemoteImage(ctx, u1); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RemoteImage after its upload was deleted: %v, want ErrNotFound", err)
		}
	})

	t.Run("LocalImages", func(t *testing.T) {
		// Content-folder files and uploads are kept under their reference;
		// a kept file is listed for the replacement check while shown.
		s := open(t)
		up, _, err := s.PutMedia(ctx, mediaItem(8, now))
		ok(t, err)
		file := mk("file", 1)
		file.Image = &article.Image{MediaPath: "images/portrait.jpg", Width: 600, Height: 900}
		upsert(t, s, file, now)
		upl := mk("upl", 2)
		upl.Source, upl.SourcePath = article.SourceAPI, ""
		upl.Image = &article.Image{MediaPath: "u/" + up.Hash + "-1200.png"}
		upsert(t, s, upl, now)
		const fileRef = "/images/portrait.jpg"
		uplRef := "/media/u/" + up.Hash + "-1200.png"
		want := []article.PendingImage{
			{Ref: fileRef, Slug: "file", Source: article.SourceFile, SourcePath: "file.md"},
			{Ref: uplRef, Slug: "upl", Source: article.SourceAPI},
		}
		if got := must(s.PendingImages(ctx)).get(t); !reflect.DeepEqual(got, want) {
			t.Fatalf("PendingImages = %+v, want %+v", got, want)
		}
		kf := keptFixture("portrait")
		kf.Stamp = "900 1"
		if n := must(s.KeepImage(ctx, fileRef, kf, now)).get(t); n != 1 {
			t.Fatalf("KeepImage(file) changed %d articles, want 1", n)
		}
		ku := &article.Kept{Original: article.Rendition{Path: up.URL(), Width: 2000, Height: 1000}}
		ku.Lead, ku.Thumb = ku.Original, article.Rendition{Path: "/media/u/" + up.Hash + "-thumb.png", Width: 192, Height: 192}
		must(s.KeepImage(ctx, uplRef, ku, now)).get(t)
		if got := must(s.GetArticle(ctx, "file")).get(t); got.Image == nil || !reflect.DeepEqual(got.Image.Kept, kf) ||
			got.Image.MediaPath != "images/portrait.jpg" {
			t.Fatalf("file article: image %+v", got.Image)
		}
		if got := must(s.GetArticle(ctx, "upl")).get(t); got.Image == nil || !reflect.DeepEqual(got.Image.Kept, ku) {
			t.Fatalf("upload article: image %+v", got.Image)
		}
		if got := must(s.PendingImages(ctx)).get(t); len(got) != 0 {
			t.Fatalf("PendingImages after keeping: %+v", got)
		}
		files := must(s.KeptFiles(ctx)).get(t)
		if len(files) != 1 || files[0].Ref != fileRef || !reflect.DeepEqual(files[0].Kept, kf) {
			t.Fatalf("KeptFiles = %+v, want only %s", files, fileRef)
		}
		// A replacement that could not be cut: the copy stays, listed with
		// the failure and its pause.
		retry := now.Add(2 * time.Minute).Truncate(time.Microsecond)
		ok(t, s.ImageFailed(ctx, fileRef, "not an image", retry))
		files = must(s.KeptFiles(ctx)).get(t)
		if len(files) != 1 || !reflect.DeepEqual(files[0].Kept, kf) || files[0].Attempts != 1 ||
			files[0].LastError != "not an image" || !files[0].NextAttempt.Equal(retry) {
			t.Fatalf("KeptFiles after a failed recut = %+v, want the old copy, 1 attempt until %s", files, retry)
		}
		// The file replaced: cut again, the article shows the new copy.
		k2 := keptFixture("portrait2")
		k2.Stamp = "950 2"
		if n := must(s.KeepImage(ctx, fileRef, k2, now.Add(time.Hour))).get(t); n != 1 {
			t.Fatalf("KeepImage(file, again) changed %d articles, want 1", n)
		}
		if got := must(s.GetArticle(ctx, "file")).get(t); !reflect.DeepEqual(got.Image.Kept, k2) {
			t.Fatalf("after the recut: image %+v", got.Image)
		}
		if files := must(s.KeptFiles(ctx)).get(t); len(files) != 1 || files[0].Attempts != 0 || !files[0].NextAttempt.IsZero() {
			t.Fatalf("KeptFiles after the recut = %+v, want the failures forgotten", files)
		}
		ok(t, s.SetRemoved(ctx, "file", true))
		if files := must(s.KeptFiles(ctx)).get(t); len(files) != 0 {
			t.Fatalf("KeptFiles lists a removed article's image: %+v", files)
		}
		// The upload (and the crops kept of it) is in use while shown; once
		// deleted, no kept record of it remains.
		if err := s.DeleteMedia(ctx, up.Hash); !errors.Is(err, media.ErrInUse) {
			t.Fatalf("DeleteMedia of an upload in use: %v, want ErrInUse", err)
		}
		ok(t, s.DeleteArticle(ctx, "upl"))
		ok(t, s.DeleteMedia(ctx, up.Hash))
		if _, err := s.RemoteImage(ctx, uplRef); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("RemoteImage(%s) after the upload was deleted: %v, want ErrNotFound", uplRef, err)
		}
	})
}
