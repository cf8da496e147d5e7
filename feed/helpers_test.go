package feed

import (
	"html"
	"net/url"
	"testing"

	"github.com/mmcdole/gofeed"
)

type gofeedFeed = gofeed.Feed

func htmlUnescape(s string) string { return html.UnescapeString(s) }

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
