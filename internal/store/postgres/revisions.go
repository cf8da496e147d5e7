package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
	"github.com/jackc/pgx/v5"
)

// titleSearchVersion is the migration that added articles.title_search.
const titleSearchVersion = 7

// SaveArticle writes a as w says and records w.Revision (and w.Before, the
// version before revisions were kept) in the same transaction, under the
// article lock, so a revision exists exactly for each change and a base
// check cannot race (docs/ARCHITECTURE.md, "Newsroom service"). An
// unchanged article records nothing.
func (s *Store) SaveArticle(ctx context.Context, a *article.Article, w *store.ArticleSave, now time.Time) (changed bool, err error) {
	if a.Slug == "" {
		return false, errors.New("postgres: article without slug")
	}
	err = s.inArticleTx(ctx, func(tx pgx.Tx) error {
		var cur int64
		switch w.Mode {
		case store.SaveCreateFreeSlug:
			slug, err := freeSlug(ctx, tx, a.Slug)
			if err != nil {
				return err
			}
			a.Slug = slug
		case store.SaveReplace:
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(r.id), 0) FROM article_revisions r
				JOIN articles a ON a.id = r.article_id WHERE a.slug = $1`, a.Slug).Scan(&cur); err != nil {
				return fmt.Errorf("postgres: version of %s: %w", a.Slug, err)
			}
			if err := w.Check(a.Slug, cur); err != nil {
				return err
			}
		}
		var err error
		if changed, err = upsertArticleTx(ctx, tx, a, now, w.Mode != store.SaveReplace); err != nil || !changed {
			return err
		}
		if w.RecordBefore(cur) {
			if err := addRevision(ctx, tx, a.ID, w.Before); err != nil {
				return err
			}
		}
		if err := addRevision(ctx, tx, a.ID, &w.Revision); err != nil {
			return err
		}
		if w.Keep > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM article_revisions WHERE article_id = $1 AND id NOT IN
				(SELECT id FROM article_revisions WHERE article_id = $1 ORDER BY id DESC LIMIT $2)`, a.ID, w.Keep); err != nil {
				return fmt.Errorf("postgres: prune revisions of %s: %w", a.Slug, err)
			}
		}
		return nil
	})
	return changed, err
}

func addRevision(ctx context.Context, tx pgx.Tx, articleID int64, r *store.Revision) error {
	err := tx.QueryRow(ctx, `INSERT INTO article_revisions (article_id, at, user_id, who, ip, fields)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, articleID, micros(r.At), r.UserID, r.Who, r.IP, string(r.Fields)).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("postgres: add revision: %w", err)
	}
	return nil
}

// ArticleVersion is the id of the article's newest revision, 0 when it has
// none (a file article, or one saved before revisions were kept).
func (s *Store) ArticleVersion(ctx context.Context, slug string) (int64, error) {
	var v int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(r.id), 0) FROM article_revisions r
		JOIN articles a ON a.id = r.article_id WHERE a.slug = $1`, slug).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("postgres: version of %s: %w", slug, err)
	}
	return v, nil
}

// ArticleRevisions lists the article's revisions, newest first, without
// their fields. An unknown slug is ErrNotFound.
func (s *Store) ArticleRevisions(ctx context.Context, slug string) ([]store.Revision, error) {
	var id int64
	if err := s.pool.QueryRow(ctx, `SELECT id FROM articles WHERE slug = $1`, slug).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
		return nil, article.NotFound(slug)
	} else if err != nil {
		return nil, fmt.Errorf("postgres: revisions of %s: %w", slug, err)
	}
	rows, err := s.pool.Query(ctx, `SELECT id, at, user_id, who, ip FROM article_revisions WHERE article_id = $1 ORDER BY id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("postgres: revisions of %s: %w", slug, err)
	}
	defer rows.Close()
	out := []store.Revision{}
	for rows.Next() {
		var r store.Revision
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.UserID, &r.Who, &r.IP); err != nil {
			return nil, fmt.Errorf("postgres: revisions of %s: %w", slug, err)
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: revisions of %s: %w", slug, err)
	}
	return out, nil
}

// ArticleRevision is one revision of the article, with its fields; one of
// another article, or none, is ErrNotFound.
func (s *Store) ArticleRevision(ctx context.Context, slug string, id int64) (store.Revision, error) {
	var r store.Revision
	var at int64
	var fields string
	err := s.pool.QueryRow(ctx, `SELECT r.id, r.at, r.user_id, r.who, r.ip, r.fields FROM article_revisions r
		JOIN articles a ON a.id = r.article_id WHERE a.slug = $1 AND r.id = $2`, slug, id).Scan(&r.ID, &at, &r.UserID, &r.Who, &r.IP, &fields)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("revision %d of article %q: %w", id, slug, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("postgres: revision %d of %s: %w", id, slug, err)
	}
	r.At, r.Fields = fromMicros(at), []byte(fields)
	return r, nil
}

// backfillTitleSearch folds the titles of articles stored before
// title_search existed: the fold is Go's (article.SearchFold), so the
// migration could not fill it. Instances starting together may both
// write the same values.
func (s *Store) backfillTitleSearch(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT id, title FROM articles WHERE title_search = '' AND title <> ''`)
	if err != nil {
		return fmt.Errorf("postgres: title search: %w", err)
	}
	var ids []int64
	var folded []string
	for rows.Next() {
		var id int64
		var title string
		if err := rows.Scan(&id, &title); err != nil {
			rows.Close()
			return fmt.Errorf("postgres: title search: %w", err)
		}
		ids, folded = append(ids, id), append(folded, article.SearchFold(title))
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE articles a SET title_search = v.f FROM unnest($1::bigint[], $2::text[]) AS v(id, f) WHERE a.id = v.id`, ids, folded)
	if err != nil {
		return fmt.Errorf("postgres: title search: %w", err)
	}
	return nil
}
