// Package postgres is Herald's PostgreSQL store (pgx v5, pgxpool): the
// same methods and semantics as the SQLite store, for several instances
// sharing one database (docs/ARCHITECTURE.md, "Adding a store backend").
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLock is the advisory lock key migrations run under, so instances
// starting together migrate once ("herald" in ASCII).
const migrateLock int64 = 0x686572616c64

// Store is the PostgreSQL store. Its methods are safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	name    string // host/database, for messages (never the password)
	display string // the DSN without its password (Path)

	bg   context.Context // ends at Close: stops the listeners of ArticleChanges
	stop context.CancelFunc
	wg   sync.WaitGroup // the listeners
}

// Open connects to the database dsn names (a postgres:// URL or key=value
// string; pool_max_conns and the other pgxpool parameters size the pool)
// and migrates it.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, LatestVersion())
}

// ErrNoStore is OpenExisting's answer when the database holds no Herald
// store (never migrated); it is store.ErrNoStore, as on every backend.
var ErrNoStore = store.ErrNoStore

// OpenExisting opens the store like Open, but only if Herald has migrated
// the database before: a command that only reads must not answer from a
// fresh, empty store because the DSN names the wrong database.
func OpenExisting(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, -1)
}

// open connects and migrates up to version upto; upto -1 migrates to the
// latest, but only a database already holding a store.
func open(ctx context.Context, dsn string, upto int) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included.
		return nil, errors.New("postgres: invalid store.dsn")
	}
	name := cfg.ConnConfig.Host + "/" + cfg.ConnConfig.Database
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", name, err)
	}
	s := &Store{pool: pool, name: name, display: Redact(dsn)}
	s.bg, s.stop = context.WithCancel(context.Background())
	if upto < 0 {
		var exists bool
		if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
			s.Close()
			return nil, fmt.Errorf("postgres: %s: %w", name, err)
		}
		if !exists {
			s.Close()
			return nil, fmt.Errorf("postgres: %s: %w", name, ErrNoStore)
		}
		upto = LatestVersion()
	}
	if err := s.migrate(ctx, upto); err != nil {
		s.Close()
		return nil, err
	}
	if upto >= titleSearchVersion {
		if err := s.backfillTitleSearch(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Close stops the listeners of ArticleChanges and closes the pool, waiting
// for connections in use to be returned.
func (s *Store) Close() error {
	s.stop()
	s.wg.Wait()
	s.pool.Close()
	return nil
}

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

type migration struct {
	version int
	name    string
}

func listMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("postgres: bad migration name %q", e.Name())
		}
		ms = append(ms, migration{v, e.Name()})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// LatestVersion is the schema version this binary migrates to.
func LatestVersion() int {
	ms, _ := listMigrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// SchemaVersion is the version the store is at.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// migrate applies each embedded migration not yet applied up to version
// upto, each in its own transaction holding the advisory lock, and
// refuses a store a newer binary migrated. An instance that waited for
// the lock finds the version another one recorded and skips it.
func (s *Store) migrate(ctx context.Context, upto int) error {
	ms, err := listMigrations()
	if err != nil {
		return err
	}
	latest := LatestVersion()
	for {
		done := true
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
				return err
			}
			// Created under the lock: two concurrent CREATE TABLE IF NOT
			// EXISTS can both miss the table and one then fail.
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version    INTEGER PRIMARY KEY,
				name       TEXT NOT NULL,
				applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
				return err
			}
			var cur int
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
				return err
			}
			if cur > latest {
				return fmt.Errorf("%s is at schema version %d, this binary knows up to %d: %w (upgrade Herald)", s.name, cur, latest, store.ErrTooNew)
			}
			for _, m := range ms {
				if m.version <= cur || m.version > upto {
					continue
				}
				body, err := fs.ReadFile(migrations, "migrations/"+m.name)
				if err != nil {
					return err
				}
				// No arguments: pgx sends it by the simple protocol, which
				// runs several statements.
				if _, err := tx.Exec(ctx, string(body)); err != nil {
					return fmt.Errorf("migration %s: %w", m.name, err)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
					return fmt.Errorf("migration %s: %w", m.name, err)
				}
				done = false
				return nil // one migration per transaction
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		if done {
			return nil
		}
	}
}

// micros is t as the store keeps it: unix microseconds, UTC.
func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

// fromMicros is the time a stored unix-microsecond value names, in UTC.
func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// queryer is the pool or a transaction.
type queryer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// inTx runs fn in a transaction, committed if fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", storeErr(err))
	}
	return nil
}

// uniqueViolation is SQLSTATE 23505.
const uniqueViolation = "23505"

// storeErr maps pgx's errors onto the store's: no row is store.ErrNotFound,
// a unique violation store.ErrConflict (both keep the original in the
// chain); anything else is returned as it is.
func storeErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == uniqueViolation {
		return fmt.Errorf("%w: %w", store.ErrConflict, err)
	}
	return err
}
