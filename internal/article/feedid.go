package article

import (
	"net/url"
	"strings"
	"time"
)

// FeedID is the id feeds give an article: an RFC 4151 tag URI naming the
// authority, a date and the article's path. The store mints it once, when
// the article is first published (date: FirstSeen; authority: fixed at the
// store's first start), and keeps it: an id must never change, or feed
// readers show the article twice. An empty authority gives the pending
// form "tag:,DATE:…" that CompleteFeedID fills in.
func FeedID(authority string, date time.Time, slug string) string {
	return "tag:" + authority + "," + date.UTC().Format("2006-01-02") + ":/articles/" + url.PathEscape(slug)
}

// pendingFeedID starts an id minted before the authority was known.
const pendingFeedID = "tag:,"

// CompleteFeedID fills authority into an id minted without one and returns
// any other id unchanged.
func CompleteFeedID(id, authority string) string {
	if rest, ok := strings.CutPrefix(id, pendingFeedID); ok {
		return "tag:" + authority + "," + rest
	}
	return id
}

// FeedAuthority is the tag URI authority for a site's base URL: its host
// name, without port ("" when the URL has none).
func FeedAuthority(baseURL string) string {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return ""
	}
	return u.Hostname()
}
