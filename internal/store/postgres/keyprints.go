package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// servingKeysName is the secrets row listing the fingerprints of the token
// keys the last `herald serve` verifies links with (fingerprints only,
// never keys).
const servingKeysName = "serving_token_key_fingerprints"

// SetServingKeyPrints records the fingerprints of the token keys serve
// verifies with, replacing what an earlier serve recorded.
func (s *Store) SetServingKeyPrints(ctx context.Context, prints []string) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, created_at = excluded.created_at`,
		servingKeysName, []byte(strings.Join(prints, ",")), us(time.Now())); err != nil {
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
