package admin_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/admin"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/sqlite"
)

func TestPassword(t *testing.T) {
	h, err := admin.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := admin.HashPassword("correct horse battery")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		name, hash, pw string
		want           bool
	}{
		{"OK", h, "correct horse battery", true},
		{"ErrWrong", h, "correct horse batterz", false},
		{"ErrNoHash", "", "", false},
		{"ErrMalformed", "$argon2id$v=19$m=1,t=1,p=1$!!$!!", "x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := admin.VerifyPassword(tc.hash, tc.pw); got != tc.want {
				t.Fatalf("VerifyPassword = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		name, pw string
		want     error
	}{
		{"OK", "twelve chars", nil},
		{"OKUnicode", "ééééééééééé1", nil},
		{"ErrShort", "eleven char", admin.ErrPasswordShort},
		{"ErrIsEmail", "Ann.Longname@example.org", admin.ErrPasswordIsEmail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := admin.CheckPassword(tc.pw, "ann.longname@example.org"); !errors.Is(err, tc.want) {
				t.Fatalf("CheckPassword = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{{0, 0}, {4, 0}, {5, time.Second}, {6, 2 * time.Second}, {7, 4 * time.Second}, {14, 512 * time.Second}, {15, admin.MaxBackoff}, {1000, admin.MaxBackoff}} {
		if got := admin.Backoff(tc.failures); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
}

func TestUsers(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	open := func(t *testing.T) *sqlite.Store {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}

	t.Run("OK", func(t *testing.T) {
		st := open(t)
		tok, err := admin.AddUser(ctx, st, admin.CLI, "ann@example.org", "Ann", store.RoleOwner, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UseSetupToken(ctx, admin.HashToken(tok), "h", now.Add(admin.SetupValidity-time.Second)); err != nil {
			t.Fatalf("setup link within 24 h: %v", err)
		}
		if _, err := st.UseSetupToken(ctx, admin.HashToken(tok), "h", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("setup link used twice: %v", err)
		}
		got, _ := st.Audit(ctx, 10)
		if len(got) != 1 || got[0].Action != "users.add" || got[0].Email != "cli" {
			t.Fatalf("audit = %+v", got)
		}
	})

	t.Run("ErrExpired", func(t *testing.T) {
		st := open(t)
		tok, err := admin.AddUser(ctx, st, admin.CLI, "ann@example.org", "", store.RoleEditor, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UseSetupToken(ctx, admin.HashToken(tok), "h", now.Add(admin.SetupValidity)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("setup link after 24 h: %v", err)
		}
	})

	t.Run("ErrInput", func(t *testing.T) {
		st := open(t)
		if _, err := admin.AddUser(ctx, st, admin.CLI, "ann@example.org", "", "admin", now); !errors.Is(err, admin.ErrBadRole) {
			t.Errorf("bad role: %v", err)
		}
		if _, err := admin.AddUser(ctx, st, admin.CLI, "Ann <ann@example.org>", "", store.RoleOwner, now); err == nil {
			t.Error("address with a display name accepted")
		}
		if _, err := admin.AddUser(ctx, st, admin.CLI, "ann@example.org", "", store.RoleOwner, now); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.AddUser(ctx, st, admin.CLI, "ANN@example.org", "", store.RoleOwner, now); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second add: %v", err)
		}
		if err := admin.RemoveUser(ctx, st, admin.CLI, "bob@example.org", now); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("remove unknown: %v", err)
		}
	})

	t.Run("ResetRevokesSessions", func(t *testing.T) {
		st := open(t)
		tok, err := admin.AddUser(ctx, st, admin.CLI, "ann@example.org", "", store.RoleManager, now)
		if err != nil {
			t.Fatal(err)
		}
		u, err := st.UseSetupToken(ctx, admin.HashToken(tok), "old", now)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateSession(ctx, store.Session{IDHash: "s", UserID: u.ID, CreatedAt: now, LastSeen: now}); err != nil {
			t.Fatal(err)
		}
		tok2, err := admin.ResetUser(ctx, st, admin.CLI, "ann@example.org", now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Session(ctx, "s"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session after reset: %v", err)
		}
		if _, err := st.UseSetupToken(ctx, admin.HashToken(tok), "x", now); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("first link after reset: %v", err)
		}
		if _, err := st.UseSetupToken(ctx, admin.HashToken(tok2), "new", now); err != nil {
			t.Fatalf("reset link: %v", err)
		}
		if err := admin.RemoveUser(ctx, st, admin.CLI, "ann@example.org", now); err != nil {
			t.Fatal(err)
		}
		if us, _ := st.Users(ctx); len(us) != 0 {
			t.Fatalf("users after remove: %+v", us)
		}
		got, _ := st.Audit(ctx, 10)
		if len(got) != 3 || got[0].Action != "users.remove" || got[1].Action != "users.reset" {
			t.Fatalf("audit = %+v", got)
		}
	})
}
