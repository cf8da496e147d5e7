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

// clock is the injectable time: tests move it, nothing sleeps.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time      { return c.t }
func (c *clock) Add(d time.Duration) { c.t = c.t.Add(d) }

func TestAuth(t *testing.T) {
	ctx := context.Background()
	const pw = "correct horse battery"
	setup := func(t *testing.T) (*admin.Auth, *clock, *sqlite.Store) {
		st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		c := &clock{time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
		tok, err := admin.AddUser(ctx, st, admin.CLI, "ann@example.org", "Ann", store.RoleOwner, c.Now())
		if err != nil {
			t.Fatal(err)
		}
		h, err := admin.HashPassword(pw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UseSetupToken(ctx, admin.HashToken(tok), h, c.Now()); err != nil {
			t.Fatal(err)
		}
		return &admin.Auth{Store: st, Now: c.Now, Idle: 12 * time.Hour, Max: 7 * 24 * time.Hour}, c, st
	}

	t.Run("OK", func(t *testing.T) {
		a, _, _ := setup(t)
		tok, u, err := a.Login(ctx, "ANN@example.org", pw, "UA", "192.0.2.1")
		if err != nil || u.Role != store.RoleOwner {
			t.Fatalf("Login = %+v, %v", u, err)
		}
		if _, u, err := a.Check(ctx, tok); err != nil || u.Email != "ann@example.org" {
			t.Fatalf("Check = %+v, %v", u, err)
		}
		if err := a.Logout(ctx, tok, "192.0.2.1"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Check(ctx, tok); !errors.Is(err, admin.ErrNoSession) {
			t.Fatalf("after logout: %v", err)
		}
	})

	t.Run("ErrSameAnswer", func(t *testing.T) {
		a, _, _ := setup(t)
		_, _, wrong := a.Login(ctx, "ann@example.org", "not the password", "", "")
		_, _, unknown := a.Login(ctx, "bob@example.org", pw, "", "")
		if wrong != admin.ErrLogin || unknown != admin.ErrLogin {
			t.Fatalf("wrong password: %v; unknown address: %v; want both ErrLogin", wrong, unknown)
		}
	})

	t.Run("LockoutDoubling", func(t *testing.T) {
		a, c, st := setup(t)
		for range admin.FreeFailures - 1 {
			if _, _, err := a.Login(ctx, "ann@example.org", "bad password!", "", ""); err != admin.ErrLogin {
				t.Fatal(err)
			}
		}
		// Four failures: no wait yet.
		if _, _, err := a.Login(ctx, "ann@example.org", pw, "", ""); err != nil {
			t.Fatalf("good password after 4 failures: %v", err)
		}
		for range admin.FreeFailures {
			a.Login(ctx, "ann@example.org", "bad password!", "", "")
		}
		for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			u, _ := st.UserByEmail(ctx, "ann@example.org")
			if got := u.NextLoginAt.Sub(c.Now()); got != wait {
				t.Fatalf("wait = %v, want %v", got, wait)
			}
			c.Add(wait - time.Millisecond)
			// Even the right password is refused during the wait, and
			// the early try does not count.
			if _, _, err := a.Login(ctx, "ann@example.org", pw, "", ""); err != admin.ErrLogin {
				t.Fatalf("good password during the wait: %v", err)
			}
			c.Add(time.Millisecond)
			a.Login(ctx, "ann@example.org", "bad password!", "", "")
		}
		c.Add(8 * time.Second)
		if _, _, err := a.Login(ctx, "ann@example.org", pw, "", ""); err != nil {
			t.Fatalf("after the wait: %v", err)
		}
		if u, _ := st.UserByEmail(ctx, "ann@example.org"); u.FailedLogins != 0 || !u.NextLoginAt.IsZero() {
			t.Fatalf("failures not cleared: %+v", u)
		}
	})

	t.Run("ErrIdle", func(t *testing.T) {
		a, c, _ := setup(t)
		tok, _, err := a.Login(ctx, "ann@example.org", pw, "", "")
		if err != nil {
			t.Fatal(err)
		}
		c.Add(12*time.Hour - time.Second)
		if _, _, err := a.Check(ctx, tok); err != nil {
			t.Fatalf("just before idle timeout: %v", err)
		}
		c.Add(12 * time.Hour)
		if _, _, err := a.Check(ctx, tok); !errors.Is(err, admin.ErrNoSession) {
			t.Fatalf("idle 12 h: %v", err)
		}
	})

	t.Run("ErrAbsolute", func(t *testing.T) {
		a, c, _ := setup(t)
		tok, _, err := a.Login(ctx, "ann@example.org", pw, "", "")
		if err != nil {
			t.Fatal(err)
		}
		end := c.Now().Add(7 * 24 * time.Hour)
		for c.Now().Add(11 * time.Hour).Before(end) {
			c.Add(11 * time.Hour)
			if _, _, err := a.Check(ctx, tok); err != nil {
				t.Fatalf("active session at %v: %v", c.Now(), err)
			}
		}
		c.Add(11 * time.Hour) // past 7 days since login
		if _, _, err := a.Check(ctx, tok); !errors.Is(err, admin.ErrNoSession) {
			t.Fatalf("after 7 days: %v", err)
		}
	})

	t.Run("ErrReset", func(t *testing.T) {
		a, c, st := setup(t)
		tok, _, err := a.Login(ctx, "ann@example.org", pw, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.ResetUser(ctx, st, admin.CLI, "ann@example.org", c.Now()); err != nil {
			t.Fatal(err)
		}
		if _, _, err := a.Check(ctx, tok); !errors.Is(err, admin.ErrNoSession) {
			t.Fatalf("after users reset: %v", err)
		}
	})
}
