package sqlite

import "context"

// ExecForTest runs raw SQL on the writer, for tests that need a state the
// API cannot make.
func (s *Store) ExecForTest(ctx context.Context, q string, args ...any) error {
	_, err := s.w.ExecContext(ctx, q, args...)
	return err
}
