package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// ErrInUse: another process holds the store, so it cannot be replaced.
var ErrInUse = errors.New("the store is in use by another herald process (stop serve first)")

// lockFile takes a lock beside the database: shared for every process
// that opens the store, exclusive for restore, so a restore never swaps
// the file under a running serve.
func lockFile(path string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("sqlite: lock: %w", err)
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("sqlite: lock: %w", err)
	}
	return f, nil
}

// Backup writes a consistent copy of the store to dst while it is in use
// (VACUUM INTO reads one snapshot; writers go on meanwhile).
func (s *Store) Backup(ctx context.Context, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("backup: %s already exists", dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if _, err := s.r.ExecContext(ctx, `VACUUM INTO ?`, dst); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// Restore replaces the store at path with the backup src. It refuses while
// any other process has the store open, and refuses a backup that is not a
// Herald store or was made by a newer Herald. The copy is migrated before
// it replaces the store, and when a store is replaced its id sequences are
// raised to that store's: ids are never reused, so nothing made after the
// backup (a mailed link, a Message-ID) can name a row made after the
// restore (docs/ARCHITECTURE.md, "Subscriber links and ids").
func Restore(ctx context.Context, path, src string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { // restoring onto a fresh machine
		return fmt.Errorf("restore: %w", err)
	}
	lock, err := lockFile(path, true)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := checkBackup(ctx, src); err != nil {
		return err
	}
	floors, err := idFloors(ctx, path)
	if err != nil {
		return fmt.Errorf("restore: reading the ids of the store it replaces, %s: %w (move that file away to restore without it)", path, err)
	}
	tmp := path + ".restore-tmp"
	if err := copyFile(src, tmp); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := prepareRestored(ctx, tmp, floors); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("restore: %w", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.Remove(tmp)
			return fmt.Errorf("restore: %w", err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	return nil
}

// idSources are, per AUTOINCREMENT table, the columns its ids show up in:
// its own, and those that outlive its rows.
var idSources = map[string][]string{
	"subscribers": {"subscribers.id", "digest_deliveries.subscriber_id"},
	"digest_runs": {"digest_runs.id", "digest_deliveries.run_id"},
}

// idFloors reads the highest id each sequence of the store at path has
// handed out (its sqlite_sequence, and the ids still stored, for a store
// from before AUTOINCREMENT). No store at path: nil.
func idFloors(ctx context.Context, path string) (map[string]int64, error) {
	if fi, err := os.Stat(path); errors.Is(err, os.ErrNotExist) || (err == nil && fi.Size() == 0) {
		return nil, nil
	}
	// Read-write, so a WAL left by a stopped serve is read too; the file
	// is about to be replaced anyway.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	tables := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		tables[name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	floors := map[string]int64{}
	if tables["sqlite_sequence"] {
		rows, err := db.QueryContext(ctx, `SELECT name, seq FROM sqlite_sequence`)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name string
			var seq int64
			if err := rows.Scan(&name, &seq); err != nil {
				rows.Close()
				return nil, err
			}
			floors[name] = max(floors[name], seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	for table, cols := range idSources {
		for _, tc := range cols {
			t, c, _ := strings.Cut(tc, ".")
			if !tables[t] {
				continue
			}
			var n int64
			if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(`+c+`), 0) FROM `+t).Scan(&n); err != nil {
				return nil, err
			}
			floors[table] = max(floors[table], n)
		}
	}
	return floors, nil
}

// prepareRestored migrates the restored copy at path and raises each of
// its sequences to at least floors' value. It leaves the file in rollback
// journal mode, so it is complete without a -wal beside it.
func prepareRestored(ctx context.Context, path string, floors map[string]int64) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(DELETE)&_txlock=immediate")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	s := &Store{w: db, r: db, path: path}
	if err := s.migrate(ctx, LatestVersion()); err != nil {
		return err
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		for name, floor := range floors {
			// Only AUTOINCREMENT tables have a sequence; one never used
			// yet has no row.
			if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) SELECT ?, 0
				WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = ?)
				AND EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ? AND sql LIKE '%AUTOINCREMENT%')`,
				name, name, name); err != nil {
				return fmt.Errorf("sequence %s: %w", name, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?`, floor, name); err != nil {
				return fmt.Errorf("sequence %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return db.Close()
}

func checkBackup(ctx context.Context, src string) error {
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+src+"?mode=ro")
	if err != nil {
		return fmt.Errorf("restore: %s: %w", src, err)
	}
	defer db.Close()
	var v int
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return fmt.Errorf("restore: %s is not a Herald store: %w", src, err)
	}
	if v > LatestVersion() {
		return fmt.Errorf("restore: %s is at schema version %d, this binary knows up to %d", src, v, LatestVersion())
	}
	var ok string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("restore: %s fails the integrity check: %v %s", src, err, ok)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
