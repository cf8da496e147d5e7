package feed

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite feed/testdata/*.golden from the current output")

func testHubSite() Site {
	s := testSite()
	s.Hubs = []string{"https://hub.example.com/"}
	return s
}

func TestRenderGolden(t *testing.T) {
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			got, err := Render(testHubSite(), testPage(f), testArticles())
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "feed."+f.Ext()+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./feed -run Golden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (rerun with -update if intended):\n%s", golden, got)
			}
		})
	}
}

func TestRenderRules(t *testing.T) {
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			p := testPage(f)
			b, err := Render(testHubSite(), p, testArticles())
			if err != nil {
				t.Fatal(err)
			}
			w3cRules(t, f, b, p.SelfURL, paging{p.FirstURL, p.PrevURL, p.NextURL, p.LastURL})
			if f != JSON {
				if !bytes.Contains(b, []byte(`href="https://hub.example.com/" rel="hub"`)) {
					t.Error("no rel=hub link")
				}
			}
		})
	}
}

// TestRenderRoundTrip parses every format with gofeed and compares what it
// reads with the articles that went in.
func TestRenderRoundTrip(t *testing.T) {
	in := testArticles()
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			b, err := Render(testHubSite(), testPage(f), in)
			if err != nil {
				t.Fatal(err)
			}
			compareParsed(t, f, parse(t, b), testSite(), in)
		})
	}
}

// compareParsed checks gofeed's reading of a feed against its articles.
func compareParsed(t *testing.T, f Format, got *gofeedFeed, site Site, in []article.Article) {
	t.Helper()
	if got.Language != site.Language && f != JSON {
		t.Errorf("language = %q, want %q", got.Language, site.Language)
	}
	if len(got.Items) != len(in) {
		t.Fatalf("items = %d, want %d", len(got.Items), len(in))
	}
	for i, a := range in {
		it := got.Items[i]
		if it.Title != a.Title {
			t.Errorf("title = %q, want %q", it.Title, a.Title)
		}
		wantLink := site.BaseURL + "/articles/" + a.Slug
		if a.Link != "" {
			wantLink = a.Link
		}
		if it.Link != wantLink {
			t.Errorf("link = %q, want %q", it.Link, wantLink)
		}
		idDate := a.FirstSeen // the date of an id is when the store first held it published
		if idDate.IsZero() {
			idDate = a.Published
		}
		wantID := "tag:news.example.org," + idDate.Format("2006-01-02") + ":/articles/" + a.Slug
		if it.GUID != wantID {
			t.Errorf("id = %q, want %q", it.GUID, wantID)
		}
		if it.PublishedParsed == nil || !it.PublishedParsed.Equal(a.Published) {
			t.Errorf("published = %v, want %v", it.PublishedParsed, a.Published)
		}
		if f != RSS && (it.UpdatedParsed == nil || !it.UpdatedParsed.Equal(a.Updated)) {
			t.Errorf("updated = %v, want %v", it.UpdatedParsed, a.Updated)
		}
		wantAuthor := a.AuthorName
		if wantAuthor == "" {
			wantAuthor = site.Author
		}
		if len(it.Authors) != 1 || it.Authors[0].Name != wantAuthor {
			t.Errorf("authors = %+v, want %q", it.Authors, wantAuthor)
		} else if f != JSON && it.Authors[0].Email != a.AuthorEmail {
			t.Errorf("author email = %q, want %q", it.Authors[0].Email, a.AuthorEmail)
		}
		var wantCats []string
		for _, tg := range a.Tags {
			wantCats = append(wantCats, tg.Name)
		}
		if fmt.Sprint(it.Categories) != fmt.Sprint(wantCats) {
			t.Errorf("categories = %q, want %q", it.Categories, wantCats)
		}
		if a.Image != nil {
			img := ""
			if it.Image != nil {
				img = it.Image.URL
			} else if f == Atom && len(it.Enclosures) > 0 {
				// gofeed reads no item image from Atom; the enclosure link is it.
				img = it.Enclosures[0].URL
			}
			if !strings.HasPrefix(img, "http") || !strings.HasSuffix(img, path.Base(a.Image.URL+a.Image.MediaPath)) {
				t.Errorf("image = %q, want the absolute URL of %+v", img, a.Image)
			}
		}
		if strings.Contains(a.BodyHTML, `="/`) && (!strings.Contains(it.Content, `="`+site.BaseURL+"/") || strings.Contains(it.Content, `="/`)) {
			t.Errorf("content %q: root-relative URLs not made absolute", it.Content)
		}
	}
}

func TestRenderPlainTextStaysText(t *testing.T) {
	a := testArticles()[:1]
	a[0].Title = "Why <br> tags matter & &amp; stays"
	a[0].Summary = "A <b>bold</b> claim"
	for _, f := range Formats() {
		b, err := Render(testSite(), testPage(f), a)
		if err != nil {
			t.Fatal(err)
		}
		got := parse(t, b)
		if got.Items[0].Title != a[0].Title {
			t.Errorf("%s: title = %q, want %q", f, got.Items[0].Title, a[0].Title)
		}
		desc := got.Items[0].Description
		if f == RSS {
			// RSS description is HTML: the plain text is escaped once more.
			desc = htmlUnescape(desc)
		}
		if desc != a[0].Summary {
			t.Errorf("%s: summary = %q, want %q", f, desc, a[0].Summary)
		}
	}
}

func TestRenderStableIDs(t *testing.T) {
	for _, f := range Formats() {
		a, _ := Render(testSite(), testPage(f), testArticles())
		b, _ := Render(testSite(), testPage(f), testArticles())
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renders of the same input differ", f)
		}
		if bytes.Contains(a, []byte("urn:uuid")) {
			t.Errorf("%s: random urn:uuid id", f)
		}
	}
}

func TestRenderEmpty(t *testing.T) {
	for _, f := range Formats() {
		t.Run(string(f), func(t *testing.T) {
			p := Page{Format: f, SelfURL: "https://news.example.org/feed." + f.Ext(), Updated: fixedNow()}
			b, err := Render(testSite(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			w3cRules(t, f, b, p.SelfURL, paging{})
		})
	}
	t.Run("ErrNoUpdated", func(t *testing.T) {
		if _, err := Render(testSite(), Page{Format: Atom}, nil); err == nil {
			t.Error("empty feed without Updated rendered")
		}
	})
	t.Run("ErrBadBaseURL", func(t *testing.T) {
		s := testSite()
		s.BaseURL = "/relative"
		if _, err := Render(s, testPage(Atom), testArticles()); err == nil {
			t.Error("relative base URL accepted")
		}
	})
}

// hostile are inputs that have broken feeds elsewhere.
func hostile() map[string]string {
	return map[string]string{
		"Controls":     "a\x00b\x01c\x0bd\x0ce\x1ff\x7fg\u0085h",
		"InvalidUTF8":  "caf\xc3 \xff\xfe bad \xed\xa0\x80 surrogate",
		"CDATAEnd":     "x ]]> y ]]]]> z <![CDATA[ w",
		"Script":       `<script>alert(1)</script><img src=x onerror="alert(2)"><a href="javascript:alert(3)">j</a><SCRIPT SRC=//evil></SCRIPT>`,
		"Entities":     "&amp; &lt;b&gt; &#0; &#x1F600; &nbsp; &bogus; & < >",
		"Emoji":        "📰 🇸🇪 👩‍👩‍👧 \U0001F600",
		"RightToLeft":  "مرحبا بالعالم \u202eevil\u202c עברית",
		"LongTitle":    strings.Repeat("å", 10000),
		"NonChars":     "a\ufffe\uffffb\U0010FFFF",
		"CommentTrick": "<!--<script>alert(1)</script>--><p>ok</p>",
		"Quotes":       `"double" 'single' “curly” ‘also’`,
	}
}

func TestRenderHostile(t *testing.T) {
	for name, s := range hostile() {
		t.Run(name, func(t *testing.T) {
			a := testArticles()
			a[0].Title, a[0].Summary, a[0].AuthorName, a[0].BodyHTML = s, s, s, s
			a[0].Tags[0].Name = s
			for _, f := range Formats() {
				p := testPage(f)
				b, err := Render(testSite(), p, a)
				if err != nil {
					t.Fatal(err)
				}
				w3cRules(t, f, b, p.SelfURL, paging{p.FirstURL, p.PrevURL, p.NextURL, p.LastURL})
				got := parse(t, b)
				if want := cleanText(s); strings.TrimSpace(got.Items[0].Title) != strings.TrimSpace(want) {
					t.Errorf("%s: title = %.80q, want %.80q", f, got.Items[0].Title, want)
				}
			}
		})
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain å ä ö", "plain å ä ö"},
		{"tab\tnl\ncr\r", "tab\tnl\ncr\r"},
		{"v\x0btab", "vtab"},
		{"nul\x00", "nul"},
		{"bad\xffutf8", "badutf8"},
		{"c1\u0085", "c1"},
		{"nonchar\ufffe\uffff", "nonchar"},
		{"astral \U0001F600", "astral \U0001F600"},
	}
	for _, tt := range tests {
		if got := cleanText(tt.in); got != tt.want {
			t.Errorf("cleanText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestContentHTML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"RootRelative", `<p><a href="/articles/x">x</a><img src="/media/a.jpg" alt="a"></p>`,
			`<p><a href="https://news.example.org/articles/x">x</a><img src="https://news.example.org/media/a.jpg" alt="a"></p>`},
		{"Fragment", `<a href="#fn:1">1</a>`, `<a href="https://news.example.org/articles/s#fn:1">1</a>`},
		{"Absolute", `<a href="https://e.com/?a=1&amp;b=2">e</a>`, `<a href="https://e.com/?a=1&amp;b=2">e</a>`},
		{"Script", `<p>a<script>alert(1)</script>b</p>`, `<p>ab</p>`},
		{"EventHandler", `<img src="/x.png" onerror="alert(1)">`, `<img src="https://news.example.org/x.png">`},
		{"JavascriptURL", `<a href="javascript:alert(1)">j</a>`, `<a>j</a>`},
		{"Comment", `<!--<script>x</script>--><p>ok</p>`, `<p>ok</p>`},
		{"TextEscaped", `<p>1 &lt; 2 &amp;&amp; ]]&gt;</p>`, `<p>1 &lt; 2 &amp;&amp; ]]&gt;</p>`},
		{"Srcset", `<img srcset="/a.jpg 1x, /b.jpg 2x">`, `<img srcset="https://news.example.org/a.jpg 1x, https://news.example.org/b.jpg 2x">`},
	}
	page := mustURL(t, "https://news.example.org/articles/s")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := contentHTML(tt.in, page); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// atomSchema is RFC 4287's RELAX NG grammar (its appendix B), kept in the
// repository so the schema test runs on a fresh clone.
const atomSchema = "testdata/atom.rnc"

// TestAtomSchemaInRepo fails when the grammar TestAtomSchema validates
// against is not in the repository.
func TestAtomSchemaInRepo(t *testing.T) {
	b, err := os.ReadFile(atomSchema)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("start = atomFeed | atomEntry")) {
		t.Errorf("%s is not RFC 4287's grammar", atomSchema)
	}
}

// TestAtomSchema validates Atom output with jing against RFC 4287's
// RELAX NG schema.
func TestAtomSchema(t *testing.T) {
	jing := testenv.Need(t, "jing")
	schema := atomSchema
	dir := t.TempDir()
	docs := map[string][]byte{}
	add := func(name string, site Site, p Page, items []article.Article) {
		b, err := Render(site, p, items)
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}
	add("fixture", testHubSite(), testPage(Atom), testArticles())
	add("empty", testSite(), Page{Format: Atom, Updated: fixedNow()}, nil)
	for name, s := range hostile() {
		a := testArticles()
		a[0].Title, a[0].Summary, a[0].AuthorName, a[0].BodyHTML = s, s, s, s
		add("hostile-"+name, testSite(), testPage(Atom), a)
	}
	args := []string{"-c", schema}
	for name, b := range docs {
		p := filepath.Join(dir, name+".atom")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command(jing, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("jing: %v\n%s", err, out)
	}
}

func TestFormat(t *testing.T) {
	for f, want := range map[Format]string{
		RSS: "application/rss+xml; charset=utf-8", Atom: "application/atom+xml; charset=utf-8", JSON: "application/feed+json; charset=utf-8",
	} {
		if got := f.ContentType(); got != want {
			t.Errorf("%s: %q, want %q", f, got, want)
		}
	}
	if Format("html").Valid() {
		t.Error("html is not a feed format")
	}
}

func TestRenderDates(t *testing.T) {
	a := testArticles()[:1]
	a[0].Published = time.Date(9, 1, 2, 3, 4, 5, 0, time.UTC) // year 9 must still print four digits
	a[0].Updated = a[0].Published
	b, err := Render(testSite(), testPage(RSS), a)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(", 02 Jan 0009 03:04:05 +0000</pubDate>")) {
		t.Errorf("RSS date not RFC 822 with a four-digit year:\n%s", b)
	}
}

// TestRenderKeptImage: an article's remote image is named by Herald's
// kept copy once there is one, at most 1200 px wide (docs/ARCHITECTURE.md,
// "Remote images").
func TestRenderKeptImage(t *testing.T) {
	a := testArticles()[1:2]
	r := func(p string, w, h int) article.Rendition {
		return article.Rendition{Path: "/media/u/" + p, Width: w, Height: h}
	}
	a[0].Image.Kept = &article.Kept{Original: r("t.png", 2400, 1800), Sizes: []article.Rendition{r("t-600.png", 600, 450), r("t-1200.png", 1200, 900)},
		Lead: r("tl.png", 1200, 900), Thumb: r("tt.png", 192, 192)}
	for _, f := range Formats() {
		b, err := Render(testSite(), testPage(f), a)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("https://news.example.org/media/u/t-1200.png")) || bytes.Contains(b, []byte("cdn.example.com")) {
			t.Errorf("%s: the kept image is not the one named:\n%s", f, b)
		}
	}
}
