package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// feedAuthorityKey is the settings row holding the authority of feed ids.
const feedAuthorityKey = "feed_authority"

// feedAuthority is the authority of new feed ids, "" before the store's
// first start fixed one.
func feedAuthority(ctx context.Context, q queryer) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, feedAuthorityKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: feed authority: %w", err)
	}
	return v, nil
}

// FixFeedAuthority returns the authority of the store's feed ids. The
// first call fixes it to authority (the host of site.base_url at the
// store's first start) and completes the ids minted before, including those
// of articles published before ids were stored; later calls return the
// fixed one whatever they pass, so a move to another domain keeps every id.
// It also gives a site feed with no articles yet a change time, so an
// empty feed's Last-Modified is the same on every instance and restart.
func (s *Store) FixFeedAuthority(ctx context.Context, authority string) (string, error) {
	if auth, err := feedAuthority(ctx, s.r); err != nil || auth != "" {
		return auth, err
	}
	if authority == "" {
		return "", errors.New("sqlite: feed authority: empty (site.base_url has no host)")
	}
	var auth string
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
			feedAuthorityKey, authority); err != nil {
			return err
		}
		var err error
		if auth, err = feedAuthority(ctx, tx); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE articles SET feed_id = 'tag:' || ? || ',' || substr(feed_id, 6) WHERE feed_id LIKE 'tag:,%'`, auth); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO feed_changes (feed, changed_at) VALUES ('', ?) ON CONFLICT (feed) DO NOTHING`,
			micros(time.Now().Truncate(time.Second)))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("sqlite: feed authority: %w", err)
	}
	return auth, nil
}

// visibleAt reports whether a is in feeds at now.
func visibleAt(a *article.Article, now time.Time) bool {
	return !a.Draft && !a.Removed && !a.Published.After(now)
}

// tagSlugsOf lists the slugs of an article's tags.
func tagSlugsOf(ctx context.Context, q queryer, id int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT t.slug FROM article_tags at JOIN tags t ON t.id = at.tag_id WHERE at.article_id = ?`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tags: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("sqlite: tags: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// touchFeeds records that feeds (the site feed "", else tag slugs) changed
// at now. A change time never moves back (another writer's clock may be
// ahead).
func touchFeeds(ctx context.Context, tx *sql.Tx, now time.Time, feeds ...string) error {
	at := micros(now)
	for _, feed := range feeds {
		if _, err := tx.ExecContext(ctx, `INSERT INTO feed_changes (feed, changed_at) VALUES (?, ?)
			ON CONFLICT (feed) DO UPDATE SET changed_at = CASE WHEN excluded.changed_at > changed_at THEN excluded.changed_at ELSE changed_at END`, feed, at); err != nil {
			return fmt.Errorf("sqlite: feed change: %w", err)
		}
	}
	return nil
}

// touchArticleFeeds records a change of the site feed and the feeds of
// the article's tags.
func touchArticleFeeds(ctx context.Context, tx *sql.Tx, id int64, now time.Time) error {
	tags, err := tagSlugsOf(ctx, tx, id)
	if err != nil {
		return err
	}
	return touchFeeds(ctx, tx, now, append(tags, "")...)
}

// touchFeedsOf records a change of the feeds listing the article with the
// slug, if it is public at now (checkRemoved false: whether or not it is
// marked removed, for SetRemoved, which changes just that).
func touchFeedsOf(ctx context.Context, tx *sql.Tx, slug string, now time.Time, checkRemoved bool) error {
	var id int64
	var draft, removed bool
	var pub int64
	err := tx.QueryRowContext(ctx, `SELECT id, draft, removed, published FROM articles WHERE slug = ?`, slug).Scan(&id, &draft, &removed, &pub)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlite: feed change: %w", err)
	}
	if draft || (checkRemoved && removed) || fromMicros(pub).After(now) {
		return nil
	}
	return touchArticleFeeds(ctx, tx, id, now)
}

// FeedChanged is when the content of a feed last changed at now: the site
// feed with no tags, else the latest of the tags' feeds (a feed of any of
// them). That is the latest write that changed what it lists, or the
// publication of a scheduled article that has since appeared, whichever
// is later; zero when nothing is known.
func (s *Store) FeedChanged(ctx context.Context, tags []string, now time.Time) (time.Time, error) {
	feeds := tags
	if len(feeds) == 0 {
		feeds = []string{""}
	}
	var latest int64
	for _, f := range feeds {
		var changed, pub sql.NullInt64
		err := s.r.QueryRowContext(ctx, `SELECT changed_at FROM feed_changes WHERE feed = ?`, f).Scan(&changed)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, fmt.Errorf("sqlite: feed change: %w", err)
		}
		// The newest article that is out by now: one index step.
		if f == "" {
			err = s.r.QueryRowContext(ctx, `SELECT published FROM articles WHERE draft = 0 AND removed = 0 AND published <= ?
				ORDER BY published DESC, id DESC LIMIT 1`, micros(now)).Scan(&pub)
		} else {
			err = s.r.QueryRowContext(ctx, `SELECT at.published FROM article_tags at JOIN tags t ON t.id = at.tag_id AND t.slug = ?
				WHERE at.listed = 1 AND at.published <= ? ORDER BY at.published DESC, at.article_id DESC LIMIT 1`, f, micros(now)).Scan(&pub)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return time.Time{}, fmt.Errorf("sqlite: feed change: %w", err)
		}
		latest = max(latest, changed.Int64, pub.Int64)
	}
	if latest == 0 {
		return time.Time{}, nil
	}
	return fromMicros(latest), nil
}
