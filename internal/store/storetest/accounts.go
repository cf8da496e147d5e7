package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// AccountStore is the admin web UI's account changes, two-factor state,
// settings and audit pages (docs/ARCHITECTURE.md, "Admin UI").
type AccountStore interface {
	UserStore
	SetPassword(ctx context.Context, id int64, hash string) error
	SetUserRole(ctx context.Context, id int64, role string) error
	SetTOTP(ctx context.Context, id int64, secret string) error
	UseTOTPStep(ctx context.Context, id, step int64) (bool, error)
	SetRecoveryCodes(ctx context.Context, userID int64, hashes []string) error
	UseRecoveryCode(ctx context.Context, userID int64, hash string) (bool, error)
	RecoveryCodesLeft(ctx context.Context, userID int64) (int, error)
	UserSessions(ctx context.Context, userID int64) ([]store.Session, error)
	Setting(ctx context.Context, key string) (string, error)
	SetSetting(ctx context.Context, key, value string) error
	AuditBefore(ctx context.Context, at time.Time, id int64, limit int) ([]store.AuditEntry, error)
}

// RunAccounts runs the suite; open returns an empty store.
func RunAccounts(t *testing.T, open func(t *testing.T) AccountStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	add := func(t *testing.T, st AccountStore, email, role string) store.User {
		t.Helper()
		u := store.User{Email: email, Role: role, CreatedAt: t0}
		id, err := st.CreateUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		u.ID = id
		return u
	}

	t.Run("PasswordAndRole", func(t *testing.T) {
		st := open(t)
		u := add(t, st, "ann@example.org", store.RoleEditor)
		if err := st.SetPassword(ctx, u.ID, "hash-2"); err != nil {
			t.Fatal(err)
		}
		if err := st.SetUserRole(ctx, u.ID, store.RoleManager); err != nil {
			t.Fatal(err)
		}
		if got, err := st.UserByID(ctx, u.ID); err != nil || got.PasswordHash != "hash-2" || got.Role != store.RoleManager {
			t.Fatalf("after changes: %+v, %v", got, err)
		}
		if err := st.SetUserRole(ctx, u.ID, "admin"); err == nil {
			t.Error("role admin accepted")
		}
		for name, err := range map[string]error{
			"SetPassword": st.SetPassword(ctx, 42, "h"), "SetUserRole": st.SetUserRole(ctx, 42, store.RoleEditor), "SetTOTP": st.SetTOTP(ctx, 42, "S"),
		} {
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s of no user: %v", name, err)
			}
		}
	})

	t.Run("TOTP", func(t *testing.T) {
		st := open(t)
		u := add(t, st, "ann@example.org", store.RoleOwner)
		if err := st.SetTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			step int64
			want bool
		}{{100, true}, {100, false}, {99, false}, {101, true}} {
			if ok, err := st.UseTOTPStep(ctx, u.ID, tc.step); err != nil || ok != tc.want {
				t.Fatalf("UseTOTPStep(%d) = %v, %v; want %v", tc.step, ok, err, tc.want)
			}
		}
		if got, _ := st.UserByID(ctx, u.ID); got.TOTPSecret != "JBSWY3DPEHPK3PXP" || got.TOTPLastStep != 101 {
			t.Fatalf("user %+v", got)
		}
		if err := st.SetTOTP(ctx, u.ID, ""); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.UserByID(ctx, u.ID); got.TOTPSecret != "" {
			t.Fatalf("secret kept: %+v", got)
		}
	})

	t.Run("RecoveryCodes", func(t *testing.T) {
		st := open(t)
		ann := add(t, st, "ann@example.org", store.RoleOwner)
		bob := add(t, st, "bob@example.org", store.RoleOwner)
		if err := st.SetRecoveryCodes(ctx, ann.ID, []string{"h1", "h2", "h3"}); err != nil {
			t.Fatal(err)
		}
		if err := st.SetRecoveryCodes(ctx, bob.ID, []string{"h1"}); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.UseRecoveryCode(ctx, ann.ID, "h2"); err != nil || !ok {
			t.Fatalf("use h2: %v, %v", ok, err)
		}
		if ok, err := st.UseRecoveryCode(ctx, ann.ID, "h2"); err != nil || ok {
			t.Fatalf("h2 twice: %v, %v", ok, err)
		}
		if n, err := st.RecoveryCodesLeft(ctx, ann.ID); err != nil || n != 2 {
			t.Fatalf("left %d, %v", n, err)
		}
		// New codes replace the old.
		if err := st.SetRecoveryCodes(ctx, ann.ID, []string{"h9"}); err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.UseRecoveryCode(ctx, ann.ID, "h1"); ok {
			t.Fatal("old code still works")
		}
		if n, _ := st.RecoveryCodesLeft(ctx, bob.ID); n != 1 {
			t.Fatalf("bob's codes: %d", n)
		}
		if err := st.DeleteUser(ctx, bob.ID); err != nil {
			t.Fatal(err)
		}
		if n, _ := st.RecoveryCodesLeft(ctx, bob.ID); n != 0 {
			t.Fatalf("removed user's codes: %d", n)
		}
	})

	t.Run("UserSessions", func(t *testing.T) {
		st := open(t)
		ann := add(t, st, "ann@example.org", store.RoleOwner)
		bob := add(t, st, "bob@example.org", store.RoleEditor)
		for i, se := range []store.Session{
			{IDHash: "a1", UserID: ann.ID, CreatedAt: t0, LastSeen: t0},
			{IDHash: "a2", UserID: ann.ID, CreatedAt: t0, LastSeen: t0.Add(time.Hour), Pending: true},
			{IDHash: "b1", UserID: bob.ID, CreatedAt: t0, LastSeen: t0},
		} {
			if err := st.CreateSession(ctx, se); err != nil {
				t.Fatal(i, err)
			}
		}
		got, err := st.UserSessions(ctx, ann.ID)
		if err != nil || len(got) != 2 || got[0].IDHash != "a2" || !got[0].Pending || got[1].Pending {
			t.Fatalf("UserSessions = %+v, %v", got, err)
		}
	})

	t.Run("Settings", func(t *testing.T) {
		st := open(t)
		if _, err := st.Setting(ctx, "require_2fa"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unset setting: %v", err)
		}
		for _, v := range []string{"true", "false"} {
			if err := st.SetSetting(ctx, "require_2fa", v); err != nil {
				t.Fatal(err)
			}
			if got, err := st.Setting(ctx, "require_2fa"); err != nil || got != v {
				t.Fatalf("Setting = %q, %v; want %q", got, err, v)
			}
		}
	})

	t.Run("AuditPages", func(t *testing.T) {
		st := open(t)
		// Two entries share a time: the id orders them.
		for i, at := range []time.Time{t0, t0.Add(time.Second), t0.Add(time.Second), t0.Add(2 * time.Second), t0.Add(3 * time.Second)} {
			if _, err := st.AddAudit(ctx, store.AuditEntry{At: at, Email: "cli", Action: string(rune('a' + i))}); err != nil {
				t.Fatal(err)
			}
		}
		var seen []string
		at, id := time.Time{}, int64(0)
		for page := 0; page < 4; page++ {
			es, err := st.AuditBefore(ctx, at, id, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				seen = append(seen, e.Action)
			}
			if len(es) < 2 {
				break
			}
			at, id = es[len(es)-1].At, es[len(es)-1].ID
		}
		if len(seen) != 5 || seen[0] != "e" || seen[1] != "d" || seen[2] != "c" || seen[3] != "b" || seen[4] != "a" {
			t.Fatalf("pages give %v, want e d c b a", seen)
		}
	})
}
