package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
// Herald store or was made by a newer Herald.
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
	tmp := path + ".restore-tmp"
	if err := copyFile(src, tmp); err != nil {
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
