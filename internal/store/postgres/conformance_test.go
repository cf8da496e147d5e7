package postgres_test

import (
	"context"
	"testing"

	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/storetest"
	"github.com/herald-news/herald/internal/testenv"
)

// open opens a store on a fresh database, closed when t ends.
func open(t *testing.T) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), testenv.PostgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSubscribers(t *testing.T) {
	storetest.RunSubscribers(t, func(t *testing.T) storetest.SubscriberStore { return open(t) })
}
