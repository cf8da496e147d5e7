package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"golang.org/x/net/html"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
)

// TestLanguageSubscribe: a reader whose browser asks for Swedish gets the
// Swedish form, with Swedish preselected, and a Swedish confirmation.
func TestLanguageSubscribe(t *testing.T) {
	s := newSite(t, siteOpts{})
	ctx := context.Background()
	resp, body := s.do(t, "GET", "/subscribe", nil, "Accept-Language", "sv-SE,sv;q=0.9,en;q=0.5")
	for _, want := range []string{`<html lang="sv">`, "Prenumerera via e-post", "E-postadress", `<option value="sv" lang="sv" selected>Svenska</option>`} {
		if !strings.Contains(body, want) {
			t.Fatalf("Swedish form lacks %q: %d\n%s", want, resp.StatusCode, body)
		}
	}
	if !strings.Contains(resp.Header.Get("Vary"), "Accept-Language") {
		t.Errorf("Vary: %q", resp.Header.Get("Vary"))
	}
	resp, body = s.postForm(t, "/subscribe", url.Values{"email": {"sv@example.org"}, "language": {"sv"}}, "Accept-Language", "sv")
	if resp.StatusCode != 200 || !strings.Contains(body, "Titta i din inkorg") {
		t.Fatalf("post: %d\n%s", resp.StatusCode, body)
	}
	m := s.mails.Wait(t, 1)
	if m.Subject != "Bekräfta din prenumeration på Herald News" || !strings.Contains(m.Text, "Hej!") ||
		!strings.Contains(m.HTML, `lang="sv"`) || !strings.Contains(m.HTML, "Bekräfta min prenumeration") {
		t.Fatalf("confirmation not Swedish: %q\n%s", m.Subject, m.Text)
	}
	sub, err := s.st.SubscriberByEmail(ctx, "sv@example.org")
	if err != nil || sub.Language != "sv" {
		t.Fatalf("stored language: %+v %v", sub, err)
	}
	link, err := subscribetest.Link(m.Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	if _, body := s.do(t, "GET", localPath(t, link), nil, "Accept-Language", "sv"); !strings.Contains(body, "Bekräfta min prenumeration") {
		t.Fatalf("confirm page not Swedish:\n%s", body)
	}
	// Once confirmed, pages speak the subscriber's language even to a
	// browser that asks for German.
	if _, body := s.postForm(t, "/subscribe/confirm", url.Values{"token": {subscribetest.Token(link)}}, "Accept-Language", "de"); !strings.Contains(body, "Tack: din prenumeration är bekräftad.") {
		t.Fatalf("confirmed page not Swedish:\n%s", body)
	}
	if w := s.mails.Wait(t, 2); w.Subject != "Välkommen till Herald News" || !strings.Contains(w.Text, "Avregistrera dig: ") {
		t.Fatalf("welcome not Swedish: %q\n%s", w.Subject, w.Text)
	}
	t.Run("ErrUnknownLanguage", func(t *testing.T) {
		resp, _ := s.postForm(t, "/subscribe", url.Values{"email": {"xx@example.org"}, "language": {"tlh"}})
		if resp.StatusCode != 400 {
			t.Fatalf("unknown language: %d", resp.StatusCode)
		}
	})
	t.Run("WidgetLanguage", func(t *testing.T) {
		// A JSON request without a language takes the browser's.
		resp, body := s.do(t, "POST", "/subscribe", strings.NewReader(`{"email":"de@example.org"}`),
			"Content-Type", "application/json", "Accept-Language", "de-AT")
		if resp.StatusCode != 200 || !strings.Contains(body, "Bestätigungslink") {
			t.Fatalf("json: %d %s", resp.StatusCode, body)
		}
		if sub, err := s.st.SubscriberByEmail(ctx, "de@example.org"); err != nil || sub.Language != "de" {
			t.Fatalf("stored: %+v %v", sub, err)
		}
	})
}

// TestLanguagePreferences: the preferences page shows the stored language
// and switches it.
func TestLanguagePreferences(t *testing.T) {
	s := newSite(t, siteOpts{})
	ctx := context.Background()
	sub := s.subscribeAndConfirm(t, "prefs@example.org")
	link := s.svc.PreferencesURL(sub)
	_, body := s.do(t, "GET", localPath(t, link), nil, "Accept-Language", "en")
	if !strings.Contains(body, `<option value="en" lang="en" selected>English</option>`) {
		t.Fatalf("preferences page:\n%s", body)
	}
	_, body = s.postForm(t, localPath(t, link), url.Values{"name": {"P"}, "newsletter": {"monthly"}, "language": {"nb"}, "action": {"save"}},
		"Accept-Language", "en")
	if !strings.Contains(body, "Lagret.") || !strings.Contains(body, `<html lang="nb">`) ||
		!strings.Contains(body, `<option value="nb" lang="nb" selected>Norsk bokmål</option>`) {
		t.Fatalf("after switching to nb:\n%s", body)
	}
	if got, _ := s.st.GetSubscriber(ctx, sub.ID); got.Language != "nb" {
		t.Fatalf("stored: %q", got.Language)
	}
	_, body = s.do(t, "GET", localPath(t, s.svc.PreferencesURL(sub)), nil, "Accept-Language", "fr")
	if !strings.Contains(body, "Abonnementet ditt") {
		t.Fatalf("preferences not in the stored language:\n%s", body)
	}
}

// TestLanguagePublicPages: the feeds page, the embed builder, the archive
// and the test page speak the reader's language.
func TestLanguagePublicPages(t *testing.T) {
	s := newSite(t, siteOpts{archive: true})
	seedIssue(t, s)
	for _, tc := range []struct{ path, lang, want string }{
		{"/feeds", "sv", "Så följer du oss"},
		{"/feeds", "fi", "Kaikki artikkelit"},
		{"/embed", "de", "Unsere Nachrichten einbetten"},
		{"/embed", "nl", "Aantal artikelen"},
		{"/newsletters", "da", "1 artikel, "},
		{"/newsletters", "fr", "envoyée le <time"},
		{"/newsletters/monthly/test", "nb", "testutsending av Cluster Bridge Monthly"},
		{"/newsletters/monthly/99", "fi", "Uutiskirjeen numeroa ei löydy."},
	} {
		resp, body := s.do(t, "GET", tc.path, nil, "Accept-Language", tc.lang)
		if !strings.Contains(body, `<html lang="`+tc.lang+`">`) || !strings.Contains(body, tc.want) ||
			!strings.Contains(resp.Header.Get("Vary"), "Accept-Language") {
			t.Errorf("%s in %s: %d, lacks %q\n%s", tc.path, tc.lang, resp.StatusCode, tc.want, body)
		}
	}
}

// TestPseudoLanguagePages renders every subscriber page, the chrome and
// the error page in en-XA: visible text outside the ⟦…⟧ markers is a
// string that bypasses the catalogues, unless it is configuration, an
// address or content.
func TestPseudoLanguagePages(t *testing.T) {
	s := newSite(t, siteOpts{archive: true})
	xa := []string{"Accept-Language", lang.Pseudo}
	allowed := []string{"Herald News", "I agree to receive mail.", "Cluster Bridge Monthly", "Weekly", "wp4",
		"pseudo@example.org", "you@example.org", "English", "Svenska", "Dansk", "Norsk bokmål", "Suomi", "Deutsch", "Nederlands", "Français", "Test Person",
		// Content: the seeded article, its tag and the issue's subject.
		"Harbour workshop in Århus", "WP4", "Monthly issue",
		// Product and format names the feeds page mentions.
		"Feedly, Miniflux, NetNewsWire, Thunderbird, newsboat", "JSON Feed", "Atom", "RSS"}
	check := func(name, body string) {
		t.Helper()
		if bad := outsideMarkers(visibleText(t, body), allowed); bad != "" {
			t.Errorf("%s: text outside the catalogue: %q", name, bad)
		}
	}
	_, body := s.do(t, "GET", "/", nil, xa...)
	check("index", body)
	_, body = s.do(t, "GET", "/subscribe", nil, xa...)
	check("subscribe", body)
	_, body = s.postForm(t, "/subscribe", url.Values{"email": {"not an address"}}, xa...)
	check("subscribe error", body)
	_, body = s.do(t, "GET", "/no/such/page", nil, xa...)
	check("404", body)
	_, body = s.do(t, "GET", "/subscribe/confirm?token=garbage", nil, xa...)
	check("bad token", body)
	_, body = s.postForm(t, "/subscribe", url.Values{"email": {"pseudo@example.org"}, "name": {"Test Person"}}, xa...)
	check("check inbox", body)
	m := s.mails.Wait(t, 1)
	link, err := subscribetest.Link(m.Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	_, body = s.do(t, "GET", localPath(t, link), nil, xa...)
	check("confirm", body)
	_, body = s.postForm(t, "/subscribe/confirm", url.Values{"token": {subscribetest.Token(link)}}, xa...)
	check("confirmed", body)
	sub, err := s.st.SubscriberByEmail(context.Background(), "pseudo@example.org")
	if err != nil {
		t.Fatal(err)
	}
	prefs := localPath(t, s.svc.PreferencesURL(sub))
	_, body = s.do(t, "GET", prefs, nil, xa...)
	check("preferences", body)
	_, body = s.postForm(t, prefs, url.Values{"newsletter": {"monthly"}, "action": {"save"}}, xa...)
	check("preferences saved", body)
	unsub, err := subscribetest.Link(s.mails.Wait(t, 2).Text, "/unsubscribe")
	if err != nil {
		t.Fatal(err)
	}
	_, body = s.do(t, "GET", localPath(t, unsub), nil, xa...)
	check("unsubscribe", body)
	_, body = s.postForm(t, localPath(t, unsub), url.Values{"scope": {"all"}}, xa...)
	check("unsubscribed", body)
	_, body = s.do(t, "GET", "/embed/frame?lang="+lang.Pseudo, nil)
	check("frame", body)

	// The public pages: feeds, the embed builder (its snippets are code,
	// their words in the widget's language), the archive and an issue.
	seedIssue(t, s)
	for _, p := range []string{"/feeds", "/newsletters", "/newsletters/monthly/test", "/newsletters/monthly/1/nothing",
		"/newsletters/monthly/99", "/newsletters/nosuch/test", "/?page=x", "/?page=9", "/embed?limit=0", "/embed/frame?theme=pink",
		"/embed?images=yes", "/embed?lang=%3C", "/media/u/nothing.png", "/media/nothing.png", "/assets/nothing.css", "/embed/v/0.js"} {
		resp, body := s.do(t, "GET", p, nil, xa...)
		if resp.StatusCode >= 500 || !strings.Contains(resp.Header.Get("Vary"), "Accept-Language") {
			t.Errorf("%s: %d, Vary %q", p, resp.StatusCode, resp.Header.Get("Vary"))
		}
		check(p, body)
	}
	resp, body := s.do(t, "GET", "/embed?lang="+lang.Pseudo, nil, xa...)
	if resp.StatusCode != 200 || !strings.Contains(body, "&gt;⟦Email address⟧&lt;/label&gt;") || !strings.Contains(body, "title=&#34;⟦News from Herald News⟧&#34;") {
		t.Errorf("embed builder: %d, the form snippet's words are not the catalogue's:\n%s", resp.StatusCode, body)
	}
	check("embed", body)
	// An issue is the mail as composed (content here); the variant key's
	// language decides what Herald says around it.
	if resp, body := s.do(t, "GET", "/newsletters/monthly/1", nil, xa...); resp.StatusCode != 200 || body != seededIssueHTML {
		t.Errorf("issue page: %d\n%s", resp.StatusCode, body)
	}
	// A German subscriber's "view in browser" link: their variant, with
	// the subscription links leading to the subscribe page.
	if resp, body := s.do(t, "GET", "/newsletters/monthly/1/all.de", nil, xa...); resp.StatusCode != 200 || !strings.Contains(body, "Ausgabe") ||
		!strings.Contains(body, `href="https://news.example.org/subscribe"`) {
		t.Errorf("German issue page: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := s.do(t, "GET", "/newsletters/monthly/1/bad.de", nil, xa...); resp.StatusCode != 404 || !strings.Contains(body, `<html lang="de">`) ||
		!strings.Contains(body, "Diese Ausgabe hat keine Webversion.") {
		t.Errorf("German issue's error page: %d\n%s", resp.StatusCode, body)
	}
}

// seededIssueHTML is the web version of the issue seedIssue sends.
const seededIssueHTML = "<!doctype html><html lang=\"en\"><title>Monthly issue</title><p>Harbour workshop in Århus</p></html>"

// seedIssue publishes an article and sends issue 1 of monthly with it:
// a web version, and a German variant.
func seedIssue(t *testing.T, s *site) {
	t.Helper()
	ctx := context.Background()
	now := s.clock.Now()
	a := &article.Article{Slug: "harbour", Title: "Harbour workshop in Århus", BodyHTML: "<p>Body</p>", Published: now.Add(-time.Hour),
		Source: article.SourceAPI, Tags: []article.Tag{{Name: "WP4", Slug: "wp4"}}}
	if _, err := s.st.UpsertArticle(ctx, a, now); err != nil {
		t.Fatal(err)
	}
	run, err := s.st.PlanRun(ctx, digest.PlanRequest{
		Selection: digest.Selection{Newsletter: "monthly", SlotAt: now, FirstWindow: 24 * time.Hour, MaxArticles: 10},
		Slot:      "pseudo", Kind: digest.KindManual, SendIfEmpty: true, Now: now,
	}, func(r *digest.Run, _ []article.Article) ([]digest.Variant, error) {
		return []digest.Variant{
			{Key: digest.VariantAll, Subject: "Monthly issue", HTML: "<p>mail</p>", Text: "mail"},
			{Key: digest.VariantWeb, Subject: "Monthly issue", HTML: seededIssueHTML, Text: "web"},
			{Key: "all.de", Subject: "Monatsausgabe", HTML: `<p lang="de">Ausgabe</p><a href="~HERALD~unsubscribe_html~">x</a>`, Text: "de"},
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if done, err := s.st.FinishRun(ctx, run.ID, now); err != nil || !done || run.ID != 1 {
		t.Fatalf("run %d finished: %v %v", run.ID, done, err)
	}
}

// TestPseudoLanguageMails: the confirmation and welcome mails, HTML and
// text, in en-XA.
func TestPseudoLanguageMails(t *testing.T) {
	s := newSite(t, siteOpts{})
	ctx := context.Background()
	c := subscribe.Choice{Newsletters: []string{"monthly", "weekly"}, Language: lang.Pseudo}
	if err := s.st.QueueSubscription(ctx, "pseudo@example.org", c, s.clock.Now()); err != nil {
		t.Fatal(err)
	}
	s.svc.SendConfirmations(ctx, "pseudo@example.org")
	confirm := s.mails.Wait(t, 1)
	link, err := subscribetest.Link(confirm.Text, "/subscribe/confirm")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Confirm(ctx, subscribetest.Token(link)); err != nil {
		t.Fatal(err)
	}
	welcome := s.mails.Wait(t, 2)
	allowed := []string{"Herald News", "Cluster Bridge Monthly", "Weekly", "pseudo@example.org"}
	for _, m := range []*subscribe.Mail{confirm, welcome} {
		if bad := outsideMarkers(m.Subject, allowed); bad != "" {
			t.Errorf("%s subject: %q", m.Kind, bad)
		}
		if bad := outsideMarkers(visibleText(t, m.HTML), allowed); bad != "" {
			t.Errorf("%s HTML: text outside the catalogue: %q", m.Kind, bad)
		}
		for _, line := range strings.Split(m.Text, "\n") {
			if bad := outsideMarkers(line, allowed); bad != "" && line != "-- " {
				t.Errorf("%s text: outside the catalogue: %q (in %q)", m.Kind, bad, line)
			}
		}
	}
}

var (
	markedRe = regexp.MustCompile(`⟦[^⟦⟧]*⟧`)
	urlRe    = regexp.MustCompile(`https?://\S+`)
	dateRe   = regexp.MustCompile(`\b\d{1,2}:\d{2} [A-Z]{3,4}\b`) // a clock time's zone
	codeRe   = regexp.MustCompile(`\S*\d\S*`)                     // request ids, counts
)

// outsideMarkers returns what of s is words outside the pseudo markers,
// after taking out the allowed strings, URLs and numbers; "" when none.
func outsideMarkers(s string, allowed []string) string {
	// Markers nest (a message inside a message): strip inner ones first.
	for prev := ""; prev != s; {
		prev = s
		s = markedRe.ReplaceAllString(s, " ")
	}
	s = urlRe.ReplaceAllString(s, " ")
	s = dateRe.ReplaceAllString(s, " ")
	s = codeRe.ReplaceAllString(s, " ")
	for _, a := range allowed {
		s = strings.ReplaceAll(s, a, " ")
	}
	if strings.IndexFunc(s, unicode.IsLetter) < 0 {
		return ""
	}
	return strings.TrimSpace(s)
}

// visibleText is what a page shows or reads out: its title, the text of
// the body outside script and style, and the text attributes, joined (a
// message may hold markup, <strong> say, that splits it into nodes).
func visibleText(t *testing.T, doc string) string {
	t.Helper()
	// Without scripting, a noscript element's content is markup, not text.
	root, err := html.ParseWithOptions(strings.NewReader(doc), html.ParseOptionEnableScripting(false))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "style" || n.Data == "link" || n.Data == "meta") {
			return // the head's feed links name formats (Atom, RSS), not words
		}
		if n.Type == html.ElementNode && (n.Data == "code" || n.Data == "textarea" && hasAttr(n, "readonly")) {
			return // parameters and snippets to copy are code, not words
		}
		if n.Type == html.TextNode && strings.TrimSpace(n.Data) != "" {
			out = append(out, n.Data)
		}
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch a.Key {
				case "aria-label", "title", "alt", "placeholder":
					out = append(out, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return strings.Join(out, " ")
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
