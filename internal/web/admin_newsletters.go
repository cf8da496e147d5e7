package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/store"
)

// The newsletter pages of the admin web UI (docs/ARCHITECTURE.md, "Admin
// newsletters and runs"): settings, the next digest, previews, test sends
// and send now. Every action calls the digest service the API and the
// CLI call.

// AdminDigest is what the newsletter and run pages need of the digest:
// *digest.Service provides it.
type AdminDigest interface {
	APIDigest
	Newsletters() []digest.Newsletter
	NextSlot(newsletter string, after time.Time) (time.Time, error)
	Upcoming(ctx context.Context, newsletter string) (now, waiting []article.Article, err error)
	PreviewTopics(ctx context.Context, newsletter string, topics []string, format string) (subject, body string, err error)
}

// AdminAudience counts who a run of a newsletter would go to now: the
// active subscribers of it, as planning a run selects them.
type AdminAudience interface {
	Recipients(ctx context.Context, newsletter string) (int, error)
}

// recentRuns is how many runs a newsletter's page lists.
const recentRuns = 50

// digestOn returns the digest, or a 404 page when serve has no
// newsletters.
func (a *adminUI) digestOn() (AdminDigest, error) {
	if a.cfg.Digest == nil {
		return nil, Errorf(http.StatusNotFound, "No newsletters are configured, so there are no digests to show.")
	}
	return a.cfg.Digest, nil
}

