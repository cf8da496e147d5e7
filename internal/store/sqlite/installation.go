package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
)

// installationKey is the settings row holding the installation id.
const installationKey = "installation_id"

// InstallationID returns a random id fixed at the store's first start. It
// is part of every digest Message-ID, so two installations never mint the
// same one; herald store copy carries settings, so a move keeps it.
func (s *Store) InstallationID(ctx context.Context) (string, error) {
	var id string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, installationKey).Scan(&id)
	if err == nil && id != "" {
		return id, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("sqlite: installation id: %w", err)
	}
	fresh := newInstallationID()
	// Insert if absent, then read: racing first starts all get the winner's.
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
			installationKey, fresh); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, installationKey).Scan(&id)
	})
	if err != nil {
		return "", fmt.Errorf("sqlite: installation id: %w", err)
	}
	return id, nil
}

// newInstallationID is 80 random bits in lowercase base32: valid in a
// Message-ID's left part and unchanged by MTAs that fold case.
func newInstallationID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding).EncodeToString(b)
}
