// Package backend is the one store interface the commands and the web
// layer use, and the opener that picks a backend by store.driver. Outside
// Open no code names a backend's concrete type (docs/ARCHITECTURE.md,
// "Adding a store backend").
package backend

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/feed"
	"github.com/herald-news/herald/internal/content"
	"github.com/herald-news/herald/internal/dashboard"
	"github.com/herald-news/herald/internal/imagefetch"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/web"
)

// Store is everything cmd/herald and internal/web need of a store: the
// interfaces the consuming packages own, plus what only commands use.
type Store interface {
	digest.Store
	digest.RunControl
	digest.FeedbackStore
	feed.Source
	subscribe.Store
	subscribe.RateStore
	content.Store
	content.Lease
	web.Store
	web.APIStore
	web.Archive
	web.AdminStore
	dashboard.Store
	media.Store
	web.MediaFiles
	imagefetch.Store
	Admin
}

// Admin is what only the commands use: lifecycle, readiness, the
// store-kept secrets and identities, and the numbers of herald status and
// /metrics.
type Admin interface {
	// Path names the store in messages (a file for SQLite).
	Path() string
	Ping(ctx context.Context) error
	Close() error
	// SchemaCurrent is the store's schema version and the one this binary
	// migrates to; /readyz wants them equal.
	SchemaCurrent(ctx context.Context) (have, want int, err error)
	// FixFeedAuthority keeps the host of feed ids fixed at the first start.
	FixFeedAuthority(ctx context.Context, authority string) (string, error)
	// InstallationID is random, fixed at the first start: the part of
	// digest Message-IDs that keeps installations apart.
	InstallationID(ctx context.Context) (string, error)
	TokenKey(ctx context.Context) ([]byte, error)
	SetServingKeyPrints(ctx context.Context, prints []string) error
	ServingKeyPrints(ctx context.Context) (prints []string, ok bool, err error)
	ArticleStateCounts(ctx context.Context, now time.Time) (map[string]int, error)
	SubscriberStatusCounts(ctx context.Context) (map[string]int, error)
	DeliveryStatusCounts(ctx context.Context) (map[string]int, error)
	QueueDepth(ctx context.Context) (int, error)
	FailedRuns(ctx context.Context) (map[string]int, error)
	LastDigestSuccess(ctx context.Context) (map[string]float64, error)
	// PruneDeliveries drops delivery rows of runs finished before cutoff
	// (digest.keep_deliveries).
	PruneDeliveries(ctx context.Context, cutoff, now time.Time) (int64, error)
	// PruneSessions deletes admin sessions unused since idleBefore or
	// made before createdBefore.
	PruneSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error)
	// PruneImportUploads deletes admin CSV uploads expired before now.
	PruneImportUploads(ctx context.Context, now time.Time) (int64, error)
	// ArticlesGeneration changes whenever any process writes articles, so
	// serve notices writes it did not make.
	ArticlesGeneration(ctx context.Context) (int64, error)
	// NextPublication is the earliest publication after t of a listed
	// article: when caches must rebuild for a future-dated one.
	NextPublication(ctx context.Context, t time.Time) (time.Time, bool, error)
	// ClaimPing records feedURL's bytes etag as announced to WebSub hubs;
	// true means this call changed the record and its caller pings.
	ClaimPing(ctx context.Context, feedURL, etag string, now time.Time) (bool, error)
}

// ChangeNotifier is a store that tells of article writes by any instance
// as they commit (PostgreSQL's LISTEN/NOTIFY); serve still polls
// ArticlesGeneration, the only way on a store without it.
type ChangeNotifier interface {
	ArticleChanges(ctx context.Context) <-chan struct{}
}

// Backuper is a store that can copy itself to a file while in use; a
// backend without it leaves backups to its own tools.
type Backuper interface {
	Backup(ctx context.Context, dst string) error
}

// ErrNoStore: Open without create found no store at the DSN (every
// backend answers store.ErrNoStore).
var ErrNoStore = store.ErrNoStore

// Open opens the store of driver at dsn. With create false a missing
// store is ErrNoStore rather than a fresh, empty one.
func Open(ctx context.Context, driver, dsn string, create bool) (Store, error) {
	switch driver {
	case "sqlite":
		open := sqlite.OpenExisting
		if create {
			open = sqlite.Open
		}
		st, err := open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return st, nil
	case "postgres":
		open := postgres.OpenExisting
		if create {
			open = postgres.Open
		}
		st, err := open(ctx, dsn)
		if err != nil {
			return nil, err
		}
		return st, nil
	default:
		return nil, fmt.Errorf("unknown store driver %q", driver)
	}
}

// Name is how messages show the store at dsn: a SQLite file by its
// absolute path, a PostgreSQL DSN without its password.
func Name(driver, dsn string) string {
	switch driver {
	case "sqlite":
		if abs, err := filepath.Abs(dsn); err == nil {
			return abs
		}
	case "postgres":
		return postgres.Redact(dsn)
	}
	return dsn
}

// Backup copies st, the store of driver at dsn, to the file dst while in
// use; a backend that is no Backuper is refused with the command of its
// own tools that does it.
func Backup(ctx context.Context, st Store, driver, dsn, dst string) error {
	if b, ok := st.(Backuper); ok {
		return b.Backup(ctx, dst)
	}
	if driver == "postgres" {
		return fmt.Errorf("backup: store.driver postgres has no file backup; use PostgreSQL's own tool: pg_dump --format=custom --file=%s %s (the password from PGPASSWORD or ~/.pgpass)",
			shellQuote(dst), shellQuote(postgres.Redact(dsn)))
	}
	return fmt.Errorf("backup: store.driver %s has no file backup; use the database's own tools", driver)
}

// Restore replaces the store at dsn with the backup src. The store must
// not be open; only backends that write file backups can restore them,
// the others are refused with the command of their own tools.
func Restore(ctx context.Context, driver, dsn, src string) error {
	switch driver {
	case "sqlite":
		return sqlite.Restore(ctx, dsn, src)
	case "postgres":
		return fmt.Errorf("restore: store.driver postgres has no file restore; stop every instance, then use PostgreSQL's own tool on a dump of pg_dump --format=custom: pg_restore --clean --if-exists --dbname=%s %s (the password from PGPASSWORD or ~/.pgpass)",
			shellQuote(postgres.Redact(dsn)), shellQuote(src))
	default:
		return fmt.Errorf("restore: store.driver %s has no file restore; use the database's own tools", driver)
	}
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// characters that are safe bare, so a suggested command pastes as it is.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
