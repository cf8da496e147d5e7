package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// The admin web UI's users, sessions and audit log (docs/ARCHITECTURE.md,
// "HTTP surfaces"). Rules (password policy, lockout delays, session
// timeouts) live in Go above the store; these methods only keep the rows.

const userCols = `id, email, name, role, password_hash, created_at, COALESCE(setup_hash, ''), setup_expires, failed_logins, next_login_at, totp_secret, totp_last_step, last_login_at`

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var created, expires, next, last int64
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &created, &u.SetupHash, &expires, &u.FailedLogins, &next, &u.TOTPSecret, &u.TOTPLastStep, &last); err != nil {
		return store.User{}, err
	}
	u.CreatedAt, u.SetupExpires, u.NextLoginAt, u.LastLoginAt = fromMicros(created), fromOptMicros(expires), fromOptMicros(next), fromOptMicros(last)
	return u, nil
}

// fromOptMicros maps the schema's 0 ("none") to the zero time.
func fromOptMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMicros(v)
}

// optMicros maps the zero time to the schema's 0.
func optMicros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}

func nullHash(h string) any {
	if h == "" {
		return nil
	}
	return h
}

func userErr(op string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, store.ErrNotFound)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// CreateUser adds u and returns its id; an email already taken (in any
// case) is store.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u store.User) (int64, error) {
	var id int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO users (email, name, role, password_hash, created_at, setup_hash, setup_expires)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		u.Email, u.Name, u.Role, u.PasswordHash, micros(u.CreatedAt), nullHash(u.SetupHash), optMicros(u.SetupExpires)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("sqlite: create user %s: %w", u.Email, store.ErrConflict)
	}
	if err != nil {
		return 0, fmt.Errorf("sqlite: create user: %w", err)
	}
	return id, nil
}

// UserByEmail finds a user by address, ignoring case.
func (s *Store) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE lower(email) = lower(?)`, email))
	if err != nil {
		return store.User{}, userErr("user by email", err)
	}
	return u, nil
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if err != nil {
		return store.User{}, userErr("user by id", err)
	}
	return u, nil
}

// UserBySetupHash finds the user whose setup token hashes to hash and is
// still valid at now.
func (s *Store) UserBySetupHash(ctx context.Context, hash string, now time.Time) (store.User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE setup_hash = ? AND setup_expires > ?`, hash, micros(now)))
	if err != nil {
		return store.User{}, userErr("user by setup token", err)
	}
	return u, nil
}

// Users lists every user by email.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY lower(email), id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: users: %w", err)
	}
	return out, nil
}

// DeleteUser removes the user and its sessions; the audit log keeps its
// entries.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: delete user %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// SetSetupToken gives the user a new setup token (hash) valid until
// expires, replacing any earlier one.
func (s *Store) SetSetupToken(ctx context.Context, id int64, hash string, expires time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE users SET setup_hash = ?, setup_expires = ? WHERE id = ?`, nullHash(hash), optMicros(expires), id)
	if err != nil {
		return fmt.Errorf("sqlite: set setup token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: set setup token %d: %w", id, store.ErrNotFound)
	}
	return nil
}

// UseSetupToken sets the password of the user whose setup token hashes to
// hash, if it is valid at now, and spends the token in the same statement:
// of two concurrent uses exactly one succeeds; the other (and any later
// one) is store.ErrNotFound. Failed logins are cleared.
func (s *Store) UseSetupToken(ctx context.Context, hash, passwordHash string, now time.Time) (store.User, error) {
	u, err := scanUser(s.w.QueryRowContext(ctx, `UPDATE users SET password_hash = ?, setup_hash = NULL, setup_expires = 0,
		failed_logins = 0, next_login_at = 0
		WHERE setup_hash = ? AND setup_expires > ? RETURNING `+userCols, passwordHash, hash, micros(now)))
	if err != nil {
		return store.User{}, userErr("use setup token", err)
	}
	return u, nil
}

// AddLoginFailure counts one more wrong password for the user and returns
// the new count.
func (s *Store) AddLoginFailure(ctx context.Context, id int64) (int, error) {
	var n int
	err := s.w.QueryRowContext(ctx, `UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins`, id).Scan(&n)
	if err != nil {
		return 0, userErr("add login failure", err)
	}
	return n, nil
}

// SetNextLogin sets when the user may next try a password.
func (s *Store) SetNextLogin(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE users SET next_login_at = ? WHERE id = ?`, optMicros(at), id); err != nil {
		return fmt.Errorf("sqlite: set next login: %w", err)
	}
	return nil
}

