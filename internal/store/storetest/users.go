package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// UserStore keeps the admin web UI's users, sessions and audit log
// (docs/ARCHITECTURE.md, "HTTP surfaces").
type UserStore interface {
	CreateUser(ctx context.Context, u store.User) (int64, error)
	UserByEmail(ctx context.Context, email string) (store.User, error)
	UserByID(ctx context.Context, id int64) (store.User, error)
	UserBySetupHash(ctx context.Context, hash string, now time.Time) (store.User, error)
	Users(ctx context.Context) ([]store.User, error)
	DeleteUser(ctx context.Context, id int64) error
	SetSetupToken(ctx context.Context, id int64, hash string, expires time.Time) error
	UseSetupToken(ctx context.Context, hash, passwordHash string, now time.Time) (store.User, error)
	AddLoginFailure(ctx context.Context, id int64) (int, error)
	SetNextLogin(ctx context.Context, id int64, at time.Time) error
	ClearLoginFailures(ctx context.Context, id int64) error
	SetLastLogin(ctx context.Context, id int64, at time.Time) error
	CreateSession(ctx context.Context, se store.Session) error
	Session(ctx context.Context, idHash string) (store.Session, error)
	Sessions(ctx context.Context) ([]store.Session, error)
	TouchSession(ctx context.Context, idHash string, now time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
	DeleteUserSessions(ctx context.Context, userID int64) (int64, error)
	PruneSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error)
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
	Audit(ctx context.Context, limit int) ([]store.AuditEntry, error)
}

