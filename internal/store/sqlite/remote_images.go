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

// imageRef is the reference an article's image is kept under ("" none).
func imageRef(img *article.Image) string {
	if img == nil || (img.URL == "" && img.MediaPath == "") {
		return ""
	}
	return img.Ref()
}

// keptFor sets img.Kept to the kept copy of its image, if that has been
// made (docs/ARCHITECTURE.md, "Remote images"): an edited article keeps
// showing it, and a new one naming an image kept before shows it at once.
// The table, not the caller, says what is kept.
func keptFor(ctx context.Context, tx *sql.Tx, img *article.Image) error {
	img.Kept = nil
	ref := imageRef(img)
	if ref == "" {
		return nil
	}
	var kept string
	err := tx.QueryRowContext(ctx, `SELECT kept FROM remote_images WHERE ref = ?`, ref).Scan(&kept)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: kept image: %w", err)
	}
	if img.Kept, err = article.DecodeKept(kept); err != nil {
		return err
	}
	if img.Kept != nil {
		img.Width, img.Height = img.Kept.Original.Width, img.Kept.Original.Height
	}
	return nil
}

// RemoteImage is what the store knows of the image ref, or
// store.ErrNotFound.
func (s *Store) RemoteImage(ctx context.Context, ref string) (*article.RemoteImage, error) {
	ri := article.RemoteImage{Ref: ref}
	var kept string
	var next int64
	err := s.r.QueryRowContext(ctx, `SELECT kept, attempts, last_error, next_attempt FROM remote_images WHERE ref = ?`, ref).
		Scan(&kept, &ri.Attempts, &ri.LastError, &next)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: kept image %s: %w", ref, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: kept image %s: %w", ref, err)
	}
	if ri.Kept, err = article.DecodeKept(kept); err != nil {
		return nil, err
	}
	if next != 0 {
		ri.NextAttempt = fromMicros(next)
	}
	return &ri, nil
}

// PendingImages lists the articles (not removed) whose image is not kept
// yet, by reference, with the attempts so far.
func (s *Store) PendingImages(ctx context.Context) ([]article.PendingImage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT a.image_ref, a.slug, a.source, a.source_path,
		COALESCE(r.attempts, 0), COALESCE(r.last_error, ''), COALESCE(r.next_attempt, 0)
		FROM articles a LEFT JOIN remote_images r ON r.ref = a.image_ref
		WHERE a.image_ref <> '' AND a.image_kept = '' AND a.removed = 0 ORDER BY a.image_ref, a.slug`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: pending images: %w", err)
	}
	defer rows.Close()
	var out []article.PendingImage
	for rows.Next() {
		var p article.PendingImage
		var next int64
		if err := rows.Scan(&p.Ref, &p.Slug, &p.Source, &p.SourcePath, &p.Attempts, &p.LastError, &next); err != nil {
			return nil, fmt.Errorf("sqlite: pending images: %w", err)
		}
		if next != 0 {
			p.NextAttempt = fromMicros(next)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: pending images: %w", err)
	}
	return out, nil
}

// KeptFiles lists the kept content-folder images that an article (not
// removed) shows, by reference, with failed attempts to cut a
// replacement: the ones a sync checks for replacement.
func (s *Store) KeptFiles(ctx context.Context) ([]article.RemoteImage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT ref, kept, attempts, last_error, next_attempt FROM remote_images r
		WHERE kept <> '' AND ref LIKE '/%' AND ref NOT LIKE '/media/u/%'
		AND EXISTS (SELECT 1 FROM articles a WHERE a.image_ref = r.ref AND a.removed = 0) ORDER BY ref`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: kept files: %w", err)
	}
	defer rows.Close()
	var out []article.RemoteImage
	for rows.Next() {
		var ri article.RemoteImage
		var kept string
		var next int64
		if err := rows.Scan(&ri.Ref, &kept, &ri.Attempts, &ri.LastError, &next); err != nil {
			return nil, fmt.Errorf("sqlite: kept files: %w", err)
		}
		if ri.Kept, err = article.DecodeKept(kept); err != nil {
			return nil, err
		}
		if next != 0 {
			ri.NextAttempt = fromMicros(next)
		}
		out = append(out, ri)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: kept files: %w", err)
	}
	return out, nil
}

// KeepImage records k as the kept copy of the image ref and gives it to
// every article naming ref, in one transaction; it returns how many
// articles changed. Their feeds change at now.
func (s *Store) KeepImage(ctx context.Context, ref string, k *article.Kept, now time.Time) (int, error) {
	if k == nil {
		return 0, errors.New("sqlite: keep image: nothing kept")
	}
	kept := article.EncodeKept(k)
	n := 0
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO remote_images (ref, kept, fetched_at) VALUES (?, ?, ?)
			ON CONFLICT (ref) DO UPDATE SET kept = excluded.kept, attempts = 0, last_error = '', next_attempt = 0,
			fetched_at = excluded.fetched_at`, ref, kept, micros(now)); err != nil {
			return fmt.Errorf("sqlite: keep image: %w", err)
		}
		rows, err := tx.QueryContext(ctx, `UPDATE articles SET image_kept = ?, image_width = ?, image_height = ?
			WHERE image_ref = ? AND image_kept <> ? RETURNING slug`, kept, k.Original.Width, k.Original.Height, ref, kept)
		if err != nil {
			return fmt.Errorf("sqlite: keep image: %w", err)
		}
		var slugs []string
		for rows.Next() {
			var slug string
			if err := rows.Scan(&slug); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: keep image: %w", err)
			}
			slugs = append(slugs, slug)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: keep image: %w", err)
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

// ImageFailed records a failed attempt to keep the image ref: one more
// attempt, its error, and when to try again.
func (s *Store) ImageFailed(ctx context.Context, ref, msg string, retryAt time.Time) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO remote_images (ref, attempts, last_error, next_attempt) VALUES (?, 1, ?, ?)
		ON CONFLICT (ref) DO UPDATE SET attempts = remote_images.attempts + 1, last_error = excluded.last_error,
		next_attempt = excluded.next_attempt`, ref, msg, micros(retryAt)); err != nil {
		return fmt.Errorf("sqlite: image failed: %w", err)
	}
	return nil
}
