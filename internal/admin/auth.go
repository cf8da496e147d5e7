package admin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// AuthStore is what signing in and sessions need of the store.
type AuthStore interface {
	UserByEmail(ctx context.Context, email string) (store.User, error)
	UserByID(ctx context.Context, id int64) (store.User, error)
	AddLoginFailure(ctx context.Context, id int64) (int, error)
	SetNextLogin(ctx context.Context, id int64, at time.Time) error
	ClearLoginFailures(ctx context.Context, id int64) error
	SetLastLogin(ctx context.Context, id int64, at time.Time) error
	CreateSession(ctx context.Context, se store.Session) error
	Session(ctx context.Context, idHash string) (store.Session, error)
	TouchSession(ctx context.Context, idHash string, now time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
	codeStore
}

// PendingValidity is how long the second sign-in step (the code) may take.
const PendingValidity = 5 * time.Minute

var (
	// ErrLogin is the one answer to every refused login: unknown address,
	// no password set yet, wrong password, or an account still waiting
	// after failures. Telling them apart would reveal who has an account.
	ErrLogin = errors.New("wrong email address or password, or too many attempts: wait a moment and try again")
	// ErrNoSession: no such session, or it expired.
	ErrNoSession = errors.New("not signed in")
)

// Auth signs users in and checks their sessions. Now is the clock (tests
// inject one); Idle and Max are admin.session_idle and admin.session_max.
type Auth struct {
	Store AuthStore
	Now   func() time.Time
	Idle  time.Duration
	Max   time.Duration
}

// Login checks email and password and, when they match, starts a session
// and returns its cookie token. Every refusal is ErrLogin, after the same
// argon2id work whether or not the address exists.
func (a *Auth) Login(ctx context.Context, email, password, userAgent, ip string) (string, store.User, error) {
	now := a.Now()
	u, err := a.Store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		VerifyPassword("", password) // the dummy hash: same work
		return "", store.User{}, ErrLogin
	}
	if err != nil {
		return "", store.User{}, err
	}
	ok := VerifyPassword(u.PasswordHash, password)
	if now.Before(u.NextLoginAt) {
		// Still waiting: refused without counting, so retrying early
		// does not lengthen the wait.
		return "", store.User{}, ErrLogin
	}
	if !ok {
		if err := a.failed(ctx, u, now); err != nil {
			return "", store.User{}, err
		}
		return "", store.User{}, ErrLogin
	}
	if u.TOTPSecret != "" {
		// The password is right; the session opens nothing until the code
		// is (Confirm). Failures stay counted until then.
		token, err := a.start(ctx, u, userAgent, ip, true)
		return token, u, err
	}
	return a.signedIn(ctx, u, userAgent, ip, "")
}

// failed counts a wrong password or code and sets the account's wait.
func (a *Auth) failed(ctx context.Context, u store.User, now time.Time) error {
	n, err := a.Store.AddLoginFailure(ctx, u.ID)
	if err != nil {
		return err
	}
	if d := Backoff(n); d > 0 {
		return a.Store.SetNextLogin(ctx, u.ID, now.Add(d))
	}
	return nil
}

// signedIn clears the failures, starts a full session and logs it.
func (a *Auth) signedIn(ctx context.Context, u store.User, userAgent, ip, detail string) (string, store.User, error) {
	if u.FailedLogins > 0 {
		if err := a.Store.ClearLoginFailures(ctx, u.ID); err != nil {
			return "", store.User{}, err
		}
	}
	token, err := a.Start(ctx, u, userAgent, ip)
	if err != nil {
		return "", store.User{}, err
	}
	if err := a.Store.SetLastLogin(ctx, u.ID, a.Now()); err != nil {
		return "", store.User{}, err
	}
	if _, err := a.Store.AddAudit(ctx, store.AuditEntry{At: a.Now(), UserID: u.ID, Email: u.Email, Action: "login", Detail: detail, IP: ip}); err != nil {
		return "", store.User{}, err
	}
	return token, u, nil
}

