package digest_test

import (
	"database/sql"
	"testing"

	_ "modernc.org/sqlite"
)

// rawDB opens the store's file directly, for setting up subscribers the
// way the subscribe engine (another package) would.
type rawDB struct{ db *sql.DB }

func openRaw(t testing.TB, path string) *rawDB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return &rawDB{db}
}

func (r *rawDB) exec(t testing.TB, q string, args ...any) {
	t.Helper()
	if _, err := r.db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

func (r *rawDB) close() { r.db.Close() }
