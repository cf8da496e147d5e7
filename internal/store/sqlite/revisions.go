package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
)

// titleSearchVersion is the migration that added articles.title_search.
const titleSearchVersion = 14

// SaveArticle writes a as w says and records w.Revision (and w.Before, the
// version before revisions were kept) in the same transaction, so a
// revision exists exactly for each change (docs/ARCHITECTURE.md,
// "Newsroom service"). An unchanged article records nothing.
func (s *Store) SaveArticle(ctx context.Context, a *article.Article, w *store.ArticleSave, now time.Time) (changed bool, err error) {
	if a.Slug == "" {
		return false, errors.New("sqlite: article without slug")
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var cur int64
		switch w.Mode {
		case store.SaveCreateFreeSlug:
			slug, err := freeSlug(ctx, tx, a.Slug)
			if err != nil {
				return err
			}
			a.Slug = slug
		case store.SaveReplace:
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(r.id), 0) FROM article_revisions r
				JOIN articles a ON a.id = r.article_id WHERE a.slug = ?`, a.Slug).Scan(&cur); err != nil {
				return fmt.Errorf("sqlite: version of %s: %w", a.Slug, err)
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
			if _, err := tx.ExecContext(ctx, `DELETE FROM article_revisions WHERE article_id = ? AND id NOT IN
				(SELECT id FROM article_revisions WHERE article_id = ? ORDER BY id DESC LIMIT ?)`, a.ID, a.ID, w.Keep); err != nil {
				return fmt.Errorf("sqlite: prune revisions of %s: %w", a.Slug, err)
			}
		}
		return nil
	})
	return changed, err
}

func addRevision(ctx context.Context, tx *sql.Tx, articleID int64, r *store.Revision) error {
	err := tx.QueryRowContext(ctx, `INSERT INTO article_revisions (article_id, at, user_id, who, ip, fields)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, articleID, micros(r.At), r.UserID, r.Who, r.IP, string(r.Fields)).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("sqlite: add revision: %w", err)
	}
	return nil
}

// ArticleVersion is the id of the article's newest revision, 0 when it has
// none (a file article, or one saved before revisions were kept).
func (s *Store) ArticleVersion(ctx context.Context, slug string) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(r.id), 0) FROM article_revisions r
		JOIN articles a ON a.id = r.article_id WHERE a.slug = ?`, slug).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlite: version of %s: %w", slug, err)
	}
	return v, nil
}

// ArticleRevisions lists the article's revisions, newest first, without
// their fields. An unknown slug is ErrNotFound.
func (s *Store) ArticleRevisions(ctx context.Context, slug string) ([]store.Revision, error) {
	var id int64
	if err := s.r.QueryRowContext(ctx, `SELECT id FROM articles WHERE slug = ?`, slug).Scan(&id); errors.Is(err, sql.ErrNoRows) {
		return nil, article.NotFound(slug)
	} else if err != nil {
		return nil, fmt.Errorf("sqlite: revisions of %s: %w", slug, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, user_id, who, ip FROM article_revisions WHERE article_id = ? ORDER BY id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: revisions of %s: %w", slug, err)
	}
	defer rows.Close()
	out := []store.Revision{}
	for rows.Next() {
		var r store.Revision
		var at int64
		if err := rows.Scan(&r.ID, &at, &r.UserID, &r.Who, &r.IP); err != nil {
			return nil, fmt.Errorf("sqlite: revisions of %s: %w", slug, err)
		}
		r.At = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ArticleRevision is one revision of the article, with its fields; one of
// another article, or none, is ErrNotFound.
func (s *Store) ArticleRevision(ctx context.Context, slug string, id int64) (store.Revision, error) {
	var r store.Revision
	var at int64
	var fields string
	err := s.r.QueryRowContext(ctx, `SELECT r.id, r.at, r.user_id, r.who, r.ip, r.fields FROM article_revisions r
		JOIN articles a ON a.id = r.article_id WHERE a.slug = ? AND r.id = ?`, slug, id).Scan(&r.ID, &at, &r.UserID, &r.Who, &r.IP, &fields)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("revision %d of article %q: %w", id, slug, store.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("sqlite: revision %d of %s: %w", id, slug, err)
	}
	r.At, r.Fields = fromMicros(at), []byte(fields)
	return r, nil
}

// backfillTitleSearch folds the titles of articles stored before
// title_search existed: the fold is Go's (article.SearchFold), so the
// migration could not fill it.
func (s *Store) backfillTitleSearch(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `SELECT id, title FROM articles WHERE title_search = '' AND title <> ''`)
	if err != nil {
		return fmt.Errorf("sqlite: title search: %w", err)
	}
	type row struct {
		id    int64
		title string
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.title); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: title search: %w", err)
		}
		todo = append(todo, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(todo) == 0 {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, r := range todo {
			if _, err := tx.ExecContext(ctx, `UPDATE articles SET title_search = ? WHERE id = ?`, article.SearchFold(r.title), r.id); err != nil {
				return fmt.Errorf("sqlite: title search: %w", err)
			}
		}
		return nil
	})
}
