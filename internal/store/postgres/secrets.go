package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// tokenKeyName is the secrets row holding the generated token key.
const tokenKeyName = "token_key"

// TokenKey returns the token signing key kept in the store, generating 32
// random bytes the first time (secrets.token_keys empty). Every instance
// sharing the store gets the same key: the first insert wins and the
// others read it.
func (s *Store) TokenKey(ctx context.Context) ([]byte, error) {
	var key []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, tokenKeyName).Scan(&key)
	if err == nil && len(key) > 0 {
		return key, nil
	}
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: token key: %w", err)
	}
	fresh := make([]byte, 32)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("postgres: token key: %w", err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// A concurrent insert makes this one wait and do nothing; the
		// SELECT, a new statement, then sees the winner's key.
		if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
			tokenKeyName, fresh, micros(time.Now())); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, tokenKeyName).Scan(&key)
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: token key: %w", err)
	}
	return key, nil
}

// servingKeysName is the secrets row listing the fingerprints of the token
// keys the last `herald serve` verifies links with (fingerprints only,
// never keys).
const servingKeysName = "serving_token_key_fingerprints"

// SetServingKeyPrints records the fingerprints of the token keys serve
// verifies with, replacing what an earlier serve recorded.
func (s *Store) SetServingKeyPrints(ctx context.Context, prints []string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at`,
		servingKeysName, []byte(strings.Join(prints, ",")), micros(time.Now()))
	if err != nil {
		return fmt.Errorf("postgres: serving key fingerprints: %w", err)
	}
	return nil
}

// ServingKeyPrints returns what SetServingKeyPrints recorded; ok is false
// when no serve has run against the store yet.
func (s *Store) ServingKeyPrints(ctx context.Context) (prints []string, ok bool, err error) {
	var v []byte
	err = s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, servingKeysName).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("postgres: serving key fingerprints: %w", err)
	}
	for _, p := range strings.Split(string(v), ",") {
		if p != "" {
			prints = append(prints, p)
		}
	}
	return prints, true, nil
}
