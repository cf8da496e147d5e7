package postgres

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
)

// Path names the store in messages: its DSN without the password.
func (s *Store) Path() string { return s.display }

// SchemaCurrent is the store's schema version and the one this binary
// migrates to, so a readiness check need not know the backend.
func (s *Store) SchemaCurrent(ctx context.Context) (have, want int, err error) {
	have, err = s.SchemaVersion(ctx)
	if err != nil {
		return 0, LatestVersion(), fmt.Errorf("postgres: schema version: %w", err)
	}
	return have, LatestVersion(), nil
}

// Redact is dsn without its password, for messages and for the commands
// Herald suggests (pg_dump, pg_restore): a postgres:// URL loses the
// password of its user part and any password parameter; a key=value DSN
// loses its password pair.
func Redact(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// Its own message may quote the password: name only the kind.
			return "(unreadable " + dsn[:strings.Index(dsn, ":")] + " URL)"
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		if q := u.Query(); q.Has("password") {
			q.Del("password")
			u.RawQuery = q.Encode()
		}
		return u.String()
	}
	var kept []string
	for _, f := range keywordFields(dsn) {
		if k, _, _ := strings.Cut(f, "="); strings.TrimSpace(k) != "password" {
			kept = append(kept, f)
		}
	}
	return strings.Join(kept, " ")
}

// keywordFields splits a key=value DSN into its pairs, keeping quoted
// values (which may hold spaces and escaped quotes) whole.
func keywordFields(dsn string) []string {
	var out []string
	var cur strings.Builder
	quoted, escaped := false, false
	for _, r := range dsn {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == '\'':
			quoted = !quoted
		case !quoted && (r == ' ' || r == '\t' || r == '\n'):
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// stateWhere is the SQL condition (over articles aliased a) for a state;
// now is the placeholder of the instant separating published from
// scheduled.
func stateWhere(state string, now func() string) (string, bool) {
	switch state {
	case "":
		return "TRUE", true
	case article.StatePublished:
		return "NOT a.draft AND NOT a.removed AND a.published <= " + now(), true
	case article.StateScheduled:
		return "NOT a.draft AND NOT a.removed AND a.published > " + now(), true
	case article.StateDraft:
		return "a.draft AND NOT a.removed", true
	case article.StateRemoved:
		return "a.removed", true
	}
	return "", false
}

// adminWhere is the condition (over articles aliased a) of f, without
// its cursor and limit, its parameters added to p.
func adminWhere(f article.ListFilter, p *args) (string, error) {
	cond, ok := stateWhere(f.State, func() string { return p.add(micros(f.Now)) })
	if !ok {
		return "", fmt.Errorf("postgres: unknown article state %q: %w", f.State, store.ErrNotFound)
	}
	where := []string{cond}
	if f.Tag != "" {
		where = append(where, `a.id IN (SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE t.slug = `+p.add(f.Tag)+`)`)
	}
	if f.Title != "" {
		where = append(where, `a.title_search LIKE `+p.add(article.LikeContains(f.Title))+` ESCAPE '\'`)
	}
	return strings.Join(where, " AND "), nil
}

// ListAllArticles lists articles in any state matching f, newest first by
// (published, id), with tags: what the admin API and article list page
// through.
func (s *Store) ListAllArticles(ctx context.Context, f article.ListFilter) ([]article.Article, error) {
	var p args
	cond, err := adminWhere(f, &p)
	if err != nil {
		return nil, err
	}
	if f.After != nil {
		pub, id := p.add(micros(f.After.Published)), p.add(f.After.ID)
		cond += " AND (a.published < " + pub + " OR (a.published = " + pub + " AND a.id < " + id + "))"
	}
	query := `SELECT ` + prefixCols("a") + ` FROM articles a WHERE ` + cond + ` ORDER BY a.published DESC, a.id DESC`
	if f.Limit > 0 {
		query += ` LIMIT ` + p.add(f.Limit)
	}
	return queryArticles(ctx, s.pool, query, p...)
}

// CountAllArticles counts the articles ListAllArticles would list for f
// over all pages (After and Limit ignored).
func (s *Store) CountAllArticles(ctx context.Context, f article.ListFilter) (int, error) {
	var p args
	cond, err := adminWhere(f, &p)
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM articles a WHERE `+cond, p...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count articles: %w", err)
	}
	return n, nil
}

// ArticleStateCounts counts articles by state at now; every state is
// present, zero or not (the metrics' gauges).
func (s *Store) ArticleStateCounts(ctx context.Context, now time.Time) (map[string]int, error) {
	out := map[string]int{}
	for _, st := range article.States() {
		out[st] = 0
	}
	// The store groups by the flags; article.StateOf names the state.
	rows, err := s.pool.Query(ctx, `SELECT draft, removed, published > $1, count(*) FROM articles GROUP BY 1, 2, 3`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var draft, removed, future bool
		var n int
		if err := rows.Scan(&draft, &removed, &future, &n); err != nil {
			return nil, fmt.Errorf("postgres: counts: %w", err)
		}
		out[article.StateOf(draft, removed, future)] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: counts: %w", err)
	}
	return out, nil
}
