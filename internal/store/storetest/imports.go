package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// ImportUploadStore keeps subscriber CSVs between an admin's dry run and
// the confirmation (docs/ARCHITECTURE.md, "Admin subscribers").
type ImportUploadStore interface {
	CreateUser(ctx context.Context, u store.User) (int64, error)
	DeleteUser(ctx context.Context, id int64) error
	PutImportUpload(ctx context.Context, u store.ImportUpload, now time.Time) error
	TakeImportUpload(ctx context.Context, id string, userID int64, now time.Time) (store.ImportUpload, error)
	PruneImportUploads(ctx context.Context, now time.Time) (int64, error)
}

// RunImportUploads runs the suite; open returns an empty store.
func RunImportUploads(t *testing.T, open func(t *testing.T) ImportUploadStore) {
	ctx := context.Background()
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	user := func(t *testing.T, st ImportUploadStore, email string) int64 {
		t.Helper()
		id, err := st.CreateUser(ctx, store.User{Email: email, Name: email, Role: store.RoleManager, CreatedAt: t0})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	put := func(t *testing.T, st ImportUploadStore, id string, uid int64, data string, at time.Time) store.ImportUpload {
		t.Helper()
		u := store.ImportUpload{ID: id, UserID: uid, Name: "Kunder å.csv", Confirmed: true, Data: []byte(data),
			Expires: at.Add(15 * time.Minute)}
		if err := st.PutImportUpload(ctx, u, at); err != nil {
			t.Fatal(err)
		}
		return u
	}
	notFound := func(t *testing.T, st ImportUploadStore, id string, uid int64, at time.Time) {
		t.Helper()
		if _, err := st.TakeImportUpload(ctx, id, uid, at); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("take %s by %d: %v, want ErrNotFound", id, uid, err)
		}
	}

	t.Run("TakeOnce", func(t *testing.T) {
		st := open(t)
		ann := user(t, st, "ann@example.org")
		data := "email,name\n\xc3\xa5sa@example.se,\xc3\x85sa\n" + string([]byte{0, 1, 2, 255})
		want := put(t, st, "one", ann, data, t0)
		want.SendOptin = false
		got, err := st.TakeImportUpload(ctx, "one", ann, t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.UserID != ann || got.Name != want.Name || !got.Confirmed || got.SendOptin ||
			!bytes.Equal(got.Data, want.Data) || !got.Expires.Equal(want.Expires) {
			t.Fatalf("took %+v, want %+v", got, want)
		}
		notFound(t, st, "one", ann, t0.Add(time.Minute)) // used once
	})
	t.Run("OwnerOnly", func(t *testing.T) {
		st := open(t)
		ann, bob := user(t, st, "ann@example.org"), user(t, st, "bob@example.org")
		put(t, st, "ann's", ann, "email\n", t0)
		notFound(t, st, "ann's", bob, t0)
		if _, err := st.TakeImportUpload(ctx, "ann's", ann, t0); err != nil {
			t.Fatalf("bob's try used ann's upload: %v", err)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		st := open(t)
		ann := user(t, st, "ann@example.org")
		put(t, st, "old", ann, "email\n", t0)
		notFound(t, st, "old", ann, t0.Add(15*time.Minute))
	})
	t.Run("OneWaitingPerUser", func(t *testing.T) {
		st := open(t)
		ann, bob := user(t, st, "ann@example.org"), user(t, st, "bob@example.org")
		put(t, st, "bob's", bob, "email\n", t0)
		put(t, st, "first", ann, "email\n", t0)
		put(t, st, "second", ann, "email\n", t0.Add(time.Minute))
		notFound(t, st, "first", ann, t0.Add(time.Minute))
		if _, err := st.TakeImportUpload(ctx, "second", ann, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if _, err := st.TakeImportUpload(ctx, "bob's", bob, t0.Add(time.Minute)); err != nil {
			t.Fatalf("ann's upload dropped bob's: %v", err)
		}
	})
	t.Run("ExpiredDroppedAtPut", func(t *testing.T) {
		st := open(t)
		ann, bob := user(t, st, "ann@example.org"), user(t, st, "bob@example.org")
		put(t, st, "stale", bob, "email\n", t0)
		put(t, st, "fresh", ann, "email\n", t0.Add(time.Hour))
		// Gone, not merely refused: a later clock cannot revive it.
		notFound(t, st, "stale", bob, t0)
	})
	t.Run("Pruned", func(t *testing.T) {
		st := open(t)
		ann, bob := user(t, st, "ann@example.org"), user(t, st, "bob@example.org")
		put(t, st, "stale", bob, "email\n", t0)
		put(t, st, "fresh", ann, "email\n", t0.Add(10*time.Minute))
		if n, err := st.PruneImportUploads(ctx, t0.Add(15*time.Minute)); err != nil || n != 1 {
			t.Fatalf("prune: %d, %v; want the stale upload only", n, err)
		}
		notFound(t, st, "stale", bob, t0) // gone, not merely refused
		if _, err := st.TakeImportUpload(ctx, "fresh", ann, t0.Add(15*time.Minute)); err != nil {
			t.Fatalf("prune dropped an upload still waiting: %v", err)
		}
	})
	t.Run("UserRemoved", func(t *testing.T) {
		st := open(t)
		ann := user(t, st, "ann@example.org")
		put(t, st, "ann's", ann, "email\n", t0)
		if err := st.DeleteUser(ctx, ann); err != nil {
			t.Fatal(err)
		}
		notFound(t, st, "ann's", ann, t0)
	})
}
