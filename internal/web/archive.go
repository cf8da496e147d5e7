package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-news/herald/digest"
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

// handleNewsletterRun shows one sent digest as a web page (the full
// variant, without personal links): the "view in browser" link.
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
	v, ok, err := s.cfg.Archive.Variant(r.Context(), id, digest.VariantWeb)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		s.fail(w, r, Errorf(http.StatusNotFound, "This issue has no web version."))
		return
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
