package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// changesChannel is the channel the articles trigger notifies (migration
// 001); notifications are sent at commit, to every listening session.
const changesChannel = "herald_changes"

// ArticleChanges returns a channel that receives a value soon after any
// instance commits a write to articles, so a feed cache can rebuild within
// well under a second instead of at its next poll (docs/ARCHITECTURE.md,
// "Serve data flow"). Values are coalesced: one waiting value stands for
// any number of writes. It also receives one whenever listening starts or
// restarts after the connection was lost, since writes in between were
// not heard; the receiver then compares ArticlesGeneration as it does
// when polling, which stays the fallback. The channel is closed when ctx
// ends or the store is closed. Listening uses a connection of its own,
// outside the pool.
func (s *Store) ArticleChanges(ctx context.Context) <-chan struct{} {
	out := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(ctx)
	stopOnClose := context.AfterFunc(s.bg, cancel)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer cancel()
		defer stopOnClose()
		s.listen(ctx, out)
	}()
	return out
}

// listen holds a LISTEN session, reconnecting with a growing pause while
// the server cannot be reached, until ctx ends.
func (s *Store) listen(ctx context.Context, out chan<- struct{}) {
	signal := func() {
		select {
		case out <- struct{}{}:
		default: // one is already waiting
		}
	}
	const minPause, maxPause = 100 * time.Millisecond, 10 * time.Second
	pause := minPause
	for ctx.Err() == nil {
		if s.listenOnce(ctx, signal) {
			pause = minPause // it was up: retry at once
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPause)
	}
}

// listenOnce connects, listens and signals each notification until the
// connection fails or ctx ends; it reports whether listening started.
func (s *Store) listenOnce(ctx context.Context, signal func()) bool {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return false
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return false
	}
	signal()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return true
		}
		signal()
	}
}
