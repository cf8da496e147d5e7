package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
)

func micros(t time.Time) int64 { return t.UTC().UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

const articleCols = `id, slug, title, summary, body, body_html, author_name, author_email,
	image_url, image_media_path, image_alt, image_width, image_height, link,
	published, updated, draft, removed, source, source_path, content_hash, first_seen, feed_id, image_kept`

func scanArticle(sc interface{ Scan(...any) error }) (*article.Article, error) {
	var a article.Article
	var img article.Image
	var pub, upd int64
	var kept string
	var first sql.NullInt64
	err := sc.Scan(&a.ID, &a.Slug, &a.Title, &a.Summary, &a.Body, &a.BodyHTML, &a.AuthorName, &a.AuthorEmail,
		&img.URL, &img.MediaPath, &img.Alt, &img.Width, &img.Height, &a.Link,
		&pub, &upd, &a.Draft, &a.Removed, &a.Source, &a.SourcePath, &a.ContentHash, &first, &a.FeedID, &kept)
	if err != nil {
		return nil, err
	}
	if img.URL != "" || img.MediaPath != "" {
		if img.Kept, err = article.DecodeKept(kept); err != nil {
			return nil, fmt.Errorf("article %s: %w", a.Slug, err)
		}
		a.Image = &img
	}
	a.Published, a.Updated = fromMicros(pub), fromMicros(upd)
	if first.Valid {
		a.FirstSeen = fromMicros(first.Int64)
	}
	return &a, nil
}

// UpsertArticle stores a by slug. An unchanged article (same source and
// content hash) is left alone and changed is false. A slug held by another
// source or file is ErrConflict. Updated defaults to Published for a new
// article and to now for a changed one.
func (s *Store) UpsertArticle(ctx context.Context, a *article.Article, now time.Time) (changed bool, err error) {
	return s.upsertArticle(ctx, a, now, false)
}

// CreateArticle stores a new article; a slug already in the store, from
// any source, is ErrConflict. The check and the insert are one
// transaction, so two creators of one slug cannot both succeed.
func (s *Store) CreateArticle(ctx context.Context, a *article.Article, now time.Time) error {
	_, err := s.upsertArticle(ctx, a, now, true)
	return err
}

// CreateArticleFreeSlug stores a new article under a.Slug or, when that
// is taken by any article, under the first free a.Slug-2, a.Slug-3, …,
// and sets a.Slug to the one used. Choosing and inserting are one write
// transaction, so two creators of one slug get two slugs. It is for slugs
// derived from a title (articles without a file, docs/ARCHITECTURE.md,
// "Articles and slugs"); a slug the client chose belongs to CreateArticle.
func (s *Store) CreateArticleFreeSlug(ctx context.Context, a *article.Article, now time.Time) error {
	if a.Slug == "" {
		return errors.New("sqlite: article without slug")
	}
	base := a.Slug
	return s.inTx(ctx, func(tx *sql.Tx) error {
		slug, err := freeSlug(ctx, tx, base)
		if err != nil {
			return err
		}
		a.Slug = slug
		_, err = upsertArticleTx(ctx, tx, a, now, true)
		return err
	})
}

// freeSlug is base if no article has it, else base-N for the smallest
// free N ≥ 2. One range scan of the slug index reads every candidate.
func freeSlug(ctx context.Context, tx *sql.Tx, base string) (string, error) {
	prefix := base + "-"
	// '.' follows '-' in ASCII: [base-, base.) is every slug with the prefix.
	rows, err := tx.QueryContext(ctx, `SELECT slug FROM articles WHERE slug = ? OR (slug >= ? AND slug < ?)`,
		base, prefix, base+".")
	if err != nil {
		return "", fmt.Errorf("sqlite: free slug %s: %w", base, err)
	}
	defer rows.Close()
	baseTaken := false
	taken := map[int]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", fmt.Errorf("sqlite: free slug %s: %w", base, err)
		}
		if s == base {
			baseTaken = true
		} else if n, err := strconv.Atoi(strings.TrimPrefix(s, prefix)); err == nil && n >= 2 {
			taken[n] = true
		}
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("sqlite: free slug %s: %w", base, err)
	}
	if !baseTaken {
		return base, nil
	}
	n := 2
	for taken[n] {
		n++
	}
	return prefix + strconv.Itoa(n), nil
}

