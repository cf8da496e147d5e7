package web

import (
	"context"
	"errors"
	html_ "html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/store"
)

// Archive is what the newsletter archive reads: the digest store.
type Archive interface {
	ListRuns(ctx context.Context, newsletter string, sentOnly bool, limit int) ([]digest.Run, error)
	GetRun(ctx context.Context, runID int64) (*digest.Run, error)
	Variant(ctx context.Context, runID int64, key string) (*digest.Variant, bool, error)
	// RunArticleSpans: per run, its oldest and newest article's date.
	RunArticleSpans(ctx context.Context, runIDs []int64) (map[int64][2]time.Time, error)
}

// archiveEntry is one sent digest in the /newsletters list. Issues may
// share a subject ("Monthly — December 2026" twice): Period, the dates of
// the articles it carries, and the article count tell them apart.
type archiveEntry struct {
	URL, Newsletter, Subject string
	Date                     time.Time
	Articles                 int
	Period                   string // "" when none of its articles is left
}

// archiveCSP: a digest page is the email's own HTML, styled inline, with
// images from anywhere and nothing that runs.
const archiveCSP = "default-src 'none'; img-src https: http: data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// handleNewsletters lists every sent digest, newest first.
func (s *Server) handleNewsletters(w http.ResponseWriter, r *http.Request) {
	runs, err := s.cfg.Archive.ListRuns(r.Context(), "", true, 500)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]int64, len(runs))
	for i, run := range runs {
		ids[i] = run.ID
	}
	spans, err := s.cfg.Archive.RunArticleSpans(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.localizer(r)
	var list []archiveEntry
	for _, run := range runs {
		title := s.cfg.NewsletterTitles[run.Newsletter]
		if title == "" {
			title = run.Newsletter
		}
		list = append(list, archiveEntry{
			URL:        "/newsletters/" + run.Newsletter + "/" + strconv.FormatInt(run.ID, 10),
			Newsletter: title, Subject: run.Subject, Date: run.SlotAt, Articles: run.Articles,
		})
		if span, ok := spans[run.ID]; ok {
			list[len(list)-1].Period = l.Period(span[0].In(s.cfg.Site.Location), span[1].In(s.cfg.Site.Location))
		}
	}
	s.render(w, r, http.StatusOK, "newsletters", &pageData{
		L: l, Title: l.T("page.newsletters"), Canonical: s.abs("/newsletters"), Extra: list,
		Description: l.T("archive.description", "Site", s.cfg.Site.Title),
	})
}

// handleNewsletterRun shows one sent digest as a web page, without
// personal links: the "view in browser" link. /newsletters/{n}/{run} is the
// full issue; /newsletters/{n}/{run}/{variant} the selection a topic
// subscriber got, whose footer names its topics, or the issue in another
// language ("all.de", "a:3,7.sv": docs/ARCHITECTURE.md, "Languages").
func (s *Server) handleNewsletterRun(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("variant")
	// The issue is in the language its variant was composed in; so is
	// what Herald says around it (an error page here).
	l := s.localizer(r)
	if _, code := digest.SplitVariantKey(key); s.catalog().Has(code) {
		l = s.catalog().L(code) // the address names it, whoever asks
	}
	id, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil || id < 1 {
		s.failIn(w, r, l, keyErr(http.StatusNotFound, "archive.no_issue"))
		return
	}
	run, err := s.cfg.Archive.GetRun(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		err = keyErr(http.StatusNotFound, "archive.no_issue")
	}
	if err != nil {
		s.failIn(w, r, l, err)
		return
	}
	// A paused or cancelled run may have reached some readers: their
	// "view in browser" link keeps working (the list shows paused ones).
	sent := (run.Kind == digest.KindScheduled || run.Kind == digest.KindManual) &&
		(run.Status == digest.RunSending || run.Status == digest.RunDone || run.Status == digest.RunPaused || run.Status == digest.RunCancelled)
	if !sent || run.Newsletter != r.PathValue("newsletter") {
		s.failIn(w, r, l, keyErr(http.StatusNotFound, "archive.no_issue"))
		return
	}
	if key == "" || key == digest.VariantAll {
		key = digest.VariantWeb
	}
	v, ok, err := s.cfg.Archive.Variant(r.Context(), id, key)
	if err != nil {
		s.failIn(w, r, l, err)
		return
	}
	if sel, _ := digest.SplitVariantKey(key); !ok || (key != digest.VariantWeb && sel != digest.VariantAll && !strings.HasPrefix(sel, "a:")) {
		s.failIn(w, r, l, keyErr(http.StatusNotFound, "archive.no_web"))
		return
	}
	if key != digest.VariantWeb {
		v.HTML = s.webCopy(v.HTML)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(v.HTML)))
	h.Set("Content-Security-Policy", archiveCSP)
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Method != http.MethodHead {
		w.Write([]byte(v.HTML))
	}
}

// slotRe matches the personal-value markers a mail variant holds
// (internal/mail's Slot).
var slotRe = regexp.MustCompile(`~HERALD~[a-z_]+~`)

// webCopy turns a topic variant's mail HTML into its web page: no
// greeting, and the subscription links lead to the subscribe page.
func (s *Server) webCopy(html string) string {
	sub := html_.EscapeString(s.abs("/subscribe"))
	return slotRe.ReplaceAllStringFunc(html, func(m string) string {
		switch m {
		case mail.Slot(digest.SlotUnsubscribeHTML), mail.Slot(digest.SlotPreferencesHTML):
			return sub
		}
		return ""
	})
}

// handleNewsletterTest is where the links of a test send lead when it went
// to an address without a subscription: a page that says so, not an error.
func (s *Server) handleNewsletterTest(w http.ResponseWriter, r *http.Request) {
	title := s.cfg.NewsletterTitles[r.PathValue("newsletter")]
	if title == "" {
		s.fail(w, r, keyErr(http.StatusNotFound, "archive.no_newsletter"))
		return
	}
	l := s.localizer(r)
	w.Header().Set("X-Robots-Tag", "noindex")
	s.render(w, r, http.StatusOK, "notice", &pageData{L: l, Title: l.T("archive.test_title"),
		Message: l.T("archive.test", "Newsletter", title),
		Extra:   noticeExtra{Link: &noticeLink{URL: "/newsletters", Text: l.T("archive.test_link")}}})
}
