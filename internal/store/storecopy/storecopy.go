// Package storecopy copies a SQLite store into an empty PostgreSQL
// database (herald store copy) and verifies the copy. It is generic over
// the schema: the tables and columns are read from both databases, every
// table the PostgreSQL schema has is copied, and a table or column only
// one backend has is an error, so a migration that forgot a backend fails
// here (docs/ARCHITECTURE.md, "Adding a store backend").
package storecopy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store/postgres"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the "sqlite" driver, for the raw reads
)

// Table is one table's outcome: rows and checksum on each side.
type Table struct {
	Name             string
	SrcRows, DstRows int64
	SrcSum, DstSum   [sha256.Size]byte
}

// OK reports whether both sides hold the same rows.
func (t Table) OK() bool { return t.SrcRows == t.DstRows && t.SrcSum == t.DstSum }

// Report is what Copy did, table by table in copy order.
type Report struct {
	Tables []Table
	Rows   int64 // rows copied in all
}

// OK reports whether every table verified.
func (r *Report) OK() bool {
	for _, t := range r.Tables {
		if !t.OK() {
			return false
		}
	}
	return true
}

// ErrMismatch: the copy did not verify; nothing was committed.
var ErrMismatch = errors.New("copy does not verify")

// Tables that exist in one dialect only, handled by name:
// schema_migrations is each backend's own bookkeeping (versions differ
// per dialect), and sqlite_sequence is read for the id sequences.
const migrationsTable = "schema_migrations"

// seededTable is filled by the migrations of both backends (counters and
// marks); the target's seeded rows are replaced by the source's.
const seededTable = "meta"

// progressEvery is how often, in rows, a large table reports progress.
const progressEvery = 50000

// Copy copies the SQLite store at srcPath into the PostgreSQL database
// dsn, which must hold no Herald data, and verifies it. The source is
// migrated to this binary's schema first and must exist; the target is
// created (migrated) if needed. Everything is written in one transaction,
// committed only when every table verifies, so a failed copy leaves the
// target as empty as it was. progress gets a line per table and, for
// large tables, every progressEvery rows.
func Copy(ctx context.Context, srcPath, dsn string, progress io.Writer) (*Report, error) {
	// Opening through the store migrates the source and holds its shared
	// lock, so restore cannot replace the file under the copy.
	src, err := sqlite.OpenExisting(ctx, srcPath)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	dst.Close()

	sdb, err := sql.Open("sqlite", "file:"+srcPath+"?"+url.Values{"_pragma": {"busy_timeout(10000)", "query_only(1)"}}.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", srcPath, err)
	}
	defer sdb.Close()
	stx, err := sdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", srcPath, err)
	}
	defer stx.Rollback()

	pcfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("postgres: invalid DSN") // pgx's message may quote the password
	}
	conn, err := pgx.ConnectConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ptx, err := conn.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer ptx.Rollback(context.WithoutCancel(ctx))

	tables, err := pgSchema(ctx, ptx)
	if err != nil {
		return nil, fmt.Errorf("postgres: schema: %w", err)
	}
	if err := matchSQLite(ctx, stx, tables); err != nil {
		return nil, err
	}
	if err := checkEmpty(ctx, ptx, tables); err != nil {
		return nil, err
	}
	seqs, err := sqliteSequences(ctx, stx)
	if err != nil {
		return nil, err
	}

	rep := &Report{}
	for _, t := range tables {
		if t.name == seededTable {
			if _, err := ptx.Exec(ctx, `DELETE FROM `+quote(t.name)); err != nil {
				return nil, fmt.Errorf("postgres: %s: %w", t.name, err)
			}
		}
	}
	for _, t := range tables {
		n, err := copyTable(ctx, stx, ptx, t, progress)
		if err != nil {
			return nil, err
		}
		rep.Rows += n
	}
	for _, t := range tables {
		if err := resetIdentities(ctx, ptx, t, seqs[t.name]); err != nil {
			return nil, err
		}
	}
	for _, t := range tables {
		r := Table{Name: t.name}
		if r.SrcRows, r.SrcSum, err = checksum(ctx, sqliteRows{stx}, t, false); err != nil {
			return nil, fmt.Errorf("sqlite: verify %s: %w", t.name, err)
		}
		if r.DstRows, r.DstSum, err = checksum(ctx, pgRows{ptx}, t, true); err != nil {
			return nil, fmt.Errorf("postgres: verify %s: %w", t.name, err)
		}
		rep.Tables = append(rep.Tables, r)
	}
	if !rep.OK() {
		return rep, ErrMismatch
	}
	if err := ptx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("postgres: commit: %w", err)
	}
	return rep, nil
}