func (s *Store) upsertArticle(ctx context.Context, a *article.Article, now time.Time, createOnly bool) (changed bool, err error) {
	if a.Slug == "" {
		return false, errors.New("sqlite: article without slug")
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		changed, err = upsertArticleTx(ctx, tx, a, now, createOnly)
		return err
	})
	return changed, err
}

func upsertArticleTx(ctx context.Context, tx *sql.Tx, a *article.Article, now time.Time, createOnly bool) (changed bool, err error) {
	err = func() error {
		old, err := scanArticle(tx.QueryRowContext(ctx, `SELECT `+articleCols+` FROM articles WHERE slug = ?`, a.Slug))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			old = nil
		case err != nil:
			return fmt.Errorf("sqlite: get %s: %w", a.Slug, err)
		}
		var oldTags []string // the feeds old was listed in ('' the site's)
		if old != nil && createOnly {
			return article.AlreadyExists(a.Slug)
		}
		if old != nil {
			if err := article.SlugConflict(old, a); err != nil {
				return err
			}
			if old.ContentHash == a.ContentHash && a.ContentHash != "" && !old.Removed && old.SourcePath == a.SourcePath {
				tags := a.Tags // same source, same tags; old was read without them
				*a = *old
				a.Tags = tags
				return nil
			}
		}
		changed = true
		if old != nil && visibleAt(old, now) {
			// Read before writeTags replaces them: a tag the article
			// leaves changes too.
			if oldTags, err = tagSlugsOf(ctx, tx, old.ID); err != nil {
				return err
			}
			oldTags = append(oldTags, "")
		}
		img := article.Image{}
		if a.Image != nil {
			if err := keptFor(ctx, tx, a.Image); err != nil {
				return err
			}
			img = *a.Image
		}
		if a.Updated.IsZero() {
			if old == nil {
				a.Updated = a.Published
			} else {
				a.Updated = now
			}
		}
		if a.Updated.Before(a.Published) {
			a.Updated = a.Published
		}
		var first any
		switch {
		case old != nil && !old.FirstSeen.IsZero():
			first = micros(old.FirstSeen)
			a.FirstSeen = old.FirstSeen
		case !a.Draft:
			fs := now
			if a.Published.After(now) {
				fs = a.Published
			}
			first, a.FirstSeen = micros(fs), fs.UTC()
		}
		// The feed id is minted once, at first publication, and kept
		// whatever later changes (docs/ARCHITECTURE.md, "Feeds and caching").
		a.FeedID = ""
		if old != nil {
			a.FeedID = old.FeedID
		}
		if a.FeedID == "" && !a.FirstSeen.IsZero() {
			auth, err := feedAuthority(ctx, tx)
			if err != nil {
				return err
			}
			a.FeedID = article.FeedID(auth, a.FirstSeen, a.Slug)
		}
		args := []any{a.Slug, a.Title, a.Summary, a.Body, a.BodyHTML, a.AuthorName, a.AuthorEmail,
			img.URL, img.MediaPath, img.Alt, img.Width, img.Height, a.Link,
			micros(a.Published), micros(a.Updated), a.Draft, false, a.Source, a.SourcePath, a.ContentHash, first, a.FeedID,
			article.SearchFold(a.Title), article.EncodeKept(img.Kept), imageRef(&img)}
		if old == nil {
			if err := tx.QueryRowContext(ctx, `INSERT INTO articles (slug, title, summary, body, body_html, author_name, author_email,
				image_url, image_media_path, image_alt, image_width, image_height, link,
				published, updated, draft, removed, source, source_path, content_hash, first_seen, feed_id, title_search, image_kept, image_ref)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, args...).Scan(&a.ID); err != nil {
				return fmt.Errorf("sqlite: insert %s: %w", a.Slug, err)
			}
		} else {
			a.ID = old.ID
			if _, err := tx.ExecContext(ctx, `UPDATE articles SET slug = ?, title = ?, summary = ?, body = ?, body_html = ?, author_name = ?, author_email = ?,
				image_url = ?, image_media_path = ?, image_alt = ?, image_width = ?, image_height = ?, link = ?,
				published = ?, updated = ?, draft = ?, removed = ?, source = ?, source_path = ?, content_hash = ?, first_seen = ?, feed_id = ?,
				title_search = ?, image_kept = ?, image_ref = ? WHERE id = ?`, append(args, a.ID)...); err != nil {
				return fmt.Errorf("sqlite: update %s: %w", a.Slug, err)
			}
		}
		a.Removed = false
		if err := writeTags(ctx, tx, a); err != nil {
			return err
		}
		if err := touchFeeds(ctx, tx, now, oldTags...); err != nil {
			return err
		}
		if visibleAt(a, now) {
			return touchArticleFeeds(ctx, tx, a.ID, now)
		}
		return nil
	}()
	return changed, err
}

func writeTags(ctx context.Context, tx *sql.Tx, a *article.Article) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM article_tags WHERE article_id = ?`, a.ID); err != nil {
		return fmt.Errorf("sqlite: tags of %s: %w", a.Slug, err)
	}
	listed := !a.Draft && !a.Removed
	for i, t := range a.Tags {
		// Two names with one slug are one tag: the first name stays.
		if _, err := tx.ExecContext(ctx, `INSERT INTO tags (slug, name) VALUES (?, ?) ON CONFLICT (slug) DO NOTHING`, t.Slug, t.Name); err != nil {
			return fmt.Errorf("sqlite: tag %s: %w", t.Slug, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO article_tags (article_id, tag_id, position, published, listed)
			SELECT ?, id, ?, ?, ? FROM tags WHERE slug = ? ON CONFLICT DO NOTHING`,
			a.ID, i, micros(a.Published), listed, t.Slug); err != nil {
			return fmt.Errorf("sqlite: tag %s: %w", t.Slug, err)
		}
	}
	return nil
}

// SetRemoved marks an article removed (its file is gone) or back.
func (s *Store) SetRemoved(ctx context.Context, slug string, removed bool) error {
	now := time.Now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE articles SET removed = ? WHERE slug = ? AND removed <> ?`, removed, slug, removed)
		if err != nil {
			return fmt.Errorf("sqlite: remove %s: %w", slug, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE article_tags SET listed = (SELECT draft = 0 AND removed = 0 FROM articles WHERE id = article_id)
			WHERE article_id = (SELECT id FROM articles WHERE slug = ?)`, slug)
		if err != nil {
			return fmt.Errorf("sqlite: remove %s: %w", slug, err)
		}
		// Its feeds change whichever way it goes, if it is (or was) public.
		return touchFeedsOf(ctx, tx, slug, now, false)
	})
}

// DeleteArticle deletes an article and its tag links.
func (s *Store) DeleteArticle(ctx context.Context, slug string) error {
	now := time.Now()
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := touchFeedsOf(ctx, tx, slug, now, true); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM articles WHERE slug = ?`, slug)
		if err != nil {
			return fmt.Errorf("sqlite: delete %s: %w", slug, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return article.NotFound(slug)
		}
		return nil
	})
}

// GetArticle returns the article with the slug, whatever its state.
func (s *Store) GetArticle(ctx context.Context, slug string) (*article.Article, error) {
	a, err := scanArticle(s.r.QueryRowContext(ctx, `SELECT `+articleCols+` FROM articles WHERE slug = ?`, slug))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, article.NotFound(slug)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get %s: %w", slug, err)
	}
	one := []article.Article{*a}
	if err := tagsFor(ctx, s.r, one); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// listedWhere builds the filter of q over articles aliased a.
func listedWhere(q article.Query) (string, []any) {
	var where []string
	var args []any
	where = append(where, "a.draft = 0", "a.removed = 0")
	if !q.Now.IsZero() {
		where = append(where, "a.published <= ?")
		args = append(args, micros(q.Now))
	}
	if len(q.Tags) > 0 {
		where = append(where, `a.id IN (SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id
			WHERE t.slug IN (`+placeholders(len(q.Tags))+`) AND at.listed = 1)`)
		for _, t := range q.Tags {
			args = append(args, t)
		}
	}
	return strings.Join(where, " AND "), args
}

// ListArticles returns listed articles matching q, newest first, with tags.
func (s *Store) ListArticles(ctx context.Context, q article.Query) ([]article.Article, error) {
	if len(q.Tags) == 1 {
		// One tag: walk the (tag, listed, published) index so the newest
		// rows come first without sorting the tag's whole history.
		query := `SELECT ` + prefixCols("a") + ` FROM article_tags at
			JOIN tags t ON t.id = at.tag_id AND t.slug = ?
			JOIN articles a ON a.id = at.article_id
			WHERE at.listed = 1`
		args := []any{q.Tags[0]}
		if !q.Now.IsZero() {
			query += ` AND at.published <= ?`
			args = append(args, micros(q.Now))
		}
		query += ` ORDER BY at.published DESC, at.article_id DESC`
		query, args = limitOffset(query, args, q)
		return queryArticles(ctx, s.r, query, args...)
	}
	where, args := listedWhere(q)
	query := `SELECT ` + prefixCols("a") + ` FROM articles a WHERE ` + where + ` ORDER BY a.published DESC, a.id DESC`
	query, args = limitOffset(query, args, q)
	return queryArticles(ctx, s.r, query, args...)
}

func limitOffset(query string, args []any, q article.Query) (string, []any) {
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
		if q.Offset > 0 {
			query += ` OFFSET ?`
			args = append(args, q.Offset)
		}
	} else if q.Offset > 0 {
		query += ` LIMIT -1 OFFSET ?`
		args = append(args, q.Offset)
	}
	return query, args
}

func prefixCols(alias string) string {
	cols := strings.Split(articleCols, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// CountArticles counts listed articles matching q (Limit and Offset ignored).
func (s *Store) CountArticles(ctx context.Context, q article.Query) (int, error) {
	var n int
	if len(q.Tags) == 1 {
		// One tag: count its index range, no join with articles.
		query := `SELECT COUNT(*) FROM article_tags at JOIN tags t ON t.id = at.tag_id AND t.slug = ? WHERE at.listed = 1`
		args := []any{q.Tags[0]}
		if !q.Now.IsZero() {
			query += ` AND at.published <= ?`
			args = append(args, micros(q.Now))
		}
		if err := s.r.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			return 0, fmt.Errorf("sqlite: count articles: %w", err)
		}
		return n, nil
	}
	where, args := listedWhere(q)
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM articles a WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count articles: %w", err)
	}
	return n, nil
}

// queryer is a pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// queryArticles runs a query selecting articleCols and returns the
// articles with their tags.
func queryArticles(ctx context.Context, q queryer, query string, args ...any) ([]article.Article, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: articles: %w", err)
	}
	var out []article.Article
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlite: articles: %w", err)
		}
		out = append(out, *a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: articles: %w", err)
	}
	if err := tagsFor(ctx, q, out); err != nil {
		return nil, err
	}
	return out, nil
}

