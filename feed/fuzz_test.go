package feed

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzRender feeds arbitrary strings into every text field of an article
// and asserts the invariants of docs/ARCHITECTURE.md, "Feeds and
// caching": well-formed XML and JSON, no script, and ids that do not
// depend on the text.
func FuzzRender(f *testing.F) {
	for name, s := range hostile() {
		if name != "LongTitle" { // large seeds slow every mutation; TestRenderHostile has it
			f.Add(s, s, s, s, s)
		}
	}
	f.Add("Title", "Summary", "Åsa", "<p>Body <a href=\"/x\">x</a></p>", "Tag")
	f.Fuzz(func(t *testing.T, title, summary, author, body, tag string) {
		a := testArticles()
		a[0].Title, a[0].Summary, a[0].AuthorName, a[0].BodyHTML = title, summary, author, body
		a[0].Tags[0].Name = tag
		wantID := "tag:news.example.org,2024-03-14:/articles/rakfisk-och-ol"
		for _, f := range Formats() {
			b, err := Render(testSite(), testPage(f), a)
			if err != nil {
				t.Fatal(err)
			}
			wellFormed(t, f, b)
			if bytes.Contains(bytes.ToLower(b), []byte("<script")) {
				t.Fatalf("%s: raw <script in output", f)
			}
			got := parse(t, b)
			if len(got.Items) != len(a) || got.Items[0].GUID != wantID {
				t.Fatalf("%s: id of the first item = %q, want %q", f, got.Items[0].GUID, wantID)
			}
			if why := activeHTML(got.Items[0].Content); why != "" {
				t.Fatalf("%s: content carries script (%s)", f, why)
			}
			if f == RSS && strings.Contains(strings.ToLower(got.Items[0].Description), "<script") {
				t.Fatalf("rss: description carries <script")
			}
		}
	})
}