// ClearLoginFailures resets the count and the wait after a good password.
func (s *Store) ClearLoginFailures(ctx context.Context, id int64) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE users SET failed_logins = 0, next_login_at = 0 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("sqlite: clear login failures: %w", err)
	}
	return nil
}

const sessionCols = `id_hash, user_id, created_at, last_seen, user_agent, ip, pending`

func scanSession(row interface{ Scan(...any) error }) (store.Session, error) {
	var se store.Session
	var created, seen int64
	if err := row.Scan(&se.IDHash, &se.UserID, &created, &seen, &se.UserAgent, &se.IP, &se.Pending); err != nil {
		return store.Session{}, err
	}
	se.CreatedAt, se.LastSeen = fromMicros(created), fromMicros(seen)
	return se, nil
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		se.IDHash, se.UserID, micros(se.CreatedAt), micros(se.LastSeen), se.UserAgent, se.IP, se.Pending)
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	return nil
}

// Session finds a session by the hash of its id.
func (s *Store) Session(ctx context.Context, idHash string) (store.Session, error) {
	se, err := scanSession(s.r.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id_hash = ?`, idHash))
	if err != nil {
		return store.Session{}, userErr("session", err)
	}
	return se, nil
}

// Sessions lists every session, most recently seen first.
func (s *Store) Sessions(ctx context.Context) ([]store.Session, error) {
	return s.querySessions(ctx, `SELECT `+sessionCols+` FROM sessions ORDER BY last_seen DESC, id_hash`)
}

// querySessions runs a query of sessions.
func (s *Store) querySessions(ctx context.Context, query string, args ...any) ([]store.Session, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sessions: %w", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		se, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: sessions: %w", err)
		}
		out = append(out, se)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: sessions: %w", err)
	}
	return out, nil
}

// TouchSession records that the session was used at now.
func (s *Store) TouchSession(ctx context.Context, idHash string, now time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE sessions SET last_seen = ? WHERE id_hash = ? AND last_seen < ?`, micros(now), idHash, micros(now)); err != nil {
		return fmt.Errorf("sqlite: touch session: %w", err)
	}
	return nil
}

// DeleteSession ends one session; an unknown one is no error.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("sqlite: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of the user and returns how many.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete user sessions: %w", err)
	}
	return res.RowsAffected()
}

// PruneSessions deletes sessions last seen before idleBefore or created
// before createdBefore (both expired) and returns how many.
func (s *Store) PruneSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen < ? OR created_at < ?`, micros(idleBefore), micros(createdBefore))
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune sessions: %w", err)
	}
	return res.RowsAffected()
}

// AddAudit appends e to the audit log and returns its id.
func (s *Store) AddAudit(ctx context.Context, e store.AuditEntry) (int64, error) {
	var id int64
	err := s.w.QueryRowContext(ctx, `INSERT INTO audit_log (at, user_id, email, action, detail, ip) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		micros(e.At), e.UserID, e.Email, e.Action, e.Detail, e.IP).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: add audit: %w", err)
	}
	return id, nil
}

// Audit returns up to limit entries, newest first.
func (s *Store) Audit(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	return s.AuditBefore(ctx, time.Time{}, 0, limit)
}

// SetLastLogin records when the user last signed in.
func (s *Store) SetLastLogin(ctx context.Context, id int64, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE users SET last_login_at = ? WHERE id = ?`, micros(at), id); err != nil {
		return fmt.Errorf("sqlite: set last login: %w", err)
	}
	return nil
}
