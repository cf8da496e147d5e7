package newsroom

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
)

// FuzzValidate feeds arbitrary JSON inputs to validation: nothing panics,
// what passes is sanitised and plain, and the input rebuilt from the
// article (what a patch starts from) validates back to the same article.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"slug":"a","title":"A","date":"2026-11-01","body":"x"}`))
	f.Add([]byte(`{"slug":"Göteborg news","title":"Why <br> tags matter","date":"2026-11-01T09:00:00+01:00","tags":["WP2","wp2","Århus"],"summary":"s\n\nt","draft":true,"body":"<script>x</script>"}`))
	f.Add([]byte(`{"slug":"b","title":"B","date":"2026-11-01","image":"https://example.org/a.png","image_alt":"A"}`))
	s := &Service{Parser: article.NewParser(time.UTC, nil)}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in Input
		if json.Unmarshal(data, &in) != nil {
			return
		}
		ar, errs, err := s.build(in)
		if err != nil || len(errs) > 0 {
			for _, e := range errs {
				if e.Message == "" || fieldRank(e.Field) == len(fieldOrder) {
					t.Fatalf("field error %+v", e)
				}
			}
			return
		}
		if ar.Slug != article.Slugify(in.Slug) || ar.Title != strings.TrimSpace(in.Title) || ar.Source != article.SourceAPI {
			t.Fatalf("slug %q title %q source %q from %q %q", ar.Slug, ar.Title, ar.Source, in.Slug, in.Title)
		}
		if strings.Contains(strings.ToLower(ar.BodyHTML), "<script") {
			t.Fatalf("script in body_html: %s", ar.BodyHTML)
		}
		again, errs, err := s.build(s.InputOf(ar))
		if err != nil || len(errs) > 0 {
			t.Fatalf("the article rebuilt as input does not validate: %v %v", err, errs)
		}
		if again.Slug != ar.Slug || again.Title != ar.Title || !again.Published.Equal(ar.Published) || again.Draft != ar.Draft ||
			again.Summary != ar.Summary || again.BodyHTML != ar.BodyHTML || again.AuthorName != ar.AuthorName || !slices.Equal(again.Tags, ar.Tags) {
			t.Fatalf("rebuilt article differs:\n%+v\n%+v", again, ar)
		}
	})
}
