package media_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/testenv"
)

// serviceStore is what the service tests use of a real store.
type serviceStore interface {
	media.Store
	MediaBytes(ctx context.Context, hash string, variant int) (media.File, error)
	UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (bool, error)
	Audit(ctx context.Context, limit int) ([]store.AuditEntry, error)
}

// backends opens a fresh store of each kind.
var backends = []struct {
	name string
	open func(t *testing.T) serviceStore
}{
	{"SQLite", func(t *testing.T) serviceStore {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
	{"PostgreSQL", func(t *testing.T) serviceStore {
		st, err := postgres.Open(context.Background(), testenv.PostgresDSN(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

func TestService(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	ann := media.Actor{UserID: 7, Email: "ann@example.org", IP: "192.0.2.1"}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			newService := func(t *testing.T) (*media.Service, serviceStore) {
				st := b.open(t)
				return &media.Service{Store: st, Limit: 1 << 20, Now: func() time.Time { return now }}, st
			}

			t.Run("OK", func(t *testing.T) {
				svc, st := newService(t)
				in := exifJPEG(t, quadrant(1300, 650), 1)
				it, created, err := svc.Upload(ctx, `C:\Users\ann\Pictures\harbour.jpg`, bytes.NewReader(in), ann)
				if err != nil || !created {
					t.Fatalf("Upload = %v, %v", created, err)
				}
				if it.Name != "harbour.jpg" || it.CreatedBy != ann.Email || !it.CreatedAt.Equal(now) || len(it.Derivatives) != 2 {
					t.Errorf("stored item %+v", it)
				}
				for variant := range media.Variants(it) {
					f, err := st.MediaBytes(ctx, it.Hash, variant)
					if err != nil || f.Size != int64(len(f.Data)) {
						t.Fatalf("MediaBytes(%d): %v", variant, err)
					}
					noSecrets(t, "stored file", f.Data)
				}
				// The same photo with other metadata is the same upload.
				again, created, err := svc.Upload(ctx, "copy.jpg", bytes.NewReader(withSegments(in, segment(0xfe, []byte("another-comment")))), ann)
				if err != nil || created || again.Hash != it.Hash || again.Name != "harbour.jpg" {
					t.Errorf("second upload: %s created %v, %v; want the first (%s)", again.Hash, created, err, it.Hash)
				}
				list, err := svc.List(ctx)
				if err != nil || len(list) != 1 || list[0].Hash != it.Hash || len(list[0].UsedBy) != 0 {
					t.Fatalf("List = %+v, %v", list, err)
				}
				audit, err := st.Audit(ctx, 10)
				if err != nil || len(audit) != 1 || audit[0].Action != "media.upload" || audit[0].Email != ann.Email ||
					audit[0].IP != ann.IP || !strings.Contains(audit[0].Detail, it.Hash) {
					t.Errorf("audit = %+v, %v; want one media.upload by ann", audit, err)
				}
			})

			t.Run("ErrUnsupported", func(t *testing.T) {
				svc, st := newService(t)
				_, _, err := svc.Upload(ctx, "notes.jpg", strings.NewReader("Meeting notes, not a picture.\n"), ann)
				if !errors.Is(err, media.ErrUnsupported) || !strings.Contains(err.Error(), "notes.jpg") {
					t.Errorf("text named .jpg: %v, want ErrUnsupported naming the file", err)
				}
				if list, _ := st.ListMedia(ctx); len(list) != 0 {
					t.Errorf("%d uploads stored", len(list))
				}
			})

			t.Run("ErrTooLarge", func(t *testing.T) {
				svc, st := newService(t)
				big := encodeJPEG(t, noisy(800, 600, 2), 95)
				if len(big) <= 1<<20/2 {
					t.Fatalf("fixture only %d bytes", len(big))
				}
				svc.Limit = int64(len(big) - 1)
				_, _, err := svc.Upload(ctx, "big.jpg", bytes.NewReader(big), ann)
				if !errors.Is(err, media.ErrTooLarge) || !strings.Contains(err.Error(), "big.jpg") {
					t.Errorf("over the limit: %v, want ErrTooLarge naming the file", err)
				}
				svc.Limit = int64(len(big))
				if _, _, err := svc.Upload(ctx, "big.jpg", bytes.NewReader(big), ann); err != nil {
					t.Errorf("at the limit: %v", err)
				}
				if list, _ := st.ListMedia(ctx); len(list) != 1 {
					t.Errorf("%d uploads stored, want 1", len(list))
				}
			})

			t.Run("ErrInUse", func(t *testing.T) {
				svc, st := newService(t)
				it, _, err := svc.Upload(ctx, "lead.png", bytes.NewReader(encodePNG(t, quadrant(800, 400))), ann)
				if err != nil {
					t.Fatal(err)
				}
				p := article.NewParser(time.UTC, nil)
				a, err := p.Parse("lead.md", []byte("---\ntitle: Harbour day\ndate: 2026-12-01\nimage: "+it.URL()+"\nimage_alt: The quay\n---\nText.\n"))
				if err != nil {
					t.Fatal(err)
				}
				a.Source = article.SourceAPI
				if _, err := st.UpsertArticle(ctx, a, now); err != nil {
					t.Fatal(err)
				}
				err = svc.Delete(ctx, it.Hash, ann)
				if !errors.Is(err, media.ErrInUse) || !strings.Contains(err.Error(), "lead") {
					t.Errorf("Delete in use: %v, want ErrInUse naming the article", err)
				}
				list, err := svc.List(ctx)
				if err != nil || len(list) != 1 || len(list[0].UsedBy) != 1 || list[0].UsedBy[0].Title != "Harbour day" {
					t.Fatalf("List = %+v, %v", list, err)
				}
				other, _, err := svc.Upload(ctx, "other.gif", bytes.NewReader(animatedGIF(t, 100, 80)), ann)
				if err != nil {
					t.Fatal(err)
				}
				if err := svc.Delete(ctx, other.Hash, ann); err != nil {
					t.Fatalf("Delete unused: %v", err)
				}
				if err := svc.Delete(ctx, other.Hash, ann); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Delete again: %v, want ErrNotFound", err)
				}
				if err := svc.Delete(ctx, "../etc", ann); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Delete of a bad hash: %v, want ErrNotFound", err)
				}
				audit, _ := st.Audit(ctx, 10)
				if len(audit) != 3 || audit[0].Action != "media.delete" || audit[0].Detail != other.Hash {
					t.Errorf("audit = %+v, want the delete last", audit)
				}
			})
		})
	}
}
