// Package content keeps the article store in step with Markdown files:
// a one-shot import of files or folders, and the sync of the content
// folder that serve runs at start, on change and periodically.
package content

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/confined"
)

// Store is what syncing needs of the article store.
type Store interface {
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	SetRemoved(ctx context.Context, slug string, removed bool) error
	GetArticle(ctx context.Context, slug string) (*article.Article, error)
	FileArticles(ctx context.Context) ([]article.FileRecord, error)
}

// Lease is a store lease, so that of the instances sharing a store one
// at a time syncs the content folder (docs/ARCHITECTURE.md, "Leases and
// slots").
type Lease interface {
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// syncLease names the content folder's lease; syncLeaseTTL outlives the
// 30 s rescan that renews it, so a live holder keeps it.
const (
	syncLease    = "content-sync"
	syncLeaseTTL = 2 * time.Minute
)

// Report says what a sync or import did. Errors are one per bad file,
// each "FILE:LINE: what is wrong". Warnings are articles stored without
// their remote image, "FILE: image: URL: why". Images counts the remote
// images kept. Skipped, when set, says why a sync changed nothing at all.
type Report struct {
	Added, Updated, Unchanged, Removed int
	Images                             int
	Errors, Warnings                   []error
	Skipped                            string
}

// Why a sync is skipped.
const (
	SkipMissing = "folder missing"
	SkipEmpty   = "folder empty"
	SkipLeased  = "another instance syncs it"
)

func (r Report) String() string {
	s := fmt.Sprintf("%d added, %d updated, %d unchanged, %d removed, %d failed",
		r.Added, r.Updated, r.Unchanged, r.Removed, len(r.Errors))
	if r.Images > 0 || len(r.Warnings) > 0 {
		s += fmt.Sprintf("; %d images kept, %d missing", r.Images, len(r.Warnings))
	}
	return s
}

// Changed reports whether the sync wrote anything.
func (r Report) Changed() bool { return r.Added+r.Updated+r.Removed+r.Images > 0 }

// Images keeps the remote images of stored articles in the media store
// (docs/ARCHITECTURE.md, "Remote images"): KeepPending tries every one
// still missing whose retry is due, and says how many it kept and which
// articles still lack theirs.
type Images interface {
	KeepPending(ctx context.Context) (int, []article.ImageFailure, error)
}

type parsed struct {
	path string // display path
	a    *article.Article
}

// isArticle reports whether a file name is an article source.
func isArticle(name string) bool {
	return strings.HasSuffix(strings.ToLower(name), ".md") && !strings.HasPrefix(name, ".")
}

// skipDir: hidden folders and "_drafts"-style folders are not scanned.
func skipDir(name string) bool {
	return name != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"))
}

// Syncer syncs one content folder into the store.
type Syncer struct {
	Dir    string
	Store  Store
	Parser *article.Parser
	Log    *slog.Logger
	Now    func() time.Time
	// Lease, if set, is taken as Holder before each sync writes: a sync
	// while another holder has it does nothing.
	Lease  Lease
	Holder string
	// Images, if set, fetches the remote images articles lack after each
	// sync and import.
	Images Images

	mu       sync.Mutex
	lastSkip string // what the last sync skipped for, to log changes once
}

// NewSyncer returns a Syncer for dir with a parser reading zone-less dates in loc.
func NewSyncer(dir string, st Store, loc *time.Location, log *slog.Logger) *Syncer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Syncer{Dir: dir, Store: st, Parser: article.NewParser(loc, confined.FS(dir)), Log: log, Now: time.Now}
}

