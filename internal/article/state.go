package article

import "time"

// States an article is in, as the admin API filters and metrics count them.
const (
	StatePublished = "published" // public now
	StateScheduled = "scheduled" // dated in the future: public from then
	StateDraft     = "draft"
	StateRemoved   = "removed" // its source is gone or it was unpublished by sync
)

// States lists every state, in a stable order.
func States() []string {
	return []string{StatePublished, StateScheduled, StateDraft, StateRemoved}
}

// State is the article's state at time now; removed wins over draft.
func (a *Article) State(now time.Time) string {
	return StateOf(a.Draft, a.Removed, a.Published.After(now))
}

// StateOf is the state of an article with these flags; future: dated
// after now. Stores counting by state group by the flags and ask here.
func StateOf(draft, removed, future bool) string {
	switch {
	case removed:
		return StateRemoved
	case draft:
		return StateDraft
	case future:
		return StateScheduled
	default:
		return StatePublished
	}
}

// Cursor is a position in the (published, id) order, newest first.
type Cursor struct {
	Published time.Time
	ID        int64
}

// ListFilter selects articles in any state, for administration, newest
// first by (published, id): an order inserts do not disturb, so paging
// with a Cursor neither repeats nor skips an article.
type ListFilter struct {
	State string    // one of the States; "" for all
	Tag   string    // a tag slug; "" for all
	Title string    // text the title contains, in any case (SearchFold); "" for all
	Now   time.Time // the instant that separates published from scheduled
	After *Cursor   // only articles after this position (older); nil: from the newest
	Limit int       // 0: no limit
}