// RunUsers runs the suite; open returns an empty store.
func RunUsers(t *testing.T, open func(t *testing.T) UserStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	add := func(t *testing.T, st UserStore, email, role string) store.User {
		t.Helper()
		u := store.User{Email: email, Name: "N " + email, Role: role, CreatedAt: t0,
			SetupHash: "setup-" + email, SetupExpires: t0.Add(24 * time.Hour)}
		id, err := st.CreateUser(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		u.ID = id
		return u
	}

	t.Run("OK", func(t *testing.T) {
		st := open(t)
		want := add(t, st, "Ann@Example.org", store.RoleOwner)
		add(t, st, "bob@example.org", store.RoleEditor)
		got, err := st.UserByEmail(ctx, "ann@EXAMPLE.org")
		if err != nil || got != want {
			t.Fatalf("UserByEmail = %+v, %v; want %+v", got, err, want)
		}
		if got, err := st.UserByID(ctx, want.ID); err != nil || got != want {
			t.Fatalf("UserByID = %+v, %v", got, err)
		}
		us, err := st.Users(ctx)
		if err != nil || len(us) != 2 || us[0].Email != "Ann@Example.org" || us[1].Role != store.RoleEditor {
			t.Fatalf("Users = %+v, %v", us, err)
		}
	})

	t.Run("ErrConflict", func(t *testing.T) {
		st := open(t)
		add(t, st, "ann@example.org", store.RoleOwner)
		_, err := st.CreateUser(ctx, store.User{Email: "ANN@example.org", Role: store.RoleEditor, CreatedAt: t0})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate email: %v, want ErrConflict", err)
		}
	})

	t.Run("ErrBadRole", func(t *testing.T) {
		st := open(t)
		if _, err := st.CreateUser(ctx, store.User{Email: "x@example.org", Role: "admin", CreatedAt: t0}); err == nil {
			t.Fatal("role admin accepted")
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		st := open(t)
		if _, err := st.UserByEmail(ctx, "nobody@example.org"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByEmail: %v", err)
		}
		if _, err := st.UserByID(ctx, 42); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID: %v", err)
		}
		if err := st.DeleteUser(ctx, 42); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("DeleteUser: %v", err)
		}
		if err := st.SetSetupToken(ctx, 42, "h", t0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("SetSetupToken: %v", err)
		}
		if _, err := st.Session(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Session: %v", err)
		}
	})

	t.Run("SetupTokenOnce", func(t *testing.T) {
		st := open(t)
		u := add(t, st, "ann@example.org", store.RoleOwner)
		if _, err := st.UserBySetupHash(ctx, u.SetupHash, t0.Add(24*time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("expired token found: %v", err)
		}
		if got, err := st.UserBySetupHash(ctx, u.SetupHash, t0); err != nil || got.ID != u.ID {
			t.Fatalf("UserBySetupHash = %+v, %v", got, err)
		}
		if _, err := st.AddLoginFailure(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		// Two concurrent uses: exactly one wins.
		var wg sync.WaitGroup
		var mu sync.Mutex
		won := 0
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.UseSetupToken(ctx, u.SetupHash, "argon-hash", t0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
				case !errors.Is(err, store.ErrNotFound):
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if won != 1 {
			t.Fatalf("%d uses of one token succeeded, want 1", won)
		}
		got, err := st.UserByID(ctx, u.ID)
		if err != nil || got.PasswordHash != "argon-hash" || got.SetupHash != "" || !got.SetupExpires.IsZero() || got.FailedLogins != 0 {
			t.Fatalf("after setup: %+v, %v", got, err)
		}
		// A new token (users reset) works once more.
		if err := st.SetSetupToken(ctx, u.ID, "second", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UseSetupToken(ctx, "second", "h2", t0.Add(time.Hour)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("token used at its expiry: %v", err)
		}
		if got, err := st.UseSetupToken(ctx, "second", "h2", t0); err != nil || got.PasswordHash != "h2" {
			t.Fatalf("second token: %+v, %v", got, err)
		}
	})

	t.Run("LoginFailures", func(t *testing.T) {
		st := open(t)
		u := add(t, st, "ann@example.org", store.RoleOwner)
		for want := 1; want <= 3; want++ {
			if n, err := st.AddLoginFailure(ctx, u.ID); err != nil || n != want {
				t.Fatalf("AddLoginFailure = %d, %v; want %d", n, err, want)
			}
		}
		next := t0.Add(2 * time.Second)
		if err := st.SetNextLogin(ctx, u.ID, next); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.UserByID(ctx, u.ID); got.FailedLogins != 3 || !got.NextLoginAt.Equal(next) {
			t.Fatalf("after failures: %+v", got)
		}
		if err := st.ClearLoginFailures(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.UserByID(ctx, u.ID); got.FailedLogins != 0 || !got.NextLoginAt.IsZero() {
			t.Fatalf("after clear: %+v", got)
		}
		if !u.LastLoginAt.IsZero() {
			t.Fatalf("a new user has a last login: %v", u.LastLoginAt)
		}
		at := next.Add(time.Minute).Round(time.Microsecond)
		if err := st.SetLastLogin(ctx, u.ID, at); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.UserByID(ctx, u.ID); !got.LastLoginAt.Equal(at) {
			t.Fatalf("last login %v, want %v", got.LastLoginAt, at)
		}
	})

	t.Run("Sessions", func(t *testing.T) {
		st := open(t)
		ann := add(t, st, "ann@example.org", store.RoleOwner)
		bob := add(t, st, "bob@example.org", store.RoleEditor)
		mk := func(h string, uid int64, created time.Time) store.Session {
			se := store.Session{IDHash: h, UserID: uid, CreatedAt: created, LastSeen: created, UserAgent: "UA", IP: "192.0.2.1"}
			if err := st.CreateSession(ctx, se); err != nil {
				t.Fatal(err)
			}
			return se
		}
		a1 := mk("a1", ann.ID, t0)
		mk("a2", ann.ID, t0.Add(time.Minute))
		b1 := mk("b1", bob.ID, t0.Add(2*time.Minute))
		if got, err := st.Session(ctx, "a1"); err != nil || got != a1 {
			t.Fatalf("Session = %+v, %v", got, err)
		}
		if err := st.TouchSession(ctx, "a1", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		all, err := st.Sessions(ctx)
		if err != nil || len(all) != 3 || all[0].IDHash != "a1" || !all[0].LastSeen.Equal(t0.Add(time.Hour)) {
			t.Fatalf("Sessions = %+v, %v", all, err)
		}
		if n, err := st.DeleteUserSessions(ctx, ann.ID); err != nil || n != 2 {
			t.Fatalf("DeleteUserSessions = %d, %v", n, err)
		}
		if _, err := st.Session(ctx, "a1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("revoked session found: %v", err)
		}
		if err := st.DeleteSession(ctx, b1.IDHash); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSession(ctx, b1.IDHash); err != nil {
			t.Fatalf("second delete: %v", err)
		}
		// Removing a user ends its sessions.
		mk("b2", bob.ID, t0)
		if err := st.DeleteUser(ctx, bob.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Session(ctx, "b2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session of removed user found: %v", err)
		}
	})

	t.Run("PruneSessions", func(t *testing.T) {
		st := open(t)
		ann := add(t, st, "ann@example.org", store.RoleOwner)
		for _, se := range []store.Session{
			{IDHash: "idle", UserID: ann.ID, CreatedAt: t0, LastSeen: t0},
			{IDHash: "old", UserID: ann.ID, CreatedAt: t0.Add(-8 * 24 * time.Hour), LastSeen: t0.Add(11 * time.Hour)},
			{IDHash: "live", UserID: ann.ID, CreatedAt: t0, LastSeen: t0.Add(11 * time.Hour)},
		} {
			if err := st.CreateSession(ctx, se); err != nil {
				t.Fatal(err)
			}
		}
		now := t0.Add(13 * time.Hour)
		n, err := st.PruneSessions(ctx, now.Add(-12*time.Hour), now.Add(-7*24*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("PruneSessions = %d, %v; want 2", n, err)
		}
		if _, err := st.Session(ctx, "live"); err != nil {
			t.Fatalf("live session pruned: %v", err)
		}
	})

	t.Run("Audit", func(t *testing.T) {
		st := open(t)
		ann := add(t, st, "ann@example.org", store.RoleOwner)
		for i, a := range []string{"login", "users.add", "logout"} {
			if _, err := st.AddAudit(ctx, store.AuditEntry{At: t0.Add(time.Duration(i) * time.Second), UserID: ann.ID,
				Email: ann.Email, Action: a, Detail: "d", IP: "192.0.2.1"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.DeleteUser(ctx, ann.ID); err != nil {
			t.Fatal(err)
		}
		got, err := st.Audit(ctx, 2)
		if err != nil || len(got) != 2 || got[0].Action != "logout" || got[1].Action != "users.add" ||
			got[0].Email != ann.Email || got[0].UserID != ann.ID || got[0].IP != "192.0.2.1" || !got[0].At.Equal(t0.Add(2*time.Second)) {
			t.Fatalf("Audit = %+v, %v", got, err)
		}
	})
}
