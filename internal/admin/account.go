package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// AccountStore is what changing one's own account needs of the store.
type AccountStore interface {
	SetPassword(ctx context.Context, id int64, hash string) error
	DeleteUserSessions(ctx context.Context, userID int64) (int64, error)
	DeleteSession(ctx context.Context, idHash string) error
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

// ErrWrongPassword: the current password given to change it is wrong.
var ErrWrongPassword = errors.New("your current password is not that")

// ChangePassword sets u's password to next after checking current, and
// ends every session of u (the caller starts a fresh one for the browser
// that asked).
func ChangePassword(ctx context.Context, st AccountStore, by Actor, u store.User, current, next string, now time.Time) error {
	if !VerifyPassword(u.PasswordHash, current) {
		return ErrWrongPassword
	}
	if err := CheckPassword(next, u.Email); err != nil {
		return err
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	if err := st.SetPassword(ctx, u.ID, hash); err != nil {
		return err
	}
	if _, err := st.DeleteUserSessions(ctx, u.ID); err != nil {
		return fmt.Errorf("admin: end sessions: %w", err)
	}
	return audit(ctx, st, by, now, "account.password", u.Email)
}

// RevokeSession ends the session se.
func RevokeSession(ctx context.Context, st AccountStore, by Actor, se store.Session, now time.Time) error {
	if err := st.DeleteSession(ctx, se.IDHash); err != nil {
		return err
	}
	return audit(ctx, st, by, now, "account.session_revoke", fmt.Sprintf("started %s from %s", se.CreatedAt.UTC().Format(time.RFC3339), se.IP))
}

// RoleStore is what changing a role needs of the store.
type RoleStore interface {
	UserByEmail(ctx context.Context, email string) (store.User, error)
	Users(ctx context.Context) ([]store.User, error)
	SetUserRole(ctx context.Context, id int64, role string) error
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

// ErrLastOwner: the change would leave no owner to manage users.
var ErrLastOwner = errors.New("that would leave no owner to manage users: make someone else owner first")

// SetRole gives the account email the role.
func SetRole(ctx context.Context, st RoleStore, by Actor, email, role string, now time.Time) error {
	if !ValidRole(role) {
		return ErrBadRole
	}
	u, err := st.UserByEmail(ctx, email)
	if err != nil {
		return notFound(email, err)
	}
	if u.Role == role {
		return nil
	}
	if u.Role == store.RoleOwner {
		if err := keepAnOwner(ctx, st, u.ID); err != nil {
			return err
		}
	}
	if err := st.SetUserRole(ctx, u.ID, role); err != nil {
		return err
	}
	return audit(ctx, st, by, now, "users.role", u.Email+" to "+role)
}

// keepAnOwner refuses a change that takes the owner id out of the owners
// when no other owner is left.
func keepAnOwner(ctx context.Context, st interface {
	Users(ctx context.Context) ([]store.User, error)
}, id int64) error {
	us, err := st.Users(ctx)
	if err != nil {
		return err
	}
	for _, o := range us {
		if o.Role == store.RoleOwner && o.ID != id {
			return nil
		}
	}
	return ErrLastOwner
}

// SettingRequire2FA is the owners' setting (in the store) that requires
// two-factor sign-in of everyone when admin.require_2fa is off.
const SettingRequire2FA = "require_2fa"

// SettingStore is what the owners' settings need of the store.
type SettingStore interface {
	SetSetting(ctx context.Context, key, value string) error
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

// SetRequire2FA records the owners' choice to require two-factor sign-in.
func SetRequire2FA(ctx context.Context, st SettingStore, by Actor, on bool, now time.Time) error {
	if err := st.SetSetting(ctx, SettingRequire2FA, strconv.FormatBool(on)); err != nil {
		return err
	}
	return audit(ctx, st, by, now, "settings.require_2fa", strconv.FormatBool(on))
}
