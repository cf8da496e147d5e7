package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/store"
)

// Uploaded images and their files (docs/ARCHITECTURE.md, "Media"). The
// rules (what is stored, what counts as a use) are the media package's;
// these methods keep the rows. A file's variant is 0 for the original and
// its width for a derivative.

// PutMedia stores it and its files unless an upload with its hash
// exists; it returns the stored item (without Data) and whether this
// call stored it.
func (s *Store) PutMedia(ctx context.Context, it media.Item) (media.Item, bool, error) {
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO media (hash, name, created_at, created_by) VALUES (?, ?, ?, ?)
			ON CONFLICT (hash) DO NOTHING`, it.Hash, it.Name, micros(it.CreatedAt), it.CreatedBy)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		created = true
		for variant, f := range media.Variants(it) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO media_files (hash, variant, width, height, content_type, size, data)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, it.Hash, variant, f.Width, f.Height, f.ContentType, len(f.Data), f.Data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return media.Item{}, false, fmt.Errorf("sqlite: put media %s: %w", it.Hash, err)
	}
	got, err := s.Media(ctx, it.Hash)
	return got, created, err
}

// Media describes the upload hash, without its bytes.
func (s *Store) Media(ctx context.Context, hash string) (media.Item, error) {
	items, err := s.listMedia(ctx, `WHERE m.hash = ?`, hash)
	if err != nil {
		return media.Item{}, err
	}
	if len(items) == 0 {
		return media.Item{}, fmt.Errorf("sqlite: media %s: %w", hash, store.ErrNotFound)
	}
	return items[0], nil
}

// ListMedia describes every upload, newest first.
func (s *Store) ListMedia(ctx context.Context) ([]media.Item, error) {
	return s.listMedia(ctx, "")
}

func (s *Store) listMedia(ctx context.Context, where string, args ...any) ([]media.Item, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.hash, m.name, m.created_at, m.created_by,
			f.variant, f.width, f.height, f.content_type, f.size
		FROM media m JOIN media_files f ON f.hash = m.hash `+where+`
		ORDER BY m.created_at DESC, m.hash, f.variant`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list media: %w", err)
	}
	defer rows.Close()
	var c media.Collector
	for rows.Next() {
		var it media.Item
		var f media.File
		var created int64
		var variant int
		if err := rows.Scan(&it.Hash, &it.Name, &created, &it.CreatedBy, &variant, &f.Width, &f.Height, &f.ContentType, &f.Size); err != nil {
			return nil, fmt.Errorf("sqlite: list media: %w", err)
		}
		it.CreatedAt = fromMicros(created)
		c.Add(it, variant, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list media: %w", err)
	}
	return c.Items(), nil
}

// MediaBytes is one file of upload hash: variant 0 the original, else the
// derivative that wide.
func (s *Store) MediaBytes(ctx context.Context, hash string, variant int) (media.File, error) {
	var f media.File
	err := s.r.QueryRowContext(ctx, `SELECT width, height, content_type, size, data FROM media_files WHERE hash = ? AND variant = ?`,
		hash, variant).Scan(&f.Width, &f.Height, &f.ContentType, &f.Size, &f.Data)
	if errors.Is(err, sql.ErrNoRows) {
		return media.File{}, fmt.Errorf("sqlite: media %s/%d: %w", hash, variant, store.ErrNotFound)
	}
	if err != nil {
		return media.File{}, fmt.Errorf("sqlite: media %s/%d: %w", hash, variant, err)
	}
	return f, nil
}

// usesMedia matches the articles that hold media.Ref in their image or
// body (?1 is the ref).
const usesMedia = `instr(image_media_path, ?1) > 0 OR instr(image_url, ?1) > 0 OR instr(body, ?1) > 0
	OR instr(image_kept, ?1) > 0`

// MediaUsage lists the articles using upload hash, by slug.
func (s *Store) MediaUsage(ctx context.Context, hash string) ([]media.Use, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT slug, title FROM articles WHERE `+usesMedia+` ORDER BY slug`, media.Ref(hash))
	if err != nil {
		return nil, fmt.Errorf("sqlite: media usage: %w", err)
	}
	defer rows.Close()
	var out []media.Use
	for rows.Next() {
		var u media.Use
		if err := rows.Scan(&u.Slug, &u.Title); err != nil {
			return nil, fmt.Errorf("sqlite: media usage: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: media usage: %w", err)
	}
	return out, nil
}

// DeleteMedia deletes upload hash and its files unless an article uses
// it (media.ErrInUse), in one transaction.
func (s *Store) DeleteMedia(ctx context.Context, hash string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var used bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM articles WHERE `+usesMedia+`)`, media.Ref(hash)).Scan(&used); err != nil {
			return err
		}
		if used {
			return media.ErrInUse
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM media WHERE hash = ?`, hash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		// A remote image kept as this upload is fetched again when an
		// article names it next (docs/ARCHITECTURE.md, "Remote images").
		_, err = tx.ExecContext(ctx, `DELETE FROM remote_images WHERE instr(kept, ?1) > 0 OR instr(ref, ?1) > 0`, media.Ref(hash))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete media %s: %w", hash, err)
	}
	return nil
}
