// Command seed adds N active subscribers of a newsletter straight into a
// Herald SQLite store, for bench/digest.sh (what `herald subscribers
// import` does, without the per-row checks, so a million take seconds).
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"

	_ "modernc.org/sqlite"
)

func main() {
	db := flag.String("db", "data/herald.db", "store file (migrated: run herald import first)")
	n := flag.Int("n", 100000, "subscribers")
	nl := flag.String("newsletter", "monthly", "newsletter id")
	flag.Parse()
	if err := seed(*db, *n, *nl); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func seed(path string, n int, nl string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		return err
	}
	defer db.Close()
	stmts := []string{
		`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?)
		 INSERT INTO subscribers (email, name, status, created_at, updated_at)
		 SELECT 'reader' || i || '@bench.example', 'Reader ' || i, 'active', 0, 0 FROM seq`,
		`INSERT OR IGNORE INTO subscriptions (newsletter, subscriber_id, created_at) SELECT ?, id, 0 FROM subscribers WHERE status = 'active'`,
	}
	if _, err := db.Exec(stmts[0], n); err != nil {
		return err
	}
	_, err = db.Exec(stmts[1], nl)
	return err
}
