package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/jackc/pgx/v5"
)

// articlesLock is the advisory lock every article write takes first, so
// article writes from all instances run one at a time, as on SQLite: a
// slug checked free stays free until the insert, and an id minted before
// the feed authority is fixed is completed by FixFeedAuthority. Article
// writes are rare (content sync, API), so this costs nothing that matters.
const articlesLock int64 = 0x686572616c6461 // "heralda"

// inArticleTx runs fn in a transaction holding articlesLock.
func (s *Store) inArticleTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, articlesLock); err != nil {
			return fmt.Errorf("postgres: article lock: %w", err)
		}
		return fn(tx)
	})
}

const articleCols = `id, slug, title, summary, body, body_html, author_name, author_email,
	image_url, image_media_path, image_alt, image_width, image_height, link,
	published, updated, draft, removed, source, source_path, content_hash, first_seen, feed_id, image_kept`

func scanArticle(sc pgx.Row) (*article.Article, error) {
	var a article.Article
	var img article.Image
	var pub, upd int64
	var kept string
	var first *int64
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
	if first != nil {
		a.FirstSeen = fromMicros(*first)
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
// transaction under the article lock, so two creators of one slug, in any
// instances, cannot both succeed.
func (s *Store) CreateArticle(ctx context.Context, a *article.Article, now time.Time) error {
	_, err := s.upsertArticle(ctx, a, now, true)
	return err
}

// CreateArticleFreeSlug stores a new article under a.Slug or, when that
// is taken by any article, under the first free a.Slug-2, a.Slug-3, …,
// and sets a.Slug to the one used. Choosing and inserting are one
// transaction under the article lock, so two creators of one slug get two
// slugs. It is for slugs derived from a title (docs/ARCHITECTURE.md,
// "Articles and slugs"); a slug the client chose belongs to CreateArticle.
func (s *Store) CreateArticleFreeSlug(ctx context.Context, a *article.Article, now time.Time) error {
	if a.Slug == "" {
		return errors.New("postgres: article without slug")
	}
	base := a.Slug
	return s.inArticleTx(ctx, func(tx pgx.Tx) error {
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
// free N ≥ 2. One range scan of the slug index (byte order) reads every
// candidate.
func freeSlug(ctx context.Context, tx pgx.Tx, base string) (string, error) {
	prefix := base + "-"
	// '.' follows '-' in byte order: [base-, base.) is every slug with the prefix.
	rows, err := tx.Query(ctx, `SELECT slug FROM articles WHERE slug = $1 OR (slug >= $2 AND slug < $3)`,
		base, prefix, base+".")
	if err != nil {
		return "", fmt.Errorf("postgres: free slug %s: %w", base, err)
	}
	taken := map[int]bool{}
	baseTaken := false
	var s string
	_, err = pgx.ForEachRow(rows, []any{&s}, func() error {
		if s == base {
			baseTaken = true
		} else if n, err := strconv.Atoi(strings.TrimPrefix(s, prefix)); err == nil && n >= 2 {
			taken[n] = true
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("postgres: free slug %s: %w", base, err)
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
		return false, errors.New("postgres: article without slug")
	}
	err = s.inArticleTx(ctx, func(tx pgx.Tx) error {
		changed, err = upsertArticleTx(ctx, tx, a, now, createOnly)
		return err
	})
	return changed, err
}

func upsertArticleTx(ctx context.Context, tx pgx.Tx, a *article.Article, now time.Time, createOnly bool) (changed bool, err error) {
	old, err := scanArticle(tx.QueryRow(ctx, `SELECT `+articleCols+` FROM articles WHERE slug = $1`, a.Slug))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		old = nil
	case err != nil:
		return false, fmt.Errorf("postgres: get %s: %w", a.Slug, err)
	}
	var oldTags []string // the feeds old was listed in ('' the site's)
	if old != nil && createOnly {
		return false, article.AlreadyExists(a.Slug)
	}
	if old != nil {
		if err := article.SlugConflict(old, a); err != nil {
			return false, err
		}
		if old.ContentHash == a.ContentHash && a.ContentHash != "" && !old.Removed && old.SourcePath == a.SourcePath {
			tags := a.Tags // same source, same tags; old was read without them
			*a = *old
			a.Tags = tags
			return false, nil
		}
	}
	if old != nil && visibleAt(old, now) {
		// Read before writeTags replaces them: a tag the article leaves
		// changes too.
		if oldTags, err = tagSlugsOf(ctx, tx, old.ID); err != nil {
			return false, err
		}
		oldTags = append(oldTags, "")
	}
	img := article.Image{}
	if a.Image != nil {
		if err := keptFor(ctx, tx, a.Image); err != nil {
			return false, err
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
	var first *int64
	switch {
	case old != nil && !old.FirstSeen.IsZero():
		v := micros(old.FirstSeen)
		first, a.FirstSeen = &v, old.FirstSeen
	case !a.Draft:
		fs := now
		if a.Published.After(now) {
			fs = a.Published
		}
		v := micros(fs)
		first, a.FirstSeen = &v, fs.UTC()
	}
	// The feed id is minted once, at first publication, and kept whatever
	// later changes (docs/ARCHITECTURE.md, "Feeds and caching").
	a.FeedID = ""
	if old != nil {
		a.FeedID = old.FeedID
	}
	if a.FeedID == "" && !a.FirstSeen.IsZero() {
		auth, err := feedAuthority(ctx, tx)
		if err != nil {
			return false, err
		}
		a.FeedID = article.FeedID(auth, a.FirstSeen, a.Slug)
	}
	args := []any{a.Slug, a.Title, a.Summary, a.Body, a.BodyHTML, a.AuthorName, a.AuthorEmail,
		img.URL, img.MediaPath, img.Alt, img.Width, img.Height, a.Link,
		micros(a.Published), micros(a.Updated), a.Draft, false, a.Source, a.SourcePath, a.ContentHash, first, a.FeedID,
		article.SearchFold(a.Title), article.EncodeKept(img.Kept), imageRef(&img)}
	if old == nil {
		err := tx.QueryRow(ctx, `INSERT INTO articles (slug, title, summary, body, body_html, author_name, author_email,
			image_url, image_media_path, image_alt, image_width, image_height, link,
			published, updated, draft, removed, source, source_path, content_hash, first_seen, feed_id, title_search, image_kept, image_ref)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
			RETURNING id`, args...).Scan(&a.ID)
		if err != nil {
			return false, fmt.Errorf("postgres: insert %s: %w", a.Slug, storeErr(err))
		}
	} else {
		a.ID = old.ID
		if _, err := tx.Exec(ctx, `UPDATE articles SET slug = $1, title = $2, summary = $3, body = $4, body_html = $5,
			author_name = $6, author_email = $7, image_url = $8, image_media_path = $9, image_alt = $10,
			image_width = $11, image_height = $12, link = $13, published = $14, updated = $15, draft = $16,
			removed = $17, source = $18, source_path = $19, content_hash = $20, first_seen = $21, feed_id = $22,
			title_search = $23, image_kept = $24, image_ref = $25 WHERE id = $26`, append(args, a.ID)...); err != nil {
			return false, fmt.Errorf("postgres: update %s: %w", a.Slug, err)
		}
	}
	a.Removed = false
	if err := writeTags(ctx, tx, a); err != nil {
		return false, err
	}
	if err := touchFeeds(ctx, tx, now, oldTags...); err != nil {
		return false, err
	}
	if visibleAt(a, now) {
		if err := touchArticleFeeds(ctx, tx, a.ID, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

func writeTags(ctx context.Context, tx pgx.Tx, a *article.Article) error {
	if _, err := tx.Exec(ctx, `DELETE FROM article_tags WHERE article_id = $1`, a.ID); err != nil {
		return fmt.Errorf("postgres: tags of %s: %w", a.Slug, err)
	}
	listed := !a.Draft && !a.Removed
	for i, t := range a.Tags {
		// Two names with one slug are one tag: the first name stays.
		if _, err := tx.Exec(ctx, `INSERT INTO tags (slug, name) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING`, t.Slug, t.Name); err != nil {
			return fmt.Errorf("postgres: tag %s: %w", t.Slug, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO article_tags (article_id, tag_id, position, published, listed)
			SELECT $1, id, $2, $3, $4 FROM tags WHERE slug = $5 ON CONFLICT DO NOTHING`,
			a.ID, i, micros(a.Published), listed, t.Slug); err != nil {
			return fmt.Errorf("postgres: tag %s: %w", t.Slug, err)
		}
	}
	return nil
}

// SetRemoved marks an article removed (its file is gone) or back.
func (s *Store) SetRemoved(ctx context.Context, slug string, removed bool) error {
	now := time.Now()
	return s.inArticleTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE articles SET removed = $1 WHERE slug = $2 AND removed <> $1`, removed, slug)
		if err != nil {
			return fmt.Errorf("postgres: remove %s: %w", slug, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `UPDATE article_tags SET listed = a.listed
			FROM (SELECT id, NOT draft AND NOT removed AS listed FROM articles WHERE slug = $1) a
			WHERE article_id = a.id`, slug); err != nil {
			return fmt.Errorf("postgres: remove %s: %w", slug, err)
		}
		// Its feeds change whichever way it goes, if it is (or was) public.
		return touchFeedsOf(ctx, tx, slug, now, false)
	})
}

// DeleteArticle deletes an article and its tag links.
func (s *Store) DeleteArticle(ctx context.Context, slug string) error {
	now := time.Now()
	return s.inArticleTx(ctx, func(tx pgx.Tx) error {
		if err := touchFeedsOf(ctx, tx, slug, now, true); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM articles WHERE slug = $1`, slug)
		if err != nil {
			return fmt.Errorf("postgres: delete %s: %w", slug, err)
		}
		if tag.RowsAffected() == 0 {
			return article.NotFound(slug)
		}
		return nil
	})
}

// GetArticle returns the article with the slug, whatever its state.
func (s *Store) GetArticle(ctx context.Context, slug string) (*article.Article, error) {
	a, err := scanArticle(s.pool.QueryRow(ctx, `SELECT `+articleCols+` FROM articles WHERE slug = $1`, slug))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, article.NotFound(slug)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get %s: %w", slug, err)
	}
	one := []article.Article{*a}
	if err := tagsFor(ctx, s.pool, one); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// args numbers query parameters as they are added.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// listedWhere builds the filter of q over articles aliased a.
func listedWhere(q article.Query, p *args) string {
	where := []string{"NOT a.draft", "NOT a.removed"}
	if !q.Now.IsZero() {
		where = append(where, "a.published <= "+p.add(micros(q.Now)))
	}
	if len(q.Tags) > 0 {
		where = append(where, `a.id IN (SELECT at.article_id FROM article_tags at JOIN tags t ON t.id = at.tag_id
			WHERE t.slug = ANY(`+p.add(q.Tags)+`) AND at.listed)`)
	}
	return strings.Join(where, " AND ")
}

// ListArticles returns listed articles matching q, newest first, with tags.
func (s *Store) ListArticles(ctx context.Context, q article.Query) ([]article.Article, error) {
	var p args
	var query string
	if len(q.Tags) == 1 {
		// One tag: walk the (tag, listed, published) index so the newest
		// rows come first without sorting the tag's whole history.
		query = `SELECT ` + prefixCols("a") + ` FROM article_tags at
			JOIN tags t ON t.id = at.tag_id AND t.slug = ` + p.add(q.Tags[0]) + `
			JOIN articles a ON a.id = at.article_id
			WHERE at.listed`
		if !q.Now.IsZero() {
			query += ` AND at.published <= ` + p.add(micros(q.Now))
		}
		query += ` ORDER BY at.published DESC, at.article_id DESC`
	} else {
		query = `SELECT ` + prefixCols("a") + ` FROM articles a WHERE ` + listedWhere(q, &p) + ` ORDER BY a.published DESC, a.id DESC`
	}
	if q.Limit > 0 {
		query += ` LIMIT ` + p.add(q.Limit)
	}
	if q.Offset > 0 {
		query += ` OFFSET ` + p.add(q.Offset)
	}
	return queryArticles(ctx, s.pool, query, p...)
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
	var p args
	var query string
	if len(q.Tags) == 1 {
		// One tag: count its index range, no join with articles.
		query = `SELECT COUNT(*) FROM article_tags at JOIN tags t ON t.id = at.tag_id AND t.slug = ` + p.add(q.Tags[0]) + ` WHERE at.listed`
		if !q.Now.IsZero() {
			query += ` AND at.published <= ` + p.add(micros(q.Now))
		}
	} else {
		query = `SELECT COUNT(*) FROM articles a WHERE ` + listedWhere(q, &p)
	}
	var n int
	if err := s.pool.QueryRow(ctx, query, p...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count articles: %w", err)
	}
	return n, nil
}

// queryArticles runs a query selecting articleCols and returns the
// articles with their tags.
func queryArticles(ctx context.Context, q queryer, query string, args ...any) ([]article.Article, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: articles: %w", err)
	}
	var out []article.Article
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: articles: %w", err)
		}
		out = append(out, *a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: articles: %w", err)
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
	ids := make([]int64, len(as))
	for i := range as {
		byID[as[i].ID] = &as[i]
		ids[i] = as[i].ID
		as[i].Tags = nil
	}
	rows, err := q.Query(ctx, `SELECT at.article_id, t.name, t.slug FROM article_tags at JOIN tags t ON t.id = at.tag_id
		WHERE at.article_id = ANY($1) ORDER BY at.article_id, at.position`, ids)
	if err != nil {
		return fmt.Errorf("postgres: tags: %w", err)
	}
	var id int64
	var t article.Tag
	_, err = pgx.ForEachRow(rows, []any{&id, &t.Name, &t.Slug}, func() error {
		if a := byID[id]; a != nil {
			a.Tags = append(a.Tags, t)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: tags: %w", err)
	}
	return nil
}

// ListTags returns every tag with listed articles published by now, by
// name ignoring ASCII case in byte order, as SQLite's COLLATE NOCASE sorts.
func (s *Store) ListTags(ctx context.Context, now time.Time) ([]article.TagCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT t.name, t.slug, COUNT(*) FROM tags t JOIN article_tags at ON at.tag_id = t.id
		WHERE at.listed AND at.published <= $1 GROUP BY t.id
		ORDER BY translate(t.name, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz') COLLATE "C", t.id`, micros(now))
	if err != nil {
		return nil, fmt.Errorf("postgres: list tags: %w", err)
	}
	var out []article.TagCount
	var tc article.TagCount
	_, err = pgx.ForEachRow(rows, []any{&tc.Name, &tc.Slug, &tc.Count}, func() error {
		out = append(out, tc)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: list tags: %w", err)
	}
	return out, nil
}

// GetTag returns the tag with the slug, if any listed article (published
// or scheduled) carries it: a tag whose articles are all gone is gone too.
func (s *Store) GetTag(ctx context.Context, slug string) (article.Tag, error) {
	t := article.Tag{Slug: slug}
	err := s.pool.QueryRow(ctx, `SELECT name FROM tags t WHERE slug = $1
		AND EXISTS (SELECT 1 FROM article_tags at WHERE at.tag_id = t.id AND at.listed)`, slug).Scan(&t.Name)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, article.TagNotFound(slug)
	}
	if err != nil {
		return t, fmt.Errorf("postgres: tag %s: %w", slug, err)
	}
	return t, nil
}

// FileArticles lists every article that came from the content folder.
func (s *Store) FileArticles(ctx context.Context) ([]article.FileRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT slug, source_path, content_hash, removed FROM articles WHERE source = $1 ORDER BY source_path, id`, article.SourceFile)
	if err != nil {
		return nil, fmt.Errorf("postgres: file articles: %w", err)
	}
	var out []article.FileRecord
	var f article.FileRecord
	_, err = pgx.ForEachRow(rows, []any{&f.Slug, &f.SourcePath, &f.ContentHash, &f.Removed}, func() error {
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: file articles: %w", err)
	}
	return out, nil
}

// ArticlesGeneration changes whenever any article changes, whichever
// instance wrote it: feed caches poll it, and ArticleChanges wakes them
// sooner (docs/ARCHITECTURE.md, "Serve data flow").
func (s *Store) ArticlesGeneration(ctx context.Context) (int64, error) {
	var g int64
	err := s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = 'articles_generation'`).Scan(&g)
	if err != nil {
		return 0, fmt.Errorf("postgres: generation: %w", err)
	}
	return g, nil
}

// NextPublication is the earliest publication time after t among listed
// articles: when a future-dated article appears, caches must rebuild.
func (s *Store) NextPublication(ctx context.Context, t time.Time) (time.Time, bool, error) {
	var v *int64
	err := s.pool.QueryRow(ctx, `SELECT MIN(published) FROM articles WHERE NOT draft AND NOT removed AND published > $1`, micros(t)).Scan(&v)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("postgres: next publication: %w", err)
	}
	if v == nil {
		return time.Time{}, false, nil
	}
	return fromMicros(*v), true, nil
}
