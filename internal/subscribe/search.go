package subscribe

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold is the case folding of subscriber search: Unicode NFC, then lower
// case (so "Åsa", "ÅSA" and a decomposed "Å" all read "åsa"). Every
// backend stores SearchKey and searches for Fold(query), so they find
// alike whatever their SQL's lower() does with non-ASCII letters.
func Fold(s string) string {
	return strings.ToLower(norm.NFC.String(s))
}

// SearchKey is what a subscriber search matches against: the folded
// address and name, apart (a query never spans both).
func SearchKey(email, name string) string {
	return Fold(email) + "\n" + Fold(name)
}

// maxQuery bounds a search query (an address is at most 254 octets).
const maxQuery = 256

// Page is one page of a subscriber search.
type Page struct {
	Subscribers []*Subscriber
	// Next is the cursor of the next page (the last id of this one); 0
	// when this page is the last.
	Next int64
	// Total is how many subscribers match the filter, on every page.
	Total int
}

// CheckFilter validates f for a search or an export: a known status and
// newsletter, a tag given as a slug, a query of printable text (folded
// and trimmed). An unknown tag is not an error: it matches nobody.
func (s *Service) CheckFilter(f Filter) (Filter, error) {
	if f.Status != "" && !f.Status.Valid() {
		return f, fmt.Errorf("%w: status %q (want pending, active, unsubscribed or bounced)", ErrInvalidInput, clip(string(f.Status)))
	}
	if f.Newsletter != "" {
		if _, ok := s.Newsletter(f.Newsletter); !ok {
			return f, fmt.Errorf("%w %q", ErrUnknownNewsletter, clip(f.Newsletter))
		}
	}
	if f.Tag != "" {
		tags, err := cleanTags([]string{f.Tag})
		if err != nil {
			return f, err
		}
		if len(tags) == 0 {
			return f, fmt.Errorf("%w: tag %q", ErrInvalidInput, clip(f.Tag))
		}
		f.Tag = tags[0]
	}
	q := strings.TrimSpace(f.Query)
	if len(q) > maxQuery {
		return f, fmt.Errorf("%w: a search is at most %d bytes", ErrInvalidInput, maxQuery)
	}
	if strings.ContainsFunc(q, unicode.IsControl) {
		return f, fmt.Errorf("%w: the search holds a control character", ErrInvalidInput)
	}
	f.Query = Fold(q)
	return f, nil
}

// SearchStore is the store's side of Search.
type SearchStore interface {
	// SearchSubscribers pages subscribers matching f by id: up to limit
	// (0: all) with ids above afterID, with their newsletters.
	SearchSubscribers(ctx context.Context, f Filter, afterID int64, limit int) ([]*Subscriber, error)
	// CountSubscribers is how many subscribers match f.
	CountSubscribers(ctx context.Context, f Filter) (int, error)
}

// MaxPage is the largest page Search returns.
const MaxPage = 500

// Search returns the page of subscribers matching f after the cursor
// (0: the first page), at most limit (1 to MaxPage; 0: 50), with the
// total that matches: the admin subscriber list.
func (s *Service) Search(ctx context.Context, f Filter, after int64, limit int) (*Page, error) {
	f, err := s.CheckFilter(f)
	if err != nil {
		return nil, err
	}
	switch {
	case limit == 0:
		limit = 50
	case limit < 0 || limit > MaxPage:
		return nil, fmt.Errorf("%w: limit %d (1 to %d)", ErrInvalidInput, limit, MaxPage)
	}
	if after < 0 {
		return nil, fmt.Errorf("%w: cursor %d", ErrInvalidInput, after)
	}
	subs, err := s.cfg.Store.SearchSubscribers(ctx, f, after, limit+1)
	if err != nil {
		return nil, err
	}
	total, err := s.cfg.Store.CountSubscribers(ctx, f)
	if err != nil {
		return nil, err
	}
	p := &Page{Subscribers: subs, Total: total}
	if len(subs) > limit {
		p.Subscribers = subs[:limit]
		p.Next = subs[limit-1].ID
	}
	return p, nil
}

// Deliveries lists every digest delivery to the subscriber with the
// address, newest run first, with its outcome (the subscriber's page).
func (s *Service) Deliveries(ctx context.Context, email string) ([]Delivery, error) {
	sub, err := s.byEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.SubscriberDeliveries(ctx, sub.ID)
}

// DayCount is the number of subscribers in one status at the end of one
// UTC day (a daily snapshot).
type DayCount struct {
	Day    time.Time // the UTC day's start
	Status Status
	Count  int
}

// Timeline is what the store knows of when one subscriber changed: what
// the daily counts are back-filled from.
type Timeline struct {
	Status                                            Status
	CreatedAt, ConfirmedAt, UnsubscribedAt, UpdatedAt time.Time // zero: never
}

// Transitions are the statuses tl went through, each with the time it
// began, oldest first: pending (unless imported or added active), active
// when confirmed, unsubscribed when it left, bounced at its last update.
// The rule lives here so every backend back-fills alike.
func (tl Timeline) Transitions() []DayCount {
	at := func(t time.Time) time.Time {
		if t.Before(tl.CreatedAt) {
			return tl.CreatedAt
		}
		return t
	}
	var out []DayCount
	add := func(t time.Time, st Status) {
		if n := len(out); n > 0 && out[n-1].Status == st {
			return
		}
		out = append(out, DayCount{Day: at(t), Status: st, Count: 1})
	}
	if tl.Status == StatusPending {
		add(tl.CreatedAt, StatusPending)
		return out
	}
	if !tl.ConfirmedAt.IsZero() && tl.ConfirmedAt.After(tl.CreatedAt) {
		add(tl.CreatedAt, StatusPending)
		add(tl.ConfirmedAt, StatusActive)
	} else {
		add(tl.CreatedAt, StatusActive)
	}
	switch tl.Status {
	case StatusUnsubscribed:
		t := tl.UnsubscribedAt
		if t.IsZero() {
			t = tl.UpdatedAt
		}
		add(t, StatusUnsubscribed)
	case StatusBounced:
		add(tl.UpdatedAt, StatusBounced)
	}
	return out
}
