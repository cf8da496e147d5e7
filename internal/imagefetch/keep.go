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
	"io/fs"
	"log/slog"
	"path"
	"strings"
	"sync"
	"time"

	_ "golang.org/x/image/webp"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store"
)

// Store is what keeping needs of the store: the state of each image
// reference, the articles waiting for one, and uploads' bytes.
type Store interface {
	RemoteImage(ctx context.Context, ref string) (*article.RemoteImage, error)
	PendingImages(ctx context.Context) ([]article.PendingImage, error)
	KeptFiles(ctx context.Context) ([]article.RemoteImage, error)
	KeepImage(ctx context.Context, ref string, k *article.Kept, now time.Time) (int, error)
	ImageFailed(ctx context.Context, ref, msg string, retryAt time.Time) error
	MediaBytes(ctx context.Context, hash string, variant int) (media.File, error)
}

// Media keeps image bytes in the media store: stripped, hashed, with
// derivatives, served under /media/u/ (media.Service).
type Media interface {
	Upload(ctx context.Context, name string, r io.Reader, by media.Actor) (media.Item, bool, error)
}

// keeper is who the media store records as adding a kept image.
var keeper = media.Actor{Email: "remote image"}

// Keeper keeps every article image once, with a lead crop and a
// thumbnail, in the media store (docs/ARCHITECTURE.md, "Remote images"):
// a remote one fetched, an upload read from the store, a content-folder
// file read from Content. A failure is retried after a growing pause.
type Keeper struct {
	Fetcher *Fetcher
	Media   Media
	Store   Store
	// Content is the content folder (nil: none), confined to it as
	// /media/ serving is; "/path" images are read from it.
	Content fs.FS
	// Pause is the wait after a first failure (0: retryBase), doubled
	// after each further one, at most retryMax.
	Pause time.Duration
	Now   func() time.Time
	Log   *slog.Logger
}

// Retry pauses after a failed fetch: retryBase doubled per failure so
// far, at most retryMax.
const (
	retryBase = time.Minute
	retryMax  = time.Hour
)

func (k *Keeper) retryAfter(attempts int) time.Duration {
	d := retryBase
	if k.Pause > 0 {
		d = k.Pause
	}
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

// Keep returns the kept copy of the image ref (an article.Image's Ref):
// the one in the store, else made now, unless an earlier failure's pause
// has not passed (WaitError). A success is given to every article naming
// ref.
func (k *Keeper) Keep(ctx context.Context, ref string) (*article.Kept, error) {
	ri, err := k.Store.RemoteImage(ctx, ref)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ri = &article.RemoteImage{Ref: ref}
	case err != nil:
		return nil, err
	case ri.Kept != nil:
		return ri.Kept, nil
	}
	if ri.NextAttempt.After(k.now()) {
		return nil, &WaitError{Last: ri.LastError, Next: ri.NextAttempt}
	}
	return k.keep(ctx, ref, ri.Attempts)
}

// keep makes and records ref's kept copy; a failure is recorded, to be
// tried again after a pause growing with the attempts so far.
func (k *Keeper) keep(ctx context.Context, ref string, attempts int) (*article.Kept, error) {
	now := k.now()
	kept, err := k.make(ctx, ref)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err // stopping: no fault of the image's
		}
		if ferr := k.Store.ImageFailed(ctx, ref, err.Error(), now.Add(k.retryAfter(attempts))); ferr != nil {
			return nil, errors.Join(err, ferr)
		}
		return nil, err
	}
	if _, err := k.Store.KeepImage(ctx, ref, kept, now); err != nil {
		return nil, err
	}
	if k.Log != nil {
		k.Log.Info("article image kept", slog.String("image", ref), slog.String("path", kept.Original.Path))
	}
	return kept, nil
}

// ErrNoContent: a content-folder image with no content folder to read.
var ErrNoContent = errors.New("no content folder (content.dir) to read it from")