// column is a column of the PostgreSQL schema and the canonical kind of
// its values.
type column struct {
	name     string
	kind     kind
	identity bool
}

type kind byte

const (
	kindInt kind = iota + 1
	kindBool
	kindBytes
	kindText
)

type table struct {
	name string
	cols []column
	pk   []string // primary key columns; none: every column orders the rows
}

// pgSchema lists the tables of the target's schema (but the migrations'
// bookkeeping) with their columns, parents before the tables referencing
// them, and the seeded table last: the articles trigger updates it while
// articles are copied, and the copy must end with the source's values.
func pgSchema(ctx context.Context, tx pgx.Tx) ([]table, error) {
	rows, err := tx.Query(ctx, `
		SELECT c.table_name, c.column_name, c.data_type, c.is_identity = 'YES'
		  FROM information_schema.columns c
		  JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		 WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
		 ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, err
	}
	byName := map[string]*table{}
	var names []string
	for rows.Next() {
		var tname, cname, typ string
		var ident bool
		if err := rows.Scan(&tname, &cname, &typ, &ident); err != nil {
			return nil, err
		}
		if tname == migrationsTable {
			continue
		}
		t := byName[tname]
		if t == nil {
			t = &table{name: tname}
			byName[tname] = t
			names = append(names, tname)
		}
		k, ok := kinds[typ]
		if !ok {
			rows.Close()
			return nil, fmt.Errorf("table %s: column %s has type %s, which the copy does not know", tname, cname, typ)
		}
		t.cols = append(t.cols, column{name: cname, kind: k, identity: ident})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	pks, err := tx.Query(ctx, `
		SELECT tc.table_name, k.column_name
		  FROM information_schema.table_constraints tc
		  JOIN information_schema.key_column_usage k
		    ON k.constraint_schema = tc.constraint_schema AND k.constraint_name = tc.constraint_name AND k.table_name = tc.table_name
		 WHERE tc.table_schema = current_schema() AND tc.constraint_type = 'PRIMARY KEY'
		 ORDER BY tc.table_name, k.ordinal_position`)
	if err != nil {
		return nil, err
	}
	for pks.Next() {
		var tname, cname string
		if err := pks.Scan(&tname, &cname); err != nil {
			return nil, err
		}
		if t := byName[tname]; t != nil {
			t.pk = append(t.pk, cname)
		}
	}
	if err := pks.Err(); err != nil {
		return nil, err
	}
	fks, err := tx.Query(ctx, `
		SELECT c.relname, p.relname
		  FROM pg_constraint f
		  JOIN pg_class c ON c.oid = f.conrelid
		  JOIN pg_class p ON p.oid = f.confrelid
		 WHERE f.contype = 'f' AND f.connamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	for fks.Next() {
		var child, parent string
		if err := fks.Scan(&child, &parent); err != nil {
			return nil, err
		}
		if child != parent {
			parents[child] = append(parents[child], parent)
		}
	}
	if err := fks.Err(); err != nil {
		return nil, err
	}
	// Parents first; among tables ready together, by name.
	sort.Strings(names)
	var out []table
	done := map[string]bool{}
	for len(out) < len(names) {
		progressed := false
		for _, n := range names {
			if done[n] || n == seededTable && len(out) < len(names)-1 {
				continue
			}
			ready := true
			for _, p := range parents[n] {
				if !done[p] {
					ready = false
				}
			}
			if ready {
				done[n] = true
				out = append(out, *byName[n])
				progressed = true
				break
			}
		}
		if !progressed {
			return nil, errors.New("foreign keys form a cycle")
		}
	}
	return out, nil
}

// kinds maps PostgreSQL's data_type names onto the canonical kinds.
var kinds = map[string]kind{
	"bigint": kindInt, "integer": kindInt, "smallint": kindInt,
	"boolean": kindBool,
	"bytea":   kindBytes,
	"text":    kindText, "character varying": kindText,
}

// matchSQLite checks that the source has exactly the target's tables and
// columns (by name), naming the first difference.
func matchSQLite(ctx context.Context, tx *sql.Tx, tables []table) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p
		 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\' AND m.name <> ?
		 ORDER BY m.name, p.cid`, migrationsTable)
	if err != nil {
		return fmt.Errorf("sqlite: schema: %w", err)
	}
	defer rows.Close()
	src := map[string]map[string]bool{}
	var srcNames []string
	for rows.Next() {
		var tname, cname string
		if err := rows.Scan(&tname, &cname); err != nil {
			return fmt.Errorf("sqlite: schema: %w", err)
		}
		if src[tname] == nil {
			src[tname] = map[string]bool{}
			srcNames = append(srcNames, tname)
		}
		src[tname][cname] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: schema: %w", err)
	}
	dst := map[string]bool{}
	for _, t := range tables {
		dst[t.name] = true
		cols, ok := src[t.name]
		if !ok {
			return fmt.Errorf("schemas differ: table %s exists only in PostgreSQL", t.name)
		}
		seen := map[string]bool{}
		for _, c := range t.cols {
			seen[c.name] = true
			if !cols[c.name] {
				return fmt.Errorf("schemas differ: column %s.%s exists only in PostgreSQL", t.name, c.name)
			}
		}
		var extra []string
		for c := range cols {
			if !seen[c] {
				extra = append(extra, c)
			}
		}
		if len(extra) > 0 {
			sort.Strings(extra)
			return fmt.Errorf("schemas differ: column %s.%s exists only in SQLite", t.name, extra[0])
		}
	}
	for _, n := range srcNames {
		if !dst[n] {
			return fmt.Errorf("schemas differ: table %s exists only in SQLite", n)
		}
	}
	return nil
}

// checkEmpty refuses a target that holds Herald data in any table but the
// one the migrations seed.
func checkEmpty(ctx context.Context, tx pgx.Tx, tables []table) error {
	for _, t := range tables {
		if t.name == seededTable {
			continue
		}
		var any bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+quote(t.name)+`)`).Scan(&any); err != nil {
			return fmt.Errorf("postgres: %s: %w", t.name, err)
		}
		if any {
			return fmt.Errorf("the target database is not empty: table %s holds rows (copy only into a new, empty database)", t.name)
		}
	}
	return nil
}

// sqliteSequences is SQLite's AUTOINCREMENT high-water mark per table:
// ids handed out once, even of rows since deleted.
func sqliteSequences(ctx context.Context, tx *sql.Tx) (map[string]int64, error) {
	seqs := map[string]int64{}
	var exists bool
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'sqlite_sequence'`).Scan(&exists); err != nil || !exists {
		return seqs, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT name, seq FROM sqlite_sequence`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sqlite_sequence: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		var v int64
		if err := rows.Scan(&n, &v); err != nil {
			return nil, fmt.Errorf("sqlite: sqlite_sequence: %w", err)
		}
		seqs[n] = max(seqs[n], v)
	}
	return seqs, rows.Err()
}

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

func colNames(t table) []string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.name
	}
	return names
}

func selectList(t table) string {
	q := make([]string, len(t.cols))
	for i, c := range t.cols {
		q[i] = quote(c.name)
	}
	return strings.Join(q, ", ")
}

// copyTable streams the table's rows from SQLite into PostgreSQL (COPY).
func copyTable(ctx context.Context, stx *sql.Tx, ptx pgx.Tx, t table, progress io.Writer) (int64, error) {
	rows, err := stx.QueryContext(ctx, `SELECT `+selectList(t)+` FROM `+quote(t.name))
	if err != nil {
		return 0, fmt.Errorf("sqlite: %s: %w", t.name, err)
	}
	defer rows.Close()
	src := &source{t: t, rows: rows, progress: progress, vals: make([]any, len(t.cols)), ptrs: make([]any, len(t.cols))}
	for i := range src.vals {
		src.ptrs[i] = &src.vals[i]
	}
	start := time.Now()
	n, err := ptx.CopyFrom(ctx, pgx.Identifier{t.name}, colNames(t), src)
	if err != nil {
		return 0, fmt.Errorf("copy %s: %w", t.name, err)
	}
	if progress != nil {
		fmt.Fprintf(progress, "copy: %s: %d rows (%s)\n", t.name, n, time.Since(start).Round(time.Millisecond))
	}
	return n, nil
}

// source is a pgx.CopyFromSource over SQLite rows, converting each value
// to the target column's kind.
type source struct {
	t        table
	rows     *sql.Rows
	progress io.Writer
	vals     []any
	ptrs     []any
	out      []any
	n        int64
	err      error
}

func (s *source) Next() bool {
	if !s.rows.Next() {
		return false
	}
	if err := s.rows.Scan(s.ptrs...); err != nil {
		s.err = err
		return false
	}
	s.out = make([]any, len(s.vals))
	for i, v := range s.vals {
		c, err := canonical(s.t.cols[i].kind, v)
		if err != nil {
			s.err = fmt.Errorf("%s.%s: %w", s.t.name, s.t.cols[i].name, err)
			return false
		}
		s.out[i] = c
	}
	s.n++
	if s.progress != nil && s.n%progressEvery == 0 {
		fmt.Fprintf(s.progress, "copy: %s: %d rows…\n", s.t.name, s.n)
	}
	return true
}

func (s *source) Values() ([]any, error) { return s.out, nil }

func (s *source) Err() error {
	if s.err != nil {
		return s.err
	}
	return s.rows.Err()
}

// canonical is v, as either database driver returns it, as the Go value
// of kind k: int64, bool, []byte or string (nil for NULL). A value that
// does not fit (text in an integer column, 2 in a boolean) is an error,
// never a silent change.
func canonical(k kind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case kindInt:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int32:
			return int64(x), nil
		case int16:
			return int64(x), nil
		}
	case kindBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			if x == 0 || x == 1 {
				return x == 1, nil
			}
		}
	case kindBytes:
		switch x := v.(type) {
		case []byte:
			return x, nil
		case string:
			return []byte(x), nil
		}
	case kindText:
		switch x := v.(type) {
		case string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	}
	return nil, fmt.Errorf("value %v (%T) does not fit the column's type", v, v)
}

// resetIdentities moves each identity sequence of t past every id the
// source handed out: its rows' largest and SQLite's AUTOINCREMENT mark,
// so no id of a deleted run or erased subscriber is handed out again.
func resetIdentities(ctx context.Context, tx pgx.Tx, t table, seq int64) error {
	for _, c := range t.cols {
		if !c.identity {
			continue
		}
		var top int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(`+quote(c.name)+`), 0) FROM `+quote(t.name)).Scan(&top); err != nil {
			return fmt.Errorf("postgres: %s: %w", t.name, err)
		}
		top = max(top, seq)
		if top == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), $3)`, quote(t.name), c.name, top); err != nil {
			return fmt.Errorf("postgres: %s.%s sequence: %w", t.name, c.name, err)
		}
	}
	return nil
}

// rowSource reads a table's rows in the canonical order.
type rowSource interface {
	each(ctx context.Context, query string, fn func(vals []any) error) error
}

type sqliteRows struct{ tx *sql.Tx }

func (s sqliteRows) each(ctx context.Context, query string, fn func([]any) error) error {
	rows, err := s.tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

type pgRows struct{ tx pgx.Tx }

func (p pgRows) each(ctx context.Context, query string, fn func([]any) error) error {
	rows, err := p.tx.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

// checksum counts t's rows and hashes their canonical encoding (SHA-256),
// in primary key order (every column when there is none). Both sides
// order text by bytes ("C" in PostgreSQL, BINARY in SQLite) and NULLs
// first, so the same rows hash the same.
func checksum(ctx context.Context, rs rowSource, t table, pg bool) (int64, [sha256.Size]byte, error) {
	order := t.pk
	if len(order) == 0 {
		order = colNames(t)
	}
	kindOf := map[string]kind{}
	for _, c := range t.cols {
		kindOf[c.name] = c.kind
	}
	terms := make([]string, len(order))
	for i, n := range order {
		term := quote(n)
		if kindOf[n] == kindText {
			if pg {
				term += ` COLLATE "C"`
			} else {
				term += ` COLLATE BINARY`
			}
		}
		terms[i] = term + " NULLS FIRST"
	}
	query := `SELECT ` + selectList(t) + ` FROM ` + quote(t.name) + ` ORDER BY ` + strings.Join(terms, ", ")
	h := sha256.New()
	var n int64
	var buf []byte
	err := rs.each(ctx, query, func(vals []any) error {
		buf = buf[:0]
		for i, v := range vals {
			c, err := canonical(t.cols[i].kind, v)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", t.name, t.cols[i].name, err)
			}
			buf = encode(buf, c)
		}
		h.Write(buf)
		n++
		return nil
	})
	var sum [sha256.Size]byte
	copy(sum[:], h.Sum(nil))
	return n, sum, err
}

// encode appends the canonical encoding of a canonical value: a type
// byte, then the value (integers big-endian, bytes and text with their
// length first), so no two rows encode alike.
func encode(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, 0)
	case int64:
		return binary.BigEndian.AppendUint64(append(dst, 1), uint64(x))
	case bool:
		if x {
			return append(dst, 2, 1)
		}
		return append(dst, 2, 0)
	case []byte:
		return append(binary.AppendUvarint(append(dst, 3), uint64(len(x))), x...)
	case string:
		return append(binary.AppendUvarint(append(dst, 4), uint64(len(x))), x...)
	}
	panic(fmt.Sprintf("storecopy: no canonical encoding for %T", v))
}
