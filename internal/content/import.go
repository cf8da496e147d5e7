package content

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/confined"
	"github.com/herald-news/herald/internal/store"
)

// Import reads the files and folders in paths. Files inside the content
// folder are imported as the sync would (so serve agrees with them);
// others are marked as imported and left alone by the sync. With dryRun
// nothing is written, but conflicts with the store are still reported.
func (s *Syncer) Import(ctx context.Context, paths []string, dryRun bool) (Report, error) {
	var rep Report
	var files []importFile
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			rep.Errors = append(rep.Errors, err)
			continue
		}
		if !st.IsDir() {
			files = append(files, importFile{display: root, abs: mustAbs(root), base: filepath.Dir(root)})
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				rep.Errors = append(rep.Errors, err)
				return nil
			}
			if d.IsDir() {
				if p != root && skipDir(d.Name()) {
					return fs.SkipDir
				}
				return nil
			}
			if isArticle(d.Name()) {
				files = append(files, importFile{display: p, abs: mustAbs(p), base: root})
			}
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	contentAbs := mustAbs(s.Dir)
	var ok []parsed
	for _, f := range files {
		rel, inside := within(contentAbs, f.abs)
		base := s.Dir
		if !inside {
			r, _ := filepath.Rel(f.base, f.display)
			rel, base = filepath.ToSlash(r), f.base
		}
		// Read through os.Root, as the sync does: a symlink that leads
		// out of the folder is refused.
		data, err := fs.ReadFile(confined.FS(base), rel)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Errorf("%s: %w", f.display, err))
			continue
		}
		var a *article.Article
		if inside {
			a, err = s.Parser.Parse(rel, data)
			err = relocate(err, f.display)
		} else {
			p := article.NewParser(s.Parser.Location(), confined.FS(f.base))
			a, err = p.Parse(rel, data)
			err = relocate(err, f.display)
			if a != nil {
				a.Source, a.SourcePath = article.SourceImport, f.abs
			}
		}
		if err != nil {
			rep.Errors = append(rep.Errors, err)
			continue
		}
		ok = append(ok, parsed{path: f.display, a: a})
	}
	ok = dropDuplicates(ok, "", &rep)
	if dryRun {
		for _, f := range ok {
			if f.a == nil {
				continue
			}
			old, err := s.Store.GetArticle(ctx, f.a.Slug)
			switch {
			case errors.Is(err, store.ErrNotFound):
				rep.Added++
			case err != nil:
				return rep, err
			case old.Source != f.a.Source || (old.SourcePath != f.a.SourcePath && !old.Removed):
				rep.Errors = append(rep.Errors, fmt.Errorf("%s: slug %q is already used by %s: %w", f.path, f.a.Slug, orSource(old), store.ErrConflict))
			case old.ContentHash == f.a.ContentHash && !old.Removed:
				rep.Unchanged++
			default:
				rep.Updated++
			}
		}
		return rep, nil
	}
	now := s.Now()
	for _, f := range ok {
		if f.a == nil {
			continue
		}
		_, gerr := s.Store.GetArticle(ctx, f.a.Slug)
		existed := !errors.Is(gerr, store.ErrNotFound)
		changed, err := s.Store.UpsertArticle(ctx, f.a, now)
		switch {
		case err != nil:
			rep.Errors = append(rep.Errors, fmt.Errorf("%s: %w", f.path, err))
		case !changed:
			rep.Unchanged++
		case existed:
			rep.Updated++
		default:
			rep.Added++
		}
	}
	s.keepImages(ctx, &rep)
	return rep, nil
}

type importFile struct{ display, abs, base string }

func orSource(a *article.Article) string {
	if a.SourcePath != "" {
		return a.SourcePath
	}
	return a.Source
}

func mustAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// within reports whether file lies inside dir, and its slash path there.
func within(dir, file string) (string, bool) {
	rel, err := filepath.Rel(dir, file)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// relocate makes a parse error name the file by the path the user gave.
func relocate(err error, display string) error {
	var pe *article.ParseError
	if errors.As(err, &pe) {
		cp := *pe
		cp.File = display
		return &cp
	}
	return err
}
