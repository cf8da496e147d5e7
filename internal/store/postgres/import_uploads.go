package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-news/herald/internal/store"
)

// PutImportUpload keeps u until it is taken or expires. The uploader's
// earlier upload and every expired one go in the same transaction: a
// user has at most one upload waiting.
func (s *Store) PutImportUpload(ctx context.Context, u store.ImportUpload, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM import_uploads WHERE user_id = $1 OR expires_at <= $2`, u.UserID, micros(now)); err != nil {
			return fmt.Errorf("postgres: put import upload: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO import_uploads (id, user_id, name, confirmed, send_optin, data, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, u.ID, u.UserID, u.Name, u.Confirmed, u.SendOptin, u.Data, micros(u.Expires)); err != nil {
			return fmt.Errorf("postgres: put import upload: %w", err)
		}
		return nil
	})
}

// TakeImportUpload removes and returns the user's upload with the id;
// store.ErrNotFound when there is none, it is another user's, it was
// taken already or it expired before now.
func (s *Store) TakeImportUpload(ctx context.Context, id string, userID int64, now time.Time) (store.ImportUpload, error) {
	u := store.ImportUpload{ID: id, UserID: userID}
	var exp int64
	err := s.pool.QueryRow(ctx, `DELETE FROM import_uploads WHERE id = $1 AND user_id = $2
		RETURNING name, confirmed, send_optin, data, expires_at`, id, userID).Scan(&u.Name, &u.Confirmed, &u.SendOptin, &u.Data, &exp)
	if err != nil {
		return store.ImportUpload{}, userErr("take import upload", err)
	}
	if u.Expires = fromMicros(exp); !now.Before(u.Expires) {
		return store.ImportUpload{}, fmt.Errorf("postgres: take import upload: expired: %w", store.ErrNotFound)
	}
	return u, nil
}

// PruneImportUploads deletes the uploads expired before now: a CSV of
// people's addresses is not kept past its confirmation window.
func (s *Store) PruneImportUploads(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.pool.Exec(ctx, `DELETE FROM import_uploads WHERE expires_at <= $1`, micros(now))
	if err != nil {
		return 0, fmt.Errorf("postgres: prune import uploads: %w", err)
	}
	return res.RowsAffected(), nil
}
