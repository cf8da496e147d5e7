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

// keptFor sets img.Kept to the kept copy of its remote image, if that
// has been fetched (docs/ARCHITECTURE.md, "Remote images"): an edited
// article keeps showing it, and a new one naming a URL fetched before
// shows it at once. The table, not the caller, says what is kept.
func keptFor(ctx context.Context, tx pgx.Tx, img *article.Image) error {
	img.Kept = nil
	if img.URL == "" {
		return nil
	}
	var kept string
	err := tx.QueryRow(ctx, `SELECT kept FROM remote_images WHERE url = $1`, img.URL).Scan(&kept)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("postgres: remote image: %w", err)
	}
	if img.Kept, err = article.DecodeKept(kept); err != nil {
		return err
	}
	if img.Kept != nil {
		img.Width, img.Height = img.Kept.Original.Width, img.Kept.Original.Height
	}
	return nil
}

// RemoteImage is what the store knows of url, or store.ErrNotFound.
func (s *Store) RemoteImage(ctx context.Context, url string) (*article.RemoteImage, error) {
	ri := article.RemoteImage{URL: url}
	var kept string
	var next int64
	err := s.pool.QueryRow(ctx, `SELECT kept, attempts, last_error, next_attempt FROM remote_images WHERE url = $1`, url).
		Scan(&kept, &ri.Attempts, &ri.LastError, &next)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: remote image %s: %w", url, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: remote image %s: %w", url, err)
	}
	if ri.Kept, err = article.DecodeKept(kept); err != nil {
		return nil, err
	}
	if next != 0 {
		ri.NextAttempt = fromMicros(next)
	}
	return &ri, nil
}

// PendingImages lists the articles (not removed) whose remote image is
// not kept yet, by URL.
func (s *Store) PendingImages(ctx context.Context) ([]article.PendingImage, error) {
	rows, err := s.pool.Query(ctx, `SELECT image_url, slug, source, source_path FROM articles
		WHERE image_url <> '' AND image_kept = '' AND NOT removed ORDER BY image_url, slug`)
	if err != nil {
		return nil, fmt.Errorf("postgres: pending images: %w", err)
	}
	defer rows.Close()
	var out []article.PendingImage
	for rows.Next() {
		var p article.PendingImage
		if err := rows.Scan(&p.URL, &p.Slug, &p.Source, &p.SourcePath); err != nil {
			return nil, fmt.Errorf("postgres: pending images: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: pending images: %w", err)
	}
	return out, nil
}

// KeepImage records k as url's kept copy and gives it to every article
// naming url, in one transaction under the article lock; it returns how
// many articles changed. Their feeds change at now.
func (s *Store) KeepImage(ctx context.Context, url string, k *article.Kept, now time.Time) (int, error) {
	if k == nil {
		return 0, errors.New("postgres: keep image: nothing kept")
	}
	kept := article.EncodeKept(k)
	n := 0
	err := s.inArticleTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO remote_images (url, kept, fetched_at) VALUES ($1, $2, $3)
			ON CONFLICT (url) DO UPDATE SET kept = excluded.kept, attempts = 0, last_error = '', next_attempt = 0,
			fetched_at = excluded.fetched_at`, url, kept, micros(now)); err != nil {
			return fmt.Errorf("postgres: keep image: %w", err)
		}
		rows, err := tx.Query(ctx, `UPDATE articles SET image_kept = $1, image_width = $2, image_height = $3
			WHERE image_url = $4 AND image_kept <> $1 RETURNING slug`, kept, k.Original.Width, k.Original.Height, url)
		if err != nil {
			return fmt.Errorf("postgres: keep image: %w", err)
		}
		slugs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("postgres: keep image: %w", err)
		}
		for _, slug := range slugs {
			if err := touchFeedsOf(ctx, tx, slug, now, true); err != nil {
				return err
			}
		}
		n = len(slugs)
		return nil
	})
	return n, err
}

// ImageFailed records a failed fetch of url: one more attempt, its
// error, and when to try again.
func (s *Store) ImageFailed(ctx context.Context, url, msg string, retryAt time.Time) error {
	if _, err := s.pool.Exec(ctx, `INSERT INTO remote_images (url, attempts, last_error, next_attempt) VALUES ($1, 1, $2, $3)
		ON CONFLICT (url) DO UPDATE SET attempts = remote_images.attempts + 1, last_error = excluded.last_error,
		next_attempt = excluded.next_attempt`, url, msg, micros(retryAt)); err != nil {
		return fmt.Errorf("postgres: image failed: %w", err)
	}
	return nil
}
