package imagefetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // decoders for the crops
	_ "image/jpeg"
	_ "image/png"
	"io"
	"log/slog"
	"path"
	"sync"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store"
)

// Store is what keeping needs of the store: the state of each remote
// image URL and the articles waiting for one.
type Store interface {
	RemoteImage(ctx context.Context, url string) (*article.RemoteImage, error)
	PendingImages(ctx context.Context) ([]article.PendingImage, error)
	KeepImage(ctx context.Context, url string, k *article.Kept, now time.Time) (int, error)
	ImageFailed(ctx context.Context, url, msg string, retryAt time.Time) error
}

// Media keeps image bytes in the media store: stripped, hashed, with
// derivatives, served under /media/u/ (media.Service).
type Media interface {
	Upload(ctx context.Context, name string, r io.Reader, by media.Actor) (media.Item, bool, error)
}

// keeper is who the media store records as adding a kept image.
var keeper = media.Actor{Email: "remote image"}

// Keeper fetches each remote image once and keeps it, with a lead crop
// and a thumbnail, in the media store (docs/ARCHITECTURE.md, "Remote
// images"). A failed fetch is retried after a growing pause.
type Keeper struct {
	Fetcher *Fetcher
	Media   Media
	Store   Store
	Now     func() time.Time
	Log     *slog.Logger
}

// Retry pauses after a failed fetch: retryBase doubled per failure so
// far, at most retryMax.
const (
	retryBase = time.Minute
	retryMax  = time.Hour
)

func retryAfter(attempts int) time.Duration {
	d := retryBase
	for i := 0; i < attempts && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// WaitError: an earlier fetch failed and the next try is not due yet.
type WaitError struct {
	Last string
	Next time.Time
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("%s (next try after %s)", e.Last, e.Next.UTC().Format("15:04:05 UTC"))
}

func (k *Keeper) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Keep returns url's kept copy: the one in the store, else fetched and
// kept now, unless an earlier failure's pause has not passed (WaitError).
// A success is given to every article naming url.
func (k *Keeper) Keep(ctx context.Context, url string) (*article.Kept, error) {
	ri, err := k.Store.RemoteImage(ctx, url)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ri = &article.RemoteImage{URL: url}
	case err != nil:
		return nil, err
	case ri.Kept != nil:
		return ri.Kept, nil
	}
	now := k.now()
	if ri.NextAttempt.After(now) {
		return nil, &WaitError{Last: ri.LastError, Next: ri.NextAttempt}
	}
	kept, err := k.fetch(ctx, url)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // stopping: no fault of the image's
		}
		if ferr := k.Store.ImageFailed(ctx, url, err.Error(), now.Add(retryAfter(ri.Attempts))); ferr != nil {
			return nil, errors.Join(err, ferr)
		}
		return nil, err
	}
	if _, err := k.Store.KeepImage(ctx, url, kept, now); err != nil {
		return nil, err
	}
	if k.Log != nil {
		k.Log.Info("remote image kept", slog.String("url", url), slog.String("path", kept.Original.Path))
	}
	return kept, nil
}

// fetch fetches url and keeps the image, its lead crop and thumbnail.
func (k *Keeper) fetch(ctx context.Context, url string) (*article.Kept, error) {
	img, err := k.Fetcher.Fetch(ctx, url)
	if err != nil {
		return nil, err
	}
	name := path.Base(url)
	// Processed first for the pixels as stored (oriented, stripped), which
	// the crops are cut from; uploading those bytes stores them as they are.
	p, err := media.Process(img.Data)
	if err != nil {
		return nil, err
	}
	orig, _, err := k.Media.Upload(ctx, name, bytes.NewReader(p.Original.Data), keeper)
	if err != nil {
		return nil, err
	}
	kept := &article.Kept{Original: rendition(orig.URL(), orig.Original)}
	for _, d := range orig.Derivatives {
		kept.Sizes = append(kept.Sizes, rendition(media.DerivativeURL(orig.Hash, d.Width, d.Ext()), d))
	}
	pic, _, err := image.Decode(bytes.NewReader(p.Original.Data))
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", name, err)
	}
	w, h := orig.Original.Width, orig.Original.Height
	// cut keeps the part r of the image at most width px wide, unless r
	// is all of it and a version kept already (whole) is narrow enough.
	cut := func(r image.Rectangle, width int, prefix string, whole article.Rendition) (article.Rendition, error) {
		if r == image.Rect(0, 0, w, h) && whole.Width <= width {
			return whole, nil
		}
		part := crop(pic, r, width)
		it, err := k.put(ctx, prefix+name, part)
		if err != nil {
			return article.Rendition{}, err
		}
		return rendition(it.URL(), it.Original), nil
	}
	if kept.Lead, err = cut(leadRect(w, h), leadWidth, "lead-", article.Displayed(kept, leadWidth)); err != nil {
		return nil, err
	}
	if kept.Thumb, err = cut(thumbRect(w, h), ThumbSize, "thumb-", kept.Original); err != nil {
		return nil, err
	}
	return kept, nil
}

// leadWidth is the widest a lead image is kept: twice the 552 px of the
// digest's column, and then some.
const leadWidth = 1200

func (k *Keeper) put(ctx context.Context, name string, img image.Image) (media.Item, error) {
	data, err := encode(img)
	if err != nil {
		return media.Item{}, err
	}
	it, _, err := k.Media.Upload(ctx, name, bytes.NewReader(data), keeper)
	return it, err
}

func rendition(p string, f media.File) article.Rendition {
	return article.Rendition{Path: p, Width: f.Width, Height: f.Height}
}

// keepers is how many URLs KeepPending fetches at once.
const keepers = 4

// KeepPending tries to keep the image of every stored article waiting
// for one (whose pause is over), a few URLs at a time: how many URLs it
// kept now, and the articles whose image is still missing, with why.
func (k *Keeper) KeepPending(ctx context.Context) (int, []article.ImageFailure, error) {
	pend, err := k.Store.PendingImages(ctx)
	if err != nil {
		return 0, nil, err
	}
	var groups [][]article.PendingImage // by URL
	for i, p := range pend {
		if i == 0 || p.URL != pend[i-1].URL {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], p)
	}
	errs := make([]error, len(groups))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(keepers, len(groups)) {
		wg.Go(func() {
			for i := range next {
				_, errs[i] = k.Keep(ctx, groups[i][0].URL)
			}
		})
	}
	for i := range groups {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return 0, nil, err
	}
	kept := 0
	var failed []article.ImageFailure
	for i, g := range groups {
		if errs[i] == nil {
			kept++
			continue
		}
		for _, p := range g {
			failed = append(failed, article.ImageFailure{PendingImage: p, Err: errs[i]})
		}
	}
	return kept, failed, nil
}
