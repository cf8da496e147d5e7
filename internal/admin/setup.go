package admin

import (
	"context"
	"errors"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// SetupStore is what using a setup link needs of the store.
type SetupStore interface {
	UserBySetupHash(ctx context.Context, hash string, now time.Time) (store.User, error)
	UseSetupToken(ctx context.Context, hash, passwordHash string, now time.Time) (store.User, error)
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

// ErrSetupLink: the setup token is unknown, used or expired. One answer
// for all three: the page cannot tell an owner's typo from a used link.
var ErrSetupLink = errors.New("this setup link does not work: it was used already, has expired or is incomplete; ask an owner for a new one (herald users reset EMAIL)")

// SetupUser is the account a setup token opens, if it is still valid at
// now; else ErrSetupLink.
func SetupUser(ctx context.Context, st SetupStore, token string, now time.Time) (store.User, error) {
	if token == "" {
		return store.User{}, ErrSetupLink
	}
	u, err := st.UserBySetupHash(ctx, HashToken(token), now)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrSetupLink
	}
	return u, err
}

// CompleteSetup sets the password of the account the setup token opens
// and spends the token: of two uses at once exactly one succeeds. The
// password must pass CheckPassword.
func CompleteSetup(ctx context.Context, st SetupStore, token, password, ip string, now time.Time) (store.User, error) {
	u, err := SetupUser(ctx, st, token, now)
	if err != nil {
		return store.User{}, err
	}
	if err := CheckPassword(password, u.Email); err != nil {
		return store.User{}, err
	}
	hash, err := HashPassword(password)
	if err != nil {
		return store.User{}, err
	}
	u, err = st.UseSetupToken(ctx, HashToken(token), hash, now)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrSetupLink
	}
	if err != nil {
		return store.User{}, err
	}
	if _, err := st.AddAudit(ctx, store.AuditEntry{At: now, UserID: u.ID, Email: u.Email, Action: "users.setup", IP: ip}); err != nil {
		return store.User{}, err
	}
	return u, nil
}
