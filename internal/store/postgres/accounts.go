package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/jackc/pgx/v5"
)

// The admin web UI's account changes, two-factor state, settings and the
// audit log's pages (docs/ARCHITECTURE.md, "Admin UI").

// updateUser runs an UPDATE of one user; no such user is ErrNotFound.
func (s *Store) updateUser(ctx context.Context, op string, id int64, query string, args ...any) error {
	res, err := s.pool.Exec(ctx, query, append(args, id)...)
	if err != nil {
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if res.RowsAffected() == 0 {
		return fmt.Errorf("postgres: %s %d: %w", op, id, store.ErrNotFound)
	}
	return nil
}

// SetPassword replaces the user's password hash.
func (s *Store) SetPassword(ctx context.Context, id int64, hash string) error {
	return s.updateUser(ctx, "set password", id, `UPDATE users SET password_hash = $1 WHERE id = $2`, hash)
}

// SetUserRole changes the user's role.
func (s *Store) SetUserRole(ctx context.Context, id int64, role string) error {
	return s.updateUser(ctx, "set role", id, `UPDATE users SET role = $1 WHERE id = $2`, role)
}

// SetTOTP sets the user's TOTP secret ("" turns two-factor off).
func (s *Store) SetTOTP(ctx context.Context, id int64, secret string) error {
	return s.updateUser(ctx, "set totp", id, `UPDATE users SET totp_secret = $1 WHERE id = $2`, secret)
}

// UseTOTPStep records step as the user's last TOTP step used, if it is
// later than the last one; false means it is not (a replayed code).
func (s *Store) UseTOTPStep(ctx context.Context, id, step int64) (bool, error) {
	res, err := s.pool.Exec(ctx, `UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1`, step, id)
	if err != nil {
		return false, fmt.Errorf("postgres: use totp step: %w", err)
	}
	return res.RowsAffected() == 1, nil
}

// SetRecoveryCodes replaces the user's recovery codes (their hashes).
func (s *Store) SetRecoveryCodes(ctx context.Context, userID int64, hashes []string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return err
		}
		for _, h := range hashes {
			if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)`, userID, h); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: set recovery codes: %w", err)
	}
	return nil
}

// UseRecoveryCode spends the user's recovery code with hash; false: no
// such code (or spent already).
func (s *Store) UseRecoveryCode(ctx context.Context, userID int64, hash string) (bool, error) {
	res, err := s.pool.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2`, userID, hash)
	if err != nil {
		return false, fmt.Errorf("postgres: use recovery code: %w", err)
	}
	return res.RowsAffected() == 1, nil
}

// RecoveryCodesLeft counts the user's unspent recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: recovery codes left: %w", err)
	}
	return n, nil
}

// UserSessions lists the user's sessions, most recently seen first.
func (s *Store) UserSessions(ctx context.Context, userID int64) ([]store.Session, error) {
	return s.querySessions(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = $1 ORDER BY last_seen DESC, id_hash`, userID)
}

// Setting returns the value of an admin setting; store.ErrNotFound when
// it was never set.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, "admin."+key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("postgres: setting %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("postgres: setting %s: %w", key, err)
	}
	return v, nil
}

// SetSetting sets an admin setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
		"admin."+key, value); err != nil {
		return fmt.Errorf("postgres: set setting %s: %w", key, err)
	}
	return nil
}

// AuditBefore returns up to limit entries older than the entry (at, id),
// newest first; a zero at starts from the newest.
func (s *Store) AuditBefore(ctx context.Context, at time.Time, id int64, limit int) ([]store.AuditEntry, error) {
	q := `SELECT id, at, user_id, email, action, detail, ip FROM audit_log`
	args := []any{}
	if !at.IsZero() {
		q += ` WHERE (at, id) < ($1, $2)`
		args = append(args, micros(at), id)
	}
	rows, err := s.pool.Query(ctx, q+fmt.Sprintf(` ORDER BY at DESC, id DESC LIMIT $%d`, len(args)+1), append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("postgres: audit: %w", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.UserID, &e.Email, &e.Action, &e.Detail, &e.IP); err != nil {
			return nil, fmt.Errorf("postgres: audit: %w", err)
		}
		e.At = fromMicros(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: audit: %w", err)
	}
	return out, nil
}
