package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/herald-news/herald/internal/store/storetest"
)

// openConformance opens a fresh store in t's temporary folder.
func openConformance(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformanceArticles(t *testing.T) {
	storetest.RunArticles(t, func(t *testing.T) storetest.ArticleStore { return openConformance(t) })
}

func TestConformanceFeeds(t *testing.T) {
	storetest.RunFeeds(t, func(t *testing.T) storetest.FeedStore { return openConformance(t) })
}

func TestConformanceSecrets(t *testing.T) {
	storetest.RunSecrets(t, func(t *testing.T) storetest.SecretStore { return openConformance(t) })
}

func TestConformanceArchive(t *testing.T) {
	storetest.RunArchive(t, func(t *testing.T) storetest.ArchiveStore { return openConformance(t) })
}

func TestConformanceInstances(t *testing.T) {
	storetest.RunInstances(t, func(t *testing.T) (a, b storetest.InstanceStore) {
		path := filepath.Join(t.TempDir(), "herald.db")
		var st [2]*Store
		for i := range st {
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			st[i] = s
		}
		return st[0], st[1]
	})
}

func TestConformanceUsers(t *testing.T) {
	storetest.RunUsers(t, func(t *testing.T) storetest.UserStore { return openConformance(t) })
}

func TestConformanceRemoteImages(t *testing.T) {
	storetest.RunRemoteImages(t, func(t *testing.T) storetest.RemoteImageStore { return openConformance(t) })
}

func TestConformanceMedia(t *testing.T) {
	storetest.RunMedia(t, func(t *testing.T) storetest.MediaStore { return openConformance(t) })
}

func TestConformanceAccounts(t *testing.T) {
	storetest.RunAccounts(t, func(t *testing.T) storetest.AccountStore { return openConformance(t) })
}

func TestConformanceRevisions(t *testing.T) {
	storetest.RunRevisions(t, func(t *testing.T) storetest.RevisionStore { return openConformance(t) })
}
