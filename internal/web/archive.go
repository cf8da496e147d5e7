package web

import (
	"context"
	html_ "html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/mail"
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
			list[len(list)-1].Period = datePeriod(span[0].In(s.cfg.Site.Location), span[1].In(s.cfg.Site.Location))
		}
	}
	s.render(w, r, http.StatusOK, "newsletters", &pageData{
		Title: "Newsletters", Canonical: s.abs("/newsletters"), Extra: list,
		Description: "Every newsletter " + s.cfg.Site.Title + " has sent, to read in the browser.",
	})
}

// handleNewsletterRun shows one sent digest as a web page, without
// personal links: the "view in browser" link. /newsletters/{n}/{run} is the
// full issue; /newsletters/{n}/{run}/{variant} the selection a topic
// subscriber got, whose footer names its topics.
func (s *Server) handleNewsletterRun(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("run"), 10, 64)
	if err != nil || id < 1 {
		s.fail(w, r, Errorf(http.StatusNotFound, "There is no such newsletter issue."))
		return
	}
	run, err := s.cfg.Archive.GetRun(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A paused or cancelled run may have reached some readers: their
	// "view in browser" link keeps working (the list shows paused ones).
	sent := (run.Kind == digest.KindScheduled || run.Kind == digest.KindManual) &&
		(run.Status == digest.RunSending || run.Status == digest.RunDone || run.Status == digest.RunPaused || run.Status == digest.RunCancelled)
	if !sent || run.Newsletter != r.PathValue("newsletter") {
		s.fail(w, r, Errorf(http.StatusNotFound, "There is no such newsletter issue."))
		return
	}
	key := r.PathValue("variant")
	if key == "" || key == digest.VariantAll {
		key = digest.VariantWeb
	}
	v, ok, err := s.cfg.Archive.Variant(r.Context(), id, key)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok || (key != digest.VariantWeb && !strings.HasPrefix(key, "a:")) {
		s.fail(w, r, Errorf(http.StatusNotFound, "This issue has no web version."))
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

// datePeriod writes two days as one period, saying the year (and the
// month) once when they share it: "1 December 2026", "3–17 November
// 2026", "24 September – 26 November 2026", "28 December 2026 – 4
// January 2027".
func datePeriod(first, last time.Time) string {
	const full = "2 January 2006"
	switch {
	case first.Format(full) == last.Format(full):
		return last.Format(full)
	case first.Year() != last.Year():
		return first.Format(full) + " – " + last.Format(full)
	case first.Month() != last.Month():
		return first.Format("2 January") + " – " + last.Format(full)
	default:
		return first.Format("2") + "–" + last.Format(full)
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
		s.fail(w, r, Errorf(http.StatusNotFound, "There is no such newsletter."))
		return
	}
	w.Header().Set("X-Robots-Tag", "noindex")
	s.render(w, r, http.StatusOK, "notice", &pageData{Title: "Test message",
		Message: "This link came from a test send of " + title + ". A subscriber's copy links to their own issue in the browser, their preferences and their unsubscribe page.",
		Extra:   noticeExtra{Link: &noticeLink{URL: "/newsletters", Text: "Read the newsletters sent so far"}}})
}