// Pending returns the session of token that waits for its code, and its
// user; ErrNoSession when there is none or it is older than
// PendingValidity.
func (a *Auth) Pending(ctx context.Context, token string) (store.Session, store.User, error) {
	se, err := a.Store.Session(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) || (err == nil && (!se.Pending || a.Now().Sub(se.CreatedAt) >= PendingValidity)) {
		return store.Session{}, store.User{}, ErrNoSession
	}
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	u, err := a.Store.UserByID(ctx, se.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, ErrNoSession
	}
	return se, u, err
}

// Confirm completes a sign-in that waits for its code: a TOTP code not
// used before or a recovery code (CheckSecondFactor). It replaces the
// pending session with a full one and returns its token. A wrong code is
// ErrCode and counts as a failed login (the same back-off as passwords).
func (a *Auth) Confirm(ctx context.Context, token, code, userAgent, ip string) (string, store.User, error) {
	se, u, err := a.Pending(ctx, token)
	if err != nil {
		return "", store.User{}, err
	}
	now := a.Now()
	if now.Before(u.NextLoginAt) {
		return "", store.User{}, ErrCode
	}
	how, err := CheckSecondFactor(ctx, a.Store, u, code, now)
	if errors.Is(err, ErrCode) {
		if err := a.failed(ctx, u, now); err != nil {
			return "", store.User{}, err
		}
		return "", store.User{}, ErrCode
	}
	if err != nil {
		return "", store.User{}, err
	}
	if err := a.Store.DeleteSession(ctx, se.IDHash); err != nil {
		return "", store.User{}, err
	}
	return a.signedIn(ctx, u, userAgent, ip, "with "+how)
}

// Start begins a session for u, already authenticated (a good password,
// a used setup link), and returns its cookie token.
func (a *Auth) Start(ctx context.Context, u store.User, userAgent, ip string) (string, error) {
	return a.start(ctx, u, userAgent, ip, false)
}

func (a *Auth) start(ctx context.Context, u store.User, userAgent, ip string, pending bool) (string, error) {
	token, hash, err := NewToken()
	if err != nil {
		return "", err
	}
	now := a.Now()
	if err := a.Store.CreateSession(ctx, store.Session{IDHash: hash, UserID: u.ID, CreatedAt: now, LastSeen: now,
		UserAgent: userAgent, IP: ip, Pending: pending}); err != nil {
		return "", fmt.Errorf("admin: start session: %w", err)
	}
	return token, nil
}

// Check returns the session of the cookie token and its user, and records
// the use. A session idle for Idle or older than Max is deleted and
// ErrNoSession, as is an unknown token.
func (a *Auth) Check(ctx context.Context, token string) (store.Session, store.User, error) {
	if token == "" {
		return store.Session{}, store.User{}, ErrNoSession
	}
	now := a.Now()
	hash := HashToken(token)
	se, err := a.Store.Session(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, ErrNoSession
	}
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	if se.Pending {
		return store.Session{}, store.User{}, ErrNoSession // waits for its code
	}
	if now.Sub(se.LastSeen) >= a.Idle || now.Sub(se.CreatedAt) >= a.Max {
		if err := a.Store.DeleteSession(ctx, hash); err != nil {
			return store.Session{}, store.User{}, err
		}
		return store.Session{}, store.User{}, ErrNoSession
	}
	u, err := a.Store.UserByID(ctx, se.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, ErrNoSession
	}
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	if err := a.Store.TouchSession(ctx, hash, now); err != nil {
		return store.Session{}, store.User{}, err
	}
	se.LastSeen = now
	return se, u, nil
}

// Logout ends the session of token.
func (a *Auth) Logout(ctx context.Context, token, ip string) error {
	se, u, err := a.Check(ctx, token)
	if errors.Is(err, ErrNoSession) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := a.Store.DeleteSession(ctx, se.IDHash); err != nil {
		return fmt.Errorf("admin: logout: %w", err)
	}
	_, err = a.Store.AddAudit(ctx, store.AuditEntry{At: a.Now(), UserID: u.ID, Email: u.Email, Action: "logout", IP: ip})
	return err
}
