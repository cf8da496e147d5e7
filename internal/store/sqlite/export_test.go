package sqlite

import "context"

// ExecForTest runs raw SQL on the writer, for tests that need a state the
// API cannot make.
func (s *Store) ExecForTest(ctx context.Context, q string, args ...any) error {
	_, err := s.w.ExecContext(ctx, q, args...)
	return err
}

// OpenAtVersion opens the store at path migrated only up to version, so a
// test can fill a store as an older Herald left it.
func OpenAtVersion(ctx context.Context, path string, version int) (*Store, error) {
	return open(ctx, path, version)
}
