package digest

import (
	"context"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// What the admin newsletter pages show about a newsletter before it runs
// (docs/ARCHITECTURE.md, "Admin newsletters and runs").

// Newsletters returns the configured newsletters in configuration order.
func (s *Service) Newsletters() []Newsletter {
	out := make([]Newsletter, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, *s.nls[id])
	}
	return out
}

// NextSlot is the newsletter's first schedule slot after after.
func (s *Service) NextSlot(newsletter string, after time.Time) (time.Time, error) {
	if _, err := s.Newsletter(newsletter); err != nil {
		return time.Time{}, err
	}
	return s.scheduled[newsletter].Next(after), nil
}

// Upcoming returns the articles a run of the newsletter would carry if it
// ran now (the newest max_articles, newest first) and those that would
// wait beyond max_articles for a later run, changing nothing. It asks the
// store the same question a run does, without the limit.
func (s *Service) Upcoming(ctx context.Context, newsletter string) (now, waiting []article.Article, err error) {
	n, err := s.Newsletter(newsletter)
	if err != nil {
		return nil, nil, err
	}
	all, err := s.cfg.Store.SelectArticles(ctx, Selection{Newsletter: n.ID, Tags: n.Tags, SlotAt: s.cfg.Now(), FirstWindow: n.FirstWindow})
	if err != nil {
		return nil, nil, err
	}
	if n.MaxArticles > 0 && len(all) > n.MaxArticles {
		return all[:n.MaxArticles], all[n.MaxArticles:], nil
	}
	return all, nil, nil
}
