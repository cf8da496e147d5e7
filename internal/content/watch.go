package content

import (
	"context"
	"io/fs"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch syncs on every change in the folder (debounced) and every rescan
// interval as a safety net for events fsnotify misses (network file
// systems, editors that replace folders). onSync gets each report. It
// returns when ctx is done.
func (s *Syncer) Watch(ctx context.Context, rescan time.Duration, onSync func(Report)) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		s.Log.Warn("file watching unavailable; rescanning periodically only", slog.Any("err", err))
	} else {
		defer w.Close()
		s.addDirs(w)
	}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w != nil {
		events, errs = w.Events, w.Errors
	}
	tick := time.NewTicker(rescan)
	defer tick.Stop()
	var debounce <-chan time.Time
	sync := func() {
		rep, err := s.SyncLogged(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.Log.Error("content sync failed", slog.Any("err", err))
			}
			return
		}
		if onSync != nil {
			onSync(rep)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Has(fsnotify.Create) && w != nil {
				s.addDirs(w) // a new sub-folder needs its own watch
			}
			if debounce == nil {
				debounce = time.After(200 * time.Millisecond)
			}
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.Log.Warn("file watching error", slog.Any("err", err))
		case <-debounce:
			debounce = nil
			sync()
		case <-tick.C:
			sync()
		}
	}
}

func (s *Syncer) addDirs(w *fsnotify.Watcher) {
	_ = filepath.WalkDir(s.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if p != s.Dir && skipDir(d.Name()) {
			return fs.SkipDir
		}
		if err := w.Add(p); err != nil {
			s.Log.Debug("cannot watch folder", slog.String("dir", p), slog.Any("err", err))
		}
		return nil
	})
}