// Sync makes the store match the folder: new and changed files are
// written, files that are gone unpublish their article, and files that
// fail to parse leave the stored version alone.
//
// A folder that is missing or holds no article file, while the store has
// articles from it, is taken for an unmounted or misconfigured folder
// rather than for the deletion of every article: the sync is skipped.
func (s *Syncer) Sync(ctx context.Context) (Report, error) {
	var rep Report
	if fi, err := os.Stat(s.Dir); err != nil || !fi.IsDir() {
		return s.skip(ctx, Report{Skipped: SkipMissing})
	}
	var files []parsed
	err := filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Errorf("%s: %w", p, err))
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if skipDir(d.Name()) {
				return fs.SkipDir
			}
			return nil
		}
		if !isArticle(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(s.Dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		// Through os.Root: an article symlinked from outside the folder
		// is refused, not published.
		data, err := fs.ReadFile(confined.FS(s.Dir), rel)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Errorf("%s: %w", p, err))
			files = append(files, parsed{path: rel}) // keep: unreadable is not gone
			return nil
		}
		a, err := s.Parser.Parse(rel, data)
		if err != nil {
			rep.Errors = append(rep.Errors, displayErr(err, s.Dir))
			files = append(files, parsed{path: rel})
			return nil
		}
		files = append(files, parsed{path: rel, a: a})
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("content: scan %s: %w", s.Dir, err)
	}
	files = dropDuplicates(files, s.Dir, &rep)

	stored, err := s.Store.FileArticles(ctx)
	if err != nil {
		return rep, err
	}
	if len(files) == 0 && slices.ContainsFunc(stored, func(fa article.FileRecord) bool { return !fa.Removed }) {
		rep.Skipped = SkipEmpty
		return s.skip(ctx, rep)
	}
	if s.Lease != nil {
		ok, err := s.Lease.AcquireLease(ctx, syncLease, s.Holder, s.Now(), syncLeaseTTL)
		if err != nil {
			return rep, fmt.Errorf("content: %w", err)
		}
		if !ok {
			return Report{Skipped: SkipLeased}, nil
		}
	}
	present := map[string]string{} // path → slug it now yields ("" when unparsable)
	for _, f := range files {
		if f.a != nil {
			present[f.path] = f.a.Slug
		} else {
			present[f.path] = ""
		}
	}
	known := make(map[string]article.FileRecord, len(stored)) // by slug
	// Removals first, so a renamed file can take over its slug.
	for _, fa := range stored {
		known[fa.Slug] = fa
		if fa.Removed {
			continue
		}
		slug, ok := present[fa.SourcePath]
		if ok && (slug == "" || slug == fa.Slug) {
			continue
		}
		if err := s.Store.SetRemoved(ctx, fa.Slug, true); err != nil {
			return rep, err
		}
		fa.Removed = true
		known[fa.Slug] = fa
		rep.Removed++
		s.Log.Info("article unpublished: its file is gone", slog.String("slug", fa.Slug), slog.String("file", fa.SourcePath))
	}
	s.write(ctx, files, known, &rep)
	s.keepImages(ctx, &rep)
	return rep, nil
}

// keepImages fetches the remote images stored articles still lack. A
// failure is a warning naming the article's file: the article is stored
// and shown without its image, and a later sync tries again.
func (s *Syncer) keepImages(ctx context.Context, rep *Report) {
	if s.Images == nil {
		return
	}
	n, failed, err := s.Images.KeepPending(ctx)
	rep.Images += n
	if err != nil {
		rep.Warnings = append(rep.Warnings, fmt.Errorf("remote images: %w", err))
	}
	for _, f := range failed {
		rep.Warnings = append(rep.Warnings, fmt.Errorf("%s: image: %s: %w", ImagePlace(s.Dir, f.PendingImage), f.Ref, f.Err))
	}
}

// ImagePlace names where the article of a pending image comes from: its
// file (in the content folder dir, or the path herald import read), else
// "article SLUG".
func ImagePlace(dir string, p article.PendingImage) string {
	switch p.Source {
	case article.SourceFile:
		return filepath.Join(dir, filepath.FromSlash(p.SourcePath))
	case article.SourceImport:
		return p.SourcePath
	}
	return "article " + p.Slug
}

// skip gives the lease up, if this syncer holds it, so an instance that
// sees the folder takes over; rep says why.
func (s *Syncer) skip(ctx context.Context, rep Report) (Report, error) {
	if s.Lease != nil {
		if err := s.Lease.ReleaseLease(ctx, syncLease, s.Holder); err != nil {
			return rep, fmt.Errorf("content: %w", err)
		}
	}
	return rep, nil
}