// auditAction records an admin write in the audit log: who, what, when,
// from where.
func (a *adminUI) auditAction(r *http.Request, action, detail string) error {
	wh := who(r)
	_, err := a.cfg.Store.AddAudit(r.Context(), store.AuditEntry{At: a.s.cfg.Now(), UserID: wh.User.ID, Email: wh.User.Email,
		Action: action, Detail: detail, IP: a.s.clientIP(r)})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

type newsletterRow struct {
	N    digest.Newsletter
	Next time.Time
	Last *digest.RunInfo
}

// newslettersPage: GET /admin/newsletters lists the configured
// newsletters with their next slot and latest run.
func (a *adminUI) newslettersPage(w http.ResponseWriter, r *http.Request) error {
	d, err := a.digestOn()
	if err != nil {
		return err
	}
	var rows []newsletterRow
	for _, n := range d.Newsletters() {
		row := newsletterRow{N: n}
		if row.Next, err = d.NextSlot(n.ID, a.s.cfg.Now()); err != nil {
			return err
		}
		runs, err := d.Runs(r.Context(), n.ID, 1)
		if err != nil {
			return err
		}
		if len(runs) > 0 {
			row.Last = &runs[0]
		}
		rows = append(rows, row)
	}
	a.render(w, r, http.StatusOK, "newsletters", adminView{Title: "Newsletters", Data: rows})
	return nil
}

// previewChoice is whom a preview shows the digest to: a subscriber by
// address, or a chosen set of topics (none: the full issue).
type previewChoice struct {
	As     string
	Topics []string
}

func previewOf(r *http.Request) previewChoice {
	q := r.URL.Query()
	p := previewChoice{As: strings.TrimSpace(q.Get("as"))}
	if p.As == "" {
		for _, t := range q["topic"] {
			if t = strings.TrimSpace(t); t != "" && !slices.Contains(p.Topics, t) {
				p.Topics = append(p.Topics, t)
			}
		}
	}
	return p
}

// query is the choice as a query string for the preview's own URL.
func (p previewChoice) query(format string) string {
	v := url.Values{"format": {format}}
	if p.As != "" {
		v.Set("as", p.As)
	}
	if len(p.Topics) > 0 {
		v["topic"] = p.Topics
	}
	return v.Encode()
}

func (p previewChoice) render(ctx context.Context, d AdminDigest, id, format string) (subject, body string, err error) {
	if p.As != "" {
		return d.Preview(ctx, id, p.As, format)
	}
	return d.PreviewTopics(ctx, id, p.Topics, format)
}

type topicOption struct {
	Slug, Name string
	Checked    bool
}

type newsletterData struct {
	N          digest.Newsletter
	Next       time.Time
	Now        []article.Article
	Waiting    []article.Article
	Runs       []digest.RunInfo
	Recipients int
	Preview    previewChoice
	TopicOpts  []topicOption
	Subject    string
	Text       string
	FrameURL   string
	Skipped    string // why the chosen recipient would get nothing
	CanSend    bool   // manager or owner: send now
}

// newsletterPage: GET /admin/newsletters/{id}?as=EMAIL|topic=SLUG…
func (a *adminUI) newsletterPage(w http.ResponseWriter, r *http.Request) error {
	d, n, err := a.newsletterOf(r)
	if err != nil {
		return err
	}
	ctx, id := r.Context(), n.ID
	v := newsletterData{N: n, Preview: previewOf(r), CanSend: roleAtLeast(who(r).User.Role, store.RoleManager)}
	if v.Next, err = d.NextSlot(id, a.s.cfg.Now()); err != nil {
		return err
	}
	if v.Now, v.Waiting, err = d.Upcoming(ctx, id); err != nil {
		return err
	}
	if v.Runs, err = d.Runs(ctx, id, recentRuns); err != nil {
		return err
	}
	if v.Recipients, err = a.recipients(ctx, id); err != nil {
		return err
	}
	v.TopicOpts = topicOptions(v.Now, v.Preview.Topics)
	v.Subject, v.Text, err = v.Preview.render(ctx, d, id, "text")
	switch {
	case errors.Is(err, digest.ErrNoMatch):
		v.Skipped = "No article of the next digest matches these topics, so this recipient would get no message."
	case err != nil:
		return err
	default:
		v.FrameURL = "/admin/newsletters/" + url.PathEscape(id) + "/preview?" + v.Preview.query("html")
	}
	a.render(w, r, http.StatusOK, "newsletter", adminView{Title: n.Title, Data: v})
	return nil
}

// newsletterOf is the digest and the newsletter of an /admin/newsletters/{id} path.
func (a *adminUI) newsletterOf(r *http.Request) (AdminDigest, digest.Newsletter, error) {
	d, err := a.digestOn()
	if err != nil {
		return nil, digest.Newsletter{}, err
	}
	n, err := findNewsletter(d, r.PathValue("id"))
	return d, n, err
}

// recipients is how many a run planned now would go to (0 when serve
// has no way to count them).
func (a *adminUI) recipients(ctx context.Context, newsletter string) (int, error) {
	if a.cfg.Audience == nil {
		return 0, nil
	}
	return a.cfg.Audience.Recipients(ctx, newsletter)
}

func findNewsletter(d AdminDigest, id string) (digest.Newsletter, error) {
	for _, n := range d.Newsletters() {
		if n.ID == id {
			return n, nil
		}
	}
	return digest.Newsletter{}, Errorf(http.StatusNotFound, "There is no newsletter %q in the configuration.", id)
}

// topicOptions are the topic tags of the next digest's articles, to
// choose a preview by.
func topicOptions(arts []article.Article, chosen []string) []topicOption {
	var out []topicOption
	seen := map[string]bool{}
	for _, a := range arts {
		for _, t := range a.Tags {
			if !seen[t.Slug] {
				seen[t.Slug] = true
				out = append(out, topicOption{Slug: t.Slug, Name: t.Name, Checked: slices.Contains(chosen, t.Slug)})
			}
		}
	}
	slices.SortFunc(out, func(x, y topicOption) int { return strings.Compare(x.Slug, y.Slug) })
	return out
}

// previewCSP lets the digest's own markup show in the page's sandboxed
// iframe (same origin only) and run nothing.
const previewCSP = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"

// newsletterPreview: GET /admin/newsletters/{id}/preview?format=html|text
// &as=|topic= is the digest alone, for the page's iframe.
func (a *adminUI) newsletterPreview(w http.ResponseWriter, r *http.Request) error {
	d, err := a.digestOn()
	if err != nil {
		return err
	}
	format, ctype, err := previewFormat(r)
	if err != nil {
		return err
	}
	_, body, err := previewOf(r).render(r.Context(), d, r.PathValue("id"), format)
	if err != nil {
		return err
	}
	writePreview(w, r, ctype, previewCSP, body)
	return nil
}

// previewFormat reads a preview's ?format= (html, the default, or text)
// and its Content-Type.
func previewFormat(r *http.Request) (format, ctype string, err error) {
	switch format = r.URL.Query().Get("format"); format {
	case "", "html":
		return "html", "text/html; charset=utf-8", nil
	case "text":
		return "text", "text/plain; charset=utf-8", nil
	}
	return "", "", &HTTPError{Status: http.StatusBadRequest, Field: "format", Msg: "format must be html or text"}
}

// writePreview answers with a rendered digest (the API's preview and the
// admin page's frame); csp applies to HTML only.
func writePreview(w http.ResponseWriter, r *http.Request, ctype, csp, body string) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	if strings.HasPrefix(ctype, "text/html") {
		h.Set("Content-Security-Policy", csp)
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write([]byte(body)) //nolint:errcheck // the client went away
	}
}

