package main

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/admin"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/sqlite"
)

func TestUsersCLI(t *testing.T) {
	env, _ := testEnv(t)
	ctx := context.Background()
	setupToken := func(t *testing.T, out string) string {
		t.Helper()
		u, err := url.Parse(strings.TrimSpace(out))
		if err != nil || u.Path != "/admin/setup" || u.Query().Get("token") == "" {
			t.Fatalf("setup link %q (%v)", out, err)
		}
		return u.Query().Get("token")
	}
	t.Run("Usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"users"}, {"users", "frob"}, {"users", "add", "ann@example.org"}, {"users", "add", "ann@example.org", "--role", "admin"},
			{"users", "remove"}, {"users", "list", "x"},
		} {
			if code, _, stderr := runCLI(t, env, args...); code != 2 {
				t.Errorf("%q: exit %d (%s), want 2", args, code, stderr)
			}
		}
	})
	t.Run("ErrNoStore", func(t *testing.T) {
		if code, _, stderr := runCLI(t, env, "users", "list"); code == 0 || !strings.Contains(stderr, "no store") {
			t.Fatalf("list without a store: %d %q", code, stderr)
		}
	})
	t.Run("OK", func(t *testing.T) {
		code, out, stderr := runCLI(t, env, "users", "add", "ann@example.org", "--role", "owner", "--name", "Ann")
		if code != 0 {
			t.Fatalf("add: %d %q", code, stderr)
		}
		tok := setupToken(t, out)
		if code, _, stderr := runCLI(t, env, "users", "add", "ANN@example.org", "--role", "editor"); code == 0 || !strings.Contains(stderr, "exists already") {
			t.Fatalf("second add: %d %q", code, stderr)
		}
		if _, out, _ := runCLI(t, env, "users", "list"); out != "ann@example.org\towner\tAnn\tsetup pending\n" {
			t.Fatalf("list: %q", out)
		}

		st, err := sqlite.Open(ctx, env["HERALD_STORE_DSN"])
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		u, err := st.UseSetupToken(ctx, admin.HashToken(tok), "hash", time.Now())
		if err != nil {
			t.Fatalf("setup link: %v", err)
		}
		if _, out, _ := runCLI(t, env, "users", "list"); out != "ann@example.org\towner\tAnn\tactive\n" {
			t.Fatalf("list after setup: %q", out)
		}
		if err := st.CreateSession(ctx, store.Session{IDHash: "s1", UserID: u.ID, CreatedAt: time.Now(), LastSeen: time.Now()}); err != nil {
			t.Fatal(err)
		}

		code, out, stderr = runCLI(t, env, "users", "reset", "ann@example.org")
		if code != 0 {
			t.Fatalf("reset: %d %q", code, stderr)
		}
		if _, err := st.Session(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session after users reset: %v", err)
		}
		if _, err := st.UseSetupToken(ctx, admin.HashToken(setupToken(t, out)), "hash2", time.Now()); err != nil {
			t.Fatalf("reset link: %v", err)
		}

		if code, _, stderr := runCLI(t, env, "users", "remove", "ann@example.org"); code != 0 {
			t.Fatalf("remove: %d %q", code, stderr)
		}
		if code, _, stderr := runCLI(t, env, "users", "remove", "ann@example.org"); code == 0 || !strings.Contains(stderr, "no user") {
			t.Fatalf("remove again: %d %q", code, stderr)
		}
		if _, out, _ := runCLI(t, env, "users", "list"); out != "" {
			t.Fatalf("list after remove: %q", out)
		}
		log, err := st.Audit(ctx, 10)
		if err != nil || len(log) != 3 || log[0].Action != "users.remove" || log[2].Action != "users.add" || log[2].Email != "cli" {
			t.Fatalf("audit log: %+v %v", log, err)
		}
	})
}
