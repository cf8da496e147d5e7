package admin

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// SetupValidity is how long a setup link works.
const SetupValidity = 24 * time.Hour

// SetupPath is the admin page a setup link opens.
const SetupPath = "/admin/setup"

// UserStore is what account management needs of the store.
type UserStore interface {
	CreateUser(ctx context.Context, u store.User) (int64, error)
	UserByEmail(ctx context.Context, email string) (store.User, error)
	Users(ctx context.Context) ([]store.User, error)
	DeleteUser(ctx context.Context, id int64) error
	SetSetupToken(ctx context.Context, id int64, hash string, expires time.Time) error
	DeleteUserSessions(ctx context.Context, userID int64) (int64, error)
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

// Actor is who makes an admin write, for the audit log: a signed-in user,
// or the command line (UserID 0, Email "cli").
type Actor struct {
	UserID int64
	Email  string
	IP     string
}

// CLI is the actor of herald users commands.
var CLI = Actor{Email: "cli"}

// ErrBadRole: not owner, manager or editor.
var ErrBadRole = errors.New("role must be owner, manager or editor")

// ValidRole reports whether role is one of the three.
func ValidRole(role string) bool {
	switch role {
	case store.RoleOwner, store.RoleManager, store.RoleEditor:
		return true
	}
	return false
}

// SetupURL is the one-time link for token on the site at baseURL.
func SetupURL(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + SetupPath + "?token=" + token
}

// AddUser creates the account and returns its one-time setup token
// (valid SetupValidity). An address already used is store.ErrConflict.
func AddUser(ctx context.Context, st UserStore, by Actor, email, name, role string, now time.Time) (string, error) {
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != strings.TrimSpace(email) {
		return "", fmt.Errorf("%q is not an email address", email)
	}
	if !ValidRole(role) {
		return "", ErrBadRole
	}
	token, hash, err := NewToken()
	if err != nil {
		return "", err
	}
	if _, err := st.CreateUser(ctx, store.User{Email: addr.Address, Name: name, Role: role, CreatedAt: now,
		SetupHash: hash, SetupExpires: now.Add(SetupValidity)}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return "", fmt.Errorf("user %s exists already: %w", addr.Address, err)
		}
		return "", err
	}
	if err := audit(ctx, st, by, now, "users.add", addr.Address+" as "+role); err != nil {
		return "", err
	}
	return token, nil
}

// ResetUser gives the account a new setup token and ends all its sessions;
// the old password keeps working until the link is used.
func ResetUser(ctx context.Context, st UserStore, by Actor, email string, now time.Time) (string, error) {
	u, err := st.UserByEmail(ctx, email)
	if err != nil {
		return "", notFound(email, err)
	}
	token, hash, err := NewToken()
	if err != nil {
		return "", err
	}
	if err := st.SetSetupToken(ctx, u.ID, hash, now.Add(SetupValidity)); err != nil {
		return "", err
	}
	if _, err := st.DeleteUserSessions(ctx, u.ID); err != nil {
		return "", err
	}
	if err := audit(ctx, st, by, now, "users.reset", u.Email); err != nil {
		return "", err
	}
	return token, nil
}

// RemoveUser deletes the account and its sessions.
func RemoveUser(ctx context.Context, st UserStore, by Actor, email string, now time.Time) error {
	u, err := st.UserByEmail(ctx, email)
	if err != nil {
		return notFound(email, err)
	}
	if err := st.DeleteUser(ctx, u.ID); err != nil {
		return err
	}
	return audit(ctx, st, by, now, "users.remove", u.Email)
}

func notFound(email string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user %s: %w", email, err)
	}
	return err
}

// auditor is the store's audit log.
type auditor interface {
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

func audit(ctx context.Context, st auditor, by Actor, now time.Time, action, detail string) error {
	_, err := st.AddAudit(ctx, store.AuditEntry{At: now, UserID: by.UserID, Email: by.Email, Action: action, Detail: detail, IP: by.IP})
	return err
}