// newsletterTest: POST /admin/newsletters/{id}/test sends the next digest
// to the signed-in user's address, marked as a test (digest.SendTest, as
// `digest send --test-to`).
func (a *adminUI) newsletterTest(w http.ResponseWriter, r *http.Request) error {
	d, err := a.digestOn()
	if err != nil {
		return err
	}
	id, to := r.PathValue("id"), who(r).User.Email
	run, err := d.SendTest(r.Context(), id, to)
	if errors.Is(err, digest.ErrSendFailed) {
		return Errorf(http.StatusBadGateway, "The test could not be sent to %s: %v", to, err)
	}
	if err != nil {
		return err
	}
	if err := a.auditAction(r, "digest.test", fmt.Sprintf("%s run %d to %s", id, run.ID, to)); err != nil {
		return err
	}
	a.redirect(w, r, "/admin/newsletters/"+url.PathEscape(id), fmt.Sprintf("A test of the next digest was sent to %s.", to))
	return nil
}

type sendConfirm struct {
	N          digest.Newsletter
	Recipients int
	Articles   int
	Waiting    int
}

// newsletterSendConfirm: GET /admin/newsletters/{id}/send asks before
// sending, naming how many would get it.
func (a *adminUI) newsletterSendConfirm(w http.ResponseWriter, r *http.Request) error {
	d, n, err := a.newsletterOf(r)
	if err != nil {
		return err
	}
	v := sendConfirm{N: n}
	now, waiting, err := d.Upcoming(r.Context(), n.ID)
	if err != nil {
		return err
	}
	v.Articles, v.Waiting = len(now), len(waiting)
	if v.Recipients, err = a.recipients(r.Context(), n.ID); err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "newsletter-send", adminView{Title: "Send " + n.Title + " now", Data: v})
	return nil
}

// newsletterSend: POST /admin/newsletters/{id}/send plans a manual run
// (digest.SendNow, as `digest send --now`) and shows its page.
func (a *adminUI) newsletterSend(w http.ResponseWriter, r *http.Request) error {
	d, err := a.digestOn()
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	run, err := d.SendNow(r.Context(), id)
	if err != nil {
		return err
	}
	if err := a.auditAction(r, "digest.send", fmt.Sprintf("%s run %d to %d recipients", id, run.ID, run.Recipients)); err != nil {
		return err
	}
	flash := fmt.Sprintf("Run %d is sending to %d recipients.", run.ID, run.Recipients)
	if run.Status == digest.RunSkipped {
		flash = fmt.Sprintf("Nothing new to send: run %d was recorded as skipped.", run.ID)
	}
	a.redirect(w, r, "/admin/runs/"+strconv.FormatInt(run.ID, 10), flash)
	return nil
}
