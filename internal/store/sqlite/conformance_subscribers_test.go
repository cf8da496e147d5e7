package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/herald-news/herald/internal/store/sqlite"

	"github.com/herald-news/herald/internal/store/storetest"
)

func TestSubscribers(t *testing.T) {
	storetest.RunSubscribers(t, func(t *testing.T) storetest.SubscriberStore { return open(t) })
}

func TestConfirmShared(t *testing.T) {
	storetest.RunConfirmShared(t, func(t *testing.T) (storetest.SubscriberStore, storetest.SubscriberStore) {
		path := filepath.Join(t.TempDir(), "herald.db")
		var out [2]*sqlite.Store
		for i := range out {
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			out[i] = s
		}
		return out[0], out[1]
	})
}