// tagsFor loads the tags of as in one query.
func tagsFor(ctx context.Context, q queryer, as []article.Article) error {
	if len(as) == 0 {
		return nil
	}
	byID := make(map[int64]*article.Article, len(as))
	args := make([]any, len(as))
	for i := range as {
		byID[as[i].ID] = &as[i]
		args[i] = as[i].ID
		as[i].Tags = nil
	}
	rows, err := q.QueryContext(ctx, `SELECT at.article_id, t.name, t.slug FROM article_tags at JOIN tags t ON t.id = at.tag_id
		WHERE at.article_id IN (`+placeholders(len(as))+`) ORDER BY at.article_id, at.position`, args...)
	if err != nil {
		return fmt.Errorf("sqlite: tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var t article.Tag
		if err := rows.Scan(&id, &t.Name, &t.Slug); err != nil {
			return fmt.Errorf("sqlite: tags: %w", err)
		}
		if a := byID[id]; a != nil {
			a.Tags = append(a.Tags, t)
		}
	}
	return rows.Err()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// ListTags returns every tag with listed articles published by now, by name.
func (s *Store) ListTags(ctx context.Context, now time.Time) ([]article.TagCount, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT t.name, t.slug, COUNT(*) FROM tags t JOIN article_tags at ON at.tag_id = t.id
		WHERE at.listed = 1 AND at.published <= ? GROUP BY t.id ORDER BY t.name COLLATE NOCASE`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list tags: %w", err)
	}
	defer rows.Close()
	var out []article.TagCount
	for rows.Next() {
		var tc article.TagCount
		if err := rows.Scan(&tc.Name, &tc.Slug, &tc.Count); err != nil {
			return nil, fmt.Errorf("sqlite: list tags: %w", err)
		}
		out = append(out, tc)
	}
	return out, rows.Err()
}

// GetTag returns the tag with the slug, if any listed article (published
// or scheduled) carries it: a tag whose articles are all gone is gone too.
func (s *Store) GetTag(ctx context.Context, slug string) (article.Tag, error) {
	t := article.Tag{Slug: slug}
	err := s.r.QueryRowContext(ctx, `SELECT name FROM tags t WHERE slug = ?
		AND EXISTS (SELECT 1 FROM article_tags at WHERE at.tag_id = t.id AND at.listed = 1)`, slug).Scan(&t.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return t, article.TagNotFound(slug)
	}
	return t, err
}

// FileArticles lists every article that came from the content folder.
func (s *Store) FileArticles(ctx context.Context) ([]article.FileRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT slug, source_path, content_hash, removed FROM articles WHERE source = ? ORDER BY source_path`, article.SourceFile)
	if err != nil {
		return nil, fmt.Errorf("sqlite: file articles: %w", err)
	}
	defer rows.Close()
	var out []article.FileRecord
	for rows.Next() {
		var f article.FileRecord
		if err := rows.Scan(&f.Slug, &f.SourcePath, &f.ContentHash, &f.Removed); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// ArticlesGeneration changes whenever any article changes, whichever
// process wrote it: feed caches poll it (docs/ARCHITECTURE.md, "Serve
// data flow").
func (s *Store) ArticlesGeneration(ctx context.Context) (int64, error) {
	var g int64
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'articles_generation'`).Scan(&g)
	if err != nil {
		return 0, fmt.Errorf("sqlite: generation: %w", err)
	}
	return g, nil
}

// NextPublication is the earliest publication time after t among listed
// articles: when a future-dated article appears, caches must rebuild.
func (s *Store) NextPublication(ctx context.Context, t time.Time) (time.Time, bool, error) {
	var v sql.NullInt64
	err := s.r.QueryRowContext(ctx, `SELECT MIN(published) FROM articles WHERE draft = 0 AND removed = 0 AND published > ?`, micros(t)).Scan(&v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("sqlite: next publication: %w", err)
	}
	if !v.Valid {
		return time.Time{}, false, nil
	}
	return fromMicros(v.Int64), true, nil
}
