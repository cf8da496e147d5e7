package postgres

import (
	"context"
	"fmt"
	"net/url"
	"sync/atomic"
	"testing"

	"github.com/herald-news/herald/internal/testenv"
	"github.com/jackc/pgx/v5"
)

// freshStores returns an opener of fresh, empty stores for the subtests
// of t: all in one database made for t (creating a database per store
// costs most of a second), each in a schema of its own that the DSN's
// search_path selects, so each migrates from nothing.
func freshStores(t *testing.T) func(t *testing.T) *Store {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	var n atomic.Int64
	return func(t *testing.T) *Store {
		t.Helper()
		ctx := context.Background()
		schema := fmt.Sprintf("s%d", n.Add(1))
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		s, err := Open(ctx, u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}
