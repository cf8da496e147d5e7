package digest_test

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/internal/mail/mailtest"
)

// TestDeliverLanguages: in one run a Danish and a German subscriber get
// their own chrome, greeting and period in the subject; a subscriber
// without a language gets the newsletter's. Each language is composed
// once, as its own variant, and the archive keeps it under a URL-safe key.
func TestDeliverLanguages(t *testing.T) {
	e, _ := composeFixture(t)
	e.subscribers(t, 4, nil)
	db := openRaw(t, e.st.Path())
	db.exec(t, `UPDATE subscribers SET language = 'da' WHERE id IN (1, 4)`)
	db.exec(t, `UPDATE subscribers SET language = 'de' WHERE id = 2`)
	db.close()
	srv := mailtest.NewServer(t, mailtest.Options{})
	s := e.service(t, smtpMailer(t, srv, 2), nil)
	ctx := context.Background()
	run, err := s.PlanSlot(ctx, "monthly", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.DeliverRun(dctx, run.ID); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct{ subject, lang, greeting, chrome string }{
		"user1@example.net": {"Cluster Bridge Monthly — december 2026", "da", "Hej Reader Nº1,", "Læs mere"},
		"user2@example.net": {"Cluster Bridge Monthly — Dezember 2026", "de", "Hallo Reader Nº2,", "Weiterlesen"},
		"user3@example.net": {"Cluster Bridge Monthly — December 2026", "en", "Hello Reader Nº3,", "Read more"},
	}
	got := 0
	for _, m := range srv.Messages() {
		w, ok := want[m.To[0]]
		if !ok {
			continue
		}
		got++
		msg, err := netmail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if subject != w.subject {
			t.Errorf("%s: subject %q, want %q", m.To[0], subject, w.subject)
		}
		text, html := digestParts(t, msg)
		if !strings.Contains(html, `lang="`+w.lang+`"`) || !strings.Contains(html, w.chrome) || !strings.Contains(text, w.greeting) {
			t.Errorf("%s: not in %s (greeting %q, %q):\n%s", m.To[0], w.lang, w.greeting, w.chrome, text)
		}
	}
	if got != len(want) {
		t.Fatalf("%d of %d messages", got, len(want))
	}
	for key, want := range map[string]bool{"all": true, "all.da": true, "all.de": true, "all.en": false, "all.sv": false} {
		if _, ok, err := e.st.Variant(ctx, run.ID, key); err != nil || ok != want {
			t.Errorf("variant %q: stored %v, want %v (%v)", key, ok, want, err)
		}
	}
}

// TestComposePseudo: the digest in en-XA, HTML and text, has no chrome
// outside the catalogue: what is left outside the markers is content
// (titles, summaries, authors), configuration or an address.
func TestComposePseudo(t *testing.T) {
	e, _ := composeFixture(t)
	e.nl.Language = lang.Pseudo
	v := planAll(t, e, nil)
	content := []string{"Cluster Bridge Monthly", "Herald News", "Liesbeth Van den Broeck",
		"Cluster Bridge Secretariat, Lindholmspiren 5, 417 56 Göteborg, Sweden"}
	for _, title := range []string{"Harbour workshop in Århus", "Why <br> tags matter in cluster training", "Study visit to Hamburg"} {
		content = append(content, "Summary of "+title+": what happened & why <it> matters.", title, "Workshop at the harbour")
	}
	html := regexp.MustCompile(`(?s)<style.*?</style>|<[^>]*>`).ReplaceAllString(v.HTML, "\n")
	html = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&", "&#39;", "'", "&#34;", `"`, "&nbsp;", " ").Replace(html)
	for name, body := range map[string]string{"subject": v.Subject, "text": v.Text, "html": html} {
		body = strings.Join(strings.Fields(body), " ") // the text part wraps lines
		for prev := ""; prev != body; {
			prev = body
			body = pseudoMarked.ReplaceAllString(body, " ")
		}
		for _, c := range content {
			body = strings.ReplaceAll(body, c, " ")
		}
		body = regexp.MustCompile(`https?://\S+|~HERALD~[a-z_]+~|&#\d+;`).ReplaceAllString(body, " ")
		if strings.IndexFunc(body, unicode.IsLetter) >= 0 {
			t.Errorf("%s: text outside the catalogue: %q", name, strings.Join(strings.Fields(body), " "))
		}
	}
}

var pseudoMarked = regexp.MustCompile(`⟦[^⟦⟧]*⟧`)

// digestParts returns the decoded text and HTML parts of a digest message.
func digestParts(t *testing.T, msg *netmail.Message) (text, html string) {
	t.Helper()
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return text, html
		}
		if err != nil {
			t.Fatal(err)
		}
		var r io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			r = quotedprintable.NewReader(p)
		}
		b, _ := io.ReadAll(r)
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			html = string(b)
		} else {
			text = string(b)
		}
	}
}