// Release gives the sync lease up (at shutdown), so another instance
// need not wait for it to expire.
func (s *Syncer) Release(ctx context.Context) error {
	if s.Lease == nil {
		return nil
	}
	if err := s.Lease.ReleaseLease(ctx, syncLease, s.Holder); err != nil {
		return fmt.Errorf("content: %w", err)
	}
	return nil
}

// SyncLogged is Sync that also logs each file that failed and, when
// anything changed, the result: what every caller (start, watch, SIGHUP,
// commands) reports. A skipped sync is logged when the reason changes
// (warning for the folder, info for the lease), else at debug.
func (s *Syncer) SyncLogged(ctx context.Context) (Report, error) {
	rep, err := s.Sync(ctx)
	if err != nil {
		return rep, err
	}
	s.mu.Lock()
	changed := rep.Skipped != s.lastSkip
	s.lastSkip = rep.Skipped
	s.mu.Unlock()
	if rep.Skipped != "" {
		level := slog.LevelDebug
		switch {
		case changed && rep.Skipped == SkipLeased:
			level = slog.LevelInfo
		case changed:
			level = slog.LevelWarn
		}
		s.Log.Log(ctx, level, "content: not syncing: "+rep.Skipped, slog.String("dir", s.Dir))
		return rep, nil
	}
	for _, e := range rep.Errors {
		s.Log.Warn("article not imported", slog.String("error", e.Error()))
	}
	for _, w := range rep.Warnings {
		s.Log.Warn("article image not kept", slog.String("error", w.Error()))
	}
	if rep.Changed() {
		s.Log.Info("content synced", slog.String("dir", s.Dir), slog.String("result", rep.String()))
	}
	return rep, nil
}

// write stores the parsed files. known holds the stored file articles by
// slug (as the removal pass left them): an unchanged file, the common case
// of every rescan, costs no store call at all.
func (s *Syncer) write(ctx context.Context, files []parsed, known map[string]article.FileRecord, rep *Report) {
	now := s.Now()
	for _, f := range files {
		if f.a == nil {
			continue
		}
		old, existed := known[f.a.Slug]
		if existed && !old.Removed && old.SourcePath == f.a.SourcePath && old.ContentHash == f.a.ContentHash {
			rep.Unchanged++
			continue
		}
		changed, err := s.Store.UpsertArticle(ctx, f.a, now)
		switch {
		case err != nil:
			rep.Errors = append(rep.Errors, fmt.Errorf("%s: %w", filepath.Join(s.Dir, f.path), err))
		case !changed:
			rep.Unchanged++
		case existed:
			rep.Updated++
		default:
			rep.Added++
		}
	}
}

// dropDuplicates reports every file of a slug two files share and keeps
// none of them: neither replaces the other.
func dropDuplicates(files []parsed, dir string, rep *Report) []parsed {
	bySlug := map[string][]string{}
	for _, f := range files {
		if f.a != nil {
			bySlug[f.a.Slug] = append(bySlug[f.a.Slug], f.path)
		}
	}
	out := files[:0]
	for _, f := range files {
		if f.a != nil && len(bySlug[f.a.Slug]) > 1 {
			others := []string{}
			for _, p := range bySlug[f.a.Slug] {
				if p != f.path {
					others = append(others, p)
				}
			}
			sort.Strings(others)
			rep.Errors = append(rep.Errors, &article.ParseError{File: filepath.Join(dir, f.path), Line: 1,
				Msg: fmt.Sprintf("duplicate slug %q (also %s): neither file is imported", f.a.Slug, strings.Join(others, ", "))})
			f.a = nil // still present: the stored article, if any, stays
		}
		out = append(out, f)
	}
	return out
}

// displayErr makes a parse error name the file as the user knows it.
func displayErr(err error, dir string) error {
	var pe *article.ParseError
	if errors.As(err, &pe) {
		cp := *pe
		cp.File = filepath.Join(dir, filepath.FromSlash(pe.File))
		return &cp
	}
	return err
}
