// Package sqlite is Herald's SQLite store (modernc.org/sqlite, pure Go):
// WAL, a busy timeout, one writer connection and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/herald-news/herald/internal/store"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store. Its methods are safe for concurrent use.
type Store struct {
	w    *sql.DB // exactly one connection: SQLite allows one writer
	r    *sql.DB // readers
	path string
	lock *os.File // shared lock: restore refuses while any process has the store

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // hot statements prepared on w (hot)
}

// Open opens (creating if needed) the database at path and migrates it.
// path may be a file name or ":memory:"-free test path; options are added here.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, LatestVersion())
}

// open opens the store at path and migrates it up to version upto.
func open(ctx context.Context, path string, upto int) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	dsnW := "file:" + path + "?" + q.Encode() + "&_txlock=immediate"
	dsnR := "file:" + path + "?" + q.Encode()
	lock, err := lockFile(path, false)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	w, err := sql.Open("sqlite", dsnW)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", dsnR)
	if err != nil {
		w.Close()
		lock.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s := &Store{w: w, r: r, path: path, lock: lock}
	if err := s.migrate(ctx, upto); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes both pools.
func (s *Store) Close() error {
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	err := errors.Join(s.r.Close(), s.w.Close())
	if s.lock != nil {
		s.lock.Close()
	}
	return err
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Ping checks that the store answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.r.PingContext(ctx)
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
			return nil, fmt.Errorf("sqlite: bad migration name %q", e.Name())
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
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}

// SchemaCurrent is the store's schema version and the one this binary
// migrates to, so a readiness check need not know the backend.
func (s *Store) SchemaCurrent(ctx context.Context) (have, want int, err error) {
	have, err = s.SchemaVersion(ctx)
	return have, LatestVersion(), err
}

// migrate applies each embedded migration not yet applied up to version
// upto, each in its own transaction, and refuses a store a newer binary
// migrated.
func (s *Store) migrate(ctx context.Context, upto int) error {
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		return fmt.Errorf("sqlite: %s: %w", s.path, err)
	}
	ms, err := listMigrations()
	if err != nil {
		return err
	}
	var cur int
	if err := s.w.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if latest := LatestVersion(); cur > latest {
		return fmt.Errorf("sqlite: %s is at schema version %d, this binary knows up to %d: %w (upgrade Herald)", s.path, cur, latest, store.ErrTooNew)
	}
	for _, m := range ms {
		if m.version <= cur || m.version > upto {
			continue
		}
		body, err := fs.ReadFile(migrations, "migrations/"+m.name)
		if err != nil {
			return err
		}
		if err := s.applyMigration(ctx, m, string(body)); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
		}
	}
	return nil
}

// fkOffDirective starts a migration that rebuilds a table other tables
// reference (SQLite's documented procedure for schema changes ALTER TABLE
// cannot make, such as a CHECK): it runs with foreign keys off, so
// dropping the old table neither cascades to nor rewrites the references,
// and commits only if PRAGMA foreign_key_check finds every reference valid.
const fkOffDirective = "-- herald: foreign_keys off"

// applyMigration runs one migration and records it, in one transaction on
// one connection.
func (s *Store) applyMigration(ctx context.Context, m migration, body string) (err error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	fkOff := strings.HasPrefix(body, fkOffDirective)
	if fkOff {
		// Outside the transaction: inside one the pragma does nothing.
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return err
		}
		defer func() {
			// The pooled connection must not stay without foreign keys
			// (Open fails, closing it, if this fails).
			if _, onErr := conn.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`); onErr != nil && err == nil {
				err = onErr
			}
		}()
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if fkOff {
		rows, err := tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			return err
		}
		bad := rows.Next()
		rows.Close()
		if bad {
			return errors.New("foreign key check failed; nothing was changed")
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
		return err
	}
	return tx.Commit()
}

// hot returns query prepared on the writer, preparing it the first time:
// the delivery path (claim, record) runs the same few statements for
// every batch, and SQLite parsing them anew each time was an eighth of a
// digest's CPU (BENCHMARKS.md). The writer pool has one connection, so
// the statement stays prepared on it (database/sql prepares it again on
// a replacement connection); inside a transaction use tx.StmtContext.
// Call it before inTx: preparing needs the connection a transaction holds.
func (s *Store) hot(ctx context.Context, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st := s.stmts[query]; st != nil {
		return st, nil
	}
	st, err := s.w.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[query] = st
	return st, nil
}

// hotAll is hot for several queries, in order.
func (s *Store) hotAll(ctx context.Context, queries ...string) ([]*sql.Stmt, error) {
	out := make([]*sql.Stmt, len(queries))
	for i, q := range queries {
		st, err := s.hot(ctx, q)
		if err != nil {
			return nil, err
		}
		out[i] = st
	}
	return out, nil
}

// inTx runs fn in a write transaction.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}
