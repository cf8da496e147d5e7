package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herald-news/herald/internal/store/storecopy"
)

const storeUsage = `herald store copy --to DSN

  copy   copy the configured SQLite store into an empty PostgreSQL
         database (postgres://...) and verify it table by table`

func cmdStore(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: "+storeUsage, "store: no subcommand given")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, "usage: "+storeUsage)
		return nil
	case "copy":
		return cmdStoreCopy(e, args)
	default:
		return usagef("usage: "+storeUsage, "store: unknown subcommand %q", sub)
	}
}

// cmdStoreCopy moves an installation from SQLite to PostgreSQL: every
// table, ids and their sequences, the token key and the feed authority
// (both are rows), verified by row counts and checksums before the copy
// is committed. serve must be stopped: what it writes during the copy
// would be left behind.
func cmdStoreCopy(e *env, args []string) error {
	const usage = "herald store copy --to DSN"
	var to string
	rest, err := e.flags("store copy", usage, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "the PostgreSQL database: postgres://user:pass@host/db?sslmode=...")
	}, args)
	if err != nil {
		return helpOK(err)
	}
	if len(rest) != 0 {
		return usagef("usage: "+usage, "store copy: unexpected argument %q", rest[0])
	}
	if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
		return usagef("usage: "+usage, "store copy: --to needs a postgres:// or postgresql:// URL")
	}
	cfg, _, err := e.loadConfig()
	if err != nil {
		return err
	}
	if cfg.Store.Driver != "sqlite" {
		return fmt.Errorf("store copy: the configured store is %s; copy reads a SQLite store (store.driver: sqlite)", cfg.Store.Driver)
	}
	start := time.Now()
	rep, err := storecopy.Copy(e.ctx, cfg.Store.DSN, to, e.stderr)
	if rep != nil {
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "TABLE\tSQLITE\tPOSTGRES\tCHECK")
		for _, t := range rep.Tables {
			check := "OK"
			if !t.OK() {
				check = "MISMATCH"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", t.Name, t.SrcRows, t.DstRows, check)
		}
		tw.Flush()
	}
	if errors.Is(err, storecopy.ErrMismatch) {
		return fmt.Errorf("store copy: %w: nothing was committed, the target is as empty as before", err)
	}
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	d := time.Since(start)
	fmt.Fprintf(e.stdout, "copied %d rows from %s in %s (%.0f rows/s); set store.driver: postgres and store.dsn to the new database\n",
		rep.Rows, cfg.Store.DSN, d.Round(time.Millisecond), float64(rep.Rows)/max(d.Seconds(), 1e-3))
	return nil
}
