package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/herald-news/herald/internal/store"
)

// ErrNoStore is OpenExisting's answer when there is no database at the
// path; it is store.ErrNoStore, as on every backend.
var ErrNoStore = store.ErrNoStore

// OpenExisting opens the database at path like Open, but never creates
// one: a command that only reads must not answer from a fresh, empty store
// because a path was mistyped.
func OpenExisting(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("sqlite: %s: %w", path, ErrNoStore)
		}
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return Open(ctx, path)
}
