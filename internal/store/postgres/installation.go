package postgres

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
)

// installationKey is the settings row holding the installation id.
const installationKey = "installation_id"

// InstallationID returns a random id fixed at the store's first start. It
// is part of every digest Message-ID, so two installations never mint the
// same one; herald store copy carries settings, so a move keeps it.
func (s *Store) InstallationID(ctx context.Context) (string, error) {
	// Insert if absent, then read: an insert racing another instance's
	// waits for it and does nothing, and the read sees the winner's.
	if _, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`,
		installationKey, newInstallationID()); err != nil {
		return "", fmt.Errorf("postgres: installation id: %w", err)
	}
	var id string
	if err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, installationKey).Scan(&id); err != nil {
		return "", fmt.Errorf("postgres: installation id: %w", err)
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