// source reads the bytes of the image ref: fetched, an upload's original
// (never a derivative) from the store, or a content-folder file with its
// stamp (size and modification time).
func (k *Keeper) source(ctx context.Context, ref string) (data []byte, stamp string, err error) {
	switch {
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
		img, err := k.Fetcher.Fetch(ctx, ref)
		if err != nil {
			return nil, "", err
		}
		return img.Data, "", nil
	case strings.HasPrefix(ref, article.UploadPrefix):
		hash, _, _, ok := media.ParseName(strings.TrimPrefix(ref, article.UploadPrefix))
		if !ok {
			return nil, "", fmt.Errorf("%s is not the address of an upload", ref)
		}
		f, err := k.Store.MediaBytes(ctx, hash, 0)
		if err != nil {
			return nil, "", fmt.Errorf("upload %s: %w", hash, err)
		}
		return f.Data, "", nil
	}
	if k.Content == nil {
		return nil, "", ErrNoContent
	}
	f, err := k.Content.Open(strings.TrimPrefix(ref, "/"))
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	data, err = io.ReadAll(f)
	return data, fileStamp(st), err
}

// fileStamp is what says a content-folder file was replaced.
func fileStamp(st fs.FileInfo) string {
	return fmt.Sprintf("%d %d", st.Size(), st.ModTime().UnixNano())
}

// make reads the image ref and keeps it, its lead crop and thumbnail.
func (k *Keeper) make(ctx context.Context, ref string) (*article.Kept, error) {
	data, stamp, err := k.source(ctx, ref)
	if err != nil {
		return nil, err
	}
	name := path.Base(ref)
	// Processed first for the pixels as stored (oriented, stripped), which
	// the crops are cut from; uploading those bytes stores them as they are.
	p, err := media.Process(data)
	if err != nil {
		return nil, err
	}
	orig, _, err := k.Media.Upload(ctx, name, bytes.NewReader(p.Original.Data), keeper)
	if err != nil {
		return nil, err
	}
	kept := &article.Kept{Original: rendition(orig.URL(), orig.Original), Stamp: stamp}
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

// keepers is how many images KeepPending keeps at once.
const keepers = 4

// KeepPending cuts again the kept content-folder images whose file was
// replaced, then tries to keep the image of every stored article waiting
// for one (whose pause is over), a few at a time: how many images it
// kept now, and the articles whose image is still missing, with why.
func (k *Keeper) KeepPending(ctx context.Context) (int, []article.ImageFailure, error) {
	recut, err := k.recut(ctx)
	if err != nil {
		return 0, nil, err
	}
	pend, err := k.Store.PendingImages(ctx)
	if err != nil {
		return 0, nil, err
	}
	var groups [][]article.PendingImage // by reference
	for i, p := range pend {
		if i == 0 || p.Ref != pend[i-1].Ref {
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
				_, errs[i] = k.Keep(ctx, groups[i][0].Ref)
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
	kept := recut
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

// recut keeps again each kept content-folder image whose file changed
// since it was cut (a new stamp): how many. One that cannot be read or
// cut now keeps its old copy, with a warning in the log, and is tried
// again after the same growing pause as a first keep.
func (k *Keeper) recut(ctx context.Context) (int, error) {
	if k.Content == nil {
		return 0, nil
	}
	files, err := k.Store.KeptFiles(ctx)
	if err != nil {
		return 0, err
	}
	n, now := 0, k.now()
	for _, f := range files {
		st, err := fs.Stat(k.Content, strings.TrimPrefix(f.Ref, "/"))
		if err != nil || fileStamp(st) == f.Kept.Stamp || f.NextAttempt.After(now) {
			continue // gone (the article's next parse says so), unchanged, or paused
		}
		if _, err := k.keep(ctx, f.Ref, f.Attempts); err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			if k.Log != nil {
				k.Log.Warn("replaced image not cut again; the old copy stays", slog.String("image", f.Ref), slog.Any("err", err))
			}
			continue
		}
		n++
	}
	return n, nil
}
