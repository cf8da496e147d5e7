package web

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
)

// Subscriber pages for managers and owners (docs/ARCHITECTURE.md, "Admin
// subscribers"): the list with search, filters and paging, adding one,
// CSV import (plan, then apply) and export, and one subscriber's page.
// Every rule is the subscribe service's, as for the CLI and the API.

// AdminSubscribers is what the subscriber pages need: *subscribe.Service.
type AdminSubscribers interface {
	Search(ctx context.Context, f subscribe.Filter, after int64, limit int) (*subscribe.Page, error)
	AddIn(ctx context.Context, language, email, name string, newsletters, tags []string, confirmed bool) (*subscribe.Subscriber, bool, error)
	Get(ctx context.Context, email string) (*subscribe.Subscriber, error)
	Remove(ctx context.Context, email string) (*subscribe.Subscriber, error)
	SetChoice(ctx context.Context, email string, newsletters, tags []string) (*subscribe.Subscriber, error)
	SetLanguage(ctx context.Context, email, language string) (*subscribe.Subscriber, error)
	Erase(ctx context.Context, email string) error
	ExportData(ctx context.Context, email string) (*subscribe.DataExport, error)
	ExportFilter(ctx context.Context, w io.Writer, f subscribe.Filter) error
	PlanImport(ctx context.Context, r io.Reader, opt subscribe.ImportOptions) (*subscribe.ImportPlan, error)
	ApplyImport(ctx context.Context, plan *subscribe.ImportPlan) (*subscribe.ImportReport, error)
	Newsletters() []subscribe.Newsletter
}

// subsPage is the page size of the subscriber list.
const subsPage = 50

// importMaxBody bounds an uploaded CSV (about 300,000 typical rows).
const importMaxBody = 32 << 20

// planTTL is how long an import plan waits for its confirmation.
const planTTL = 15 * time.Minute

// subscribers is the service, or a 404 when serve runs without it.
func (a *adminUI) subscribers() (AdminSubscribers, error) {
	if a.cfg.Subscribers == nil {
		return nil, Errorf(http.StatusNotFound, "Subscribers are not available on this site (no newsletters configured).")
	}
	return a.cfg.Subscribers, nil
}

// subscribersForm is the service for a form whose lists (several
// newsletters) are read from r.PostForm.
func (a *adminUI) subscribersForm(r *http.Request) (AdminSubscribers, error) {
	if err := r.ParseForm(); err != nil {
		return nil, Errorf(http.StatusBadRequest, "The form could not be read.")
	}
	return a.subscribers()
}

// auditSubs records an admin write to subscribers. The write is done, so
// a failure here is logged, not answered.
func (a *adminUI) auditSubs(r *http.Request, action, detail string) {
	ac := a.actor(r)
	e := store.AuditEntry{At: a.s.cfg.Now(), UserID: ac.UserID, Email: ac.Email, Action: action, Detail: detail, IP: ac.IP}
	if _, err := a.cfg.Store.AddAudit(context.WithoutCancel(r.Context()), e); err != nil {
		a.s.log.ErrorContext(r.Context(), "audit log write failed", slog.String("action", action), slog.Any("err", err))
	}
}

// subscriberPath is a subscriber's page.
func subscriberPath(email string) string { return "/admin/subscribers/" + url.PathEscape(email) }

// subsFilter reads the list's filter from the query.
func subsFilter(q url.Values) subscribe.Filter {
	f := subscribe.Filter{Status: subscribe.Status(q.Get("status")), Newsletter: q.Get("newsletter"),
		Tag: strings.TrimSpace(q.Get("tag")), Query: q.Get("q")}
	if f.Status == "all" {
		f.Status = ""
	}
	return f
}

// filterQuery is the query string of f (for paging and export links).
func filterQuery(f subscribe.Filter) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"q": f.Query, "status": string(f.Status), "newsletter": f.Newsletter, "tag": f.Tag} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

type subsListData struct {
	Filter      subscribe.Filter
	Statuses    []subscribe.Status
	Newsletters []subscribe.Newsletter
	Page        *subscribe.Page
	Rows        []subsRow
	Next        string // the next page's URL, "" on the last
	First       string // the first page's URL when not on it
	Export      string // the export link for this filter
	Add         subsAddForm
	Languages   []option // site.languages for the add form
}

// subsRow is a subscriber in the list with its page's path.
type subsRow struct {
	*subscribe.Subscriber
	Path string
}

type subsAddForm struct {
	Email, Name, Tags string
	Newsletters       []string
	Language          string // "": site.language
	Confirmed         bool
}

// subscribersPage: GET /admin/subscribers?q=&status=&newsletter=&tag=&after=
func (a *adminUI) subscribersPage(w http.ResponseWriter, r *http.Request) error {
	return a.showSubscribers(w, r, http.StatusOK, subsAddForm{}, nil)
}

func (a *adminUI) showSubscribers(w http.ResponseWriter, r *http.Request, status int, add subsAddForm, errs []fieldError) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	f := subsFilter(q)
	var after int64
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			return Errorf(http.StatusBadRequest, "The page link is damaged: go back to the first page.")
		}
	}
	page, err := subs.Search(r.Context(), f, after, subsPage)
	if err != nil {
		return err
	}
	d := subsListData{Filter: f, Statuses: []subscribe.Status{subscribe.StatusPending, subscribe.StatusActive,
		subscribe.StatusUnsubscribed, subscribe.StatusBounced}, Newsletters: subs.Newsletters(), Page: page, Add: add,
		Languages: a.s.languageOptions(cmp.Or(add.Language, a.s.catalog().Default()))}
	for _, sub := range page.Subscribers {
		d.Rows = append(d.Rows, subsRow{sub, subscriberPath(sub.Email)})
	}
	fq := filterQuery(f)
	d.Export = "/admin/subscribers.csv"
	if len(fq) > 0 {
		d.Export += "?" + fq.Encode()
	}
	if after > 0 {
		d.First = "/admin/subscribers?" + fq.Encode()
	}
	if page.Next > 0 {
		fq.Set("after", strconv.FormatInt(page.Next, 10))
		d.Next = "/admin/subscribers?" + fq.Encode()
	}
	a.render(w, r, status, "subscribers", adminView{Title: "Subscribers", Data: d, Errors: errs})
	return nil
}

// addSubscriberForm: POST /admin/subscribers adds one subscriber: active
// at once (the operator vouches for consent) or through the confirmation
// mail, as `herald subscribers add` does.
func (a *adminUI) addSubscriberForm(w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribersForm(r)
	if err != nil {
		return err
	}
	in := subsAddForm{Email: strings.TrimSpace(r.PostFormValue("email")), Name: r.PostFormValue("name"),
		Tags: r.PostFormValue("tags"), Newsletters: r.PostForm["newsletters"], Language: r.PostFormValue("language"),
		Confirmed: r.PostFormValue("confirmed") == "yes"}
	sub, sent, err := subs.AddIn(r.Context(), in.Language, in.Email, in.Name, in.Newsletters, splitTags(in.Tags), in.Confirmed)
	if err != nil {
		field := subsField(err)
		if field == "" {
			return err
		}
		in.Email, in.Name, in.Tags = clipField(in.Email), clipField(in.Name), clipField(in.Tags)
		return a.showSubscribers(w, r, statusOf(err), in, []fieldError{{field, sentence(err.Error())}})
	}
	how := "active"
	if !in.Confirmed {
		how = "pending, confirmation mail sent"
		if !sent {
			how = "pending, confirmation mail queued"
		}
	}
	a.auditSubs(r, "subscribers.add", sub.Email+" ("+how+")")
	a.redirect(w, r, subscriberPath(sub.Email), "Added "+sub.Email+": "+how+".")
	return nil
}

// subsField is the form field a subscribe error is about ("": none, the
// error is not the input's).
func subsField(err error) string {
	switch {
	case errors.Is(err, subscribe.ErrInvalidEmail), errors.Is(err, subscribe.ErrSuppressed):
		return "email"
	case errors.Is(err, subscribe.ErrUnknownNewsletter):
		return "newsletters"
	case errors.Is(err, subscribe.ErrUnknownTag):
		return "tags"
	case errors.Is(err, subscribe.ErrUnknownLanguage):
		return "language"
	case errors.Is(err, subscribe.ErrInvalidInput):
		return "name"
	}
	return ""
}

// splitTags reads a comma-separated list of topics.
func splitTags(s string) []string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// exportSubscribersCSV: GET /admin/subscribers.csv?filter, the current
// filter in the `herald subscribers export` CSV.
func (a *adminUI) exportSubscribersCSV(w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	f := subsFilter(r.URL.Query())
	// Rendered whole first, so an error is still an error page.
	var buf bytes.Buffer
	if err := subs.ExportFilter(r.Context(), &buf, f); err != nil {
		return err
	}
	a.auditSubs(r, "subscribers.export", "filter: "+filterQuery(f).Encode())
	download(w, r, "text/csv; charset=utf-8", "subscribers.csv", buf.Bytes())
	return nil
}

// download answers a file to save.
func download(w http.ResponseWriter, r *http.Request, ctype, name string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(b) //nolint:errcheck // the client went away
	}
}

type subscriberData struct {
	Sub         *subscribe.Subscriber
	Path        string // the page's path; actions are below it
	Deliveries  []subscribe.Delivery
	Newsletters []subscribe.Newsletter
	Tags        string
	Active      bool     // pending or active: the choice can be edited
	Languages   []option // site.languages, the stored one selected
}

// subscriberPage: GET /admin/subscribers/{email}.
func (a *adminUI) subscriberPage(w http.ResponseWriter, r *http.Request) error {
	return a.showSubscriber(w, r, http.StatusOK, nil)
}

func (a *adminUI) showSubscriber(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) error {
	subs, d, err := a.dataOf(r)
	if err != nil {
		return err
	}
	sub := d.Subscriber
	a.render(w, r, status, "subscriber", adminView{Title: sub.Email, Errors: errs, Data: subscriberData{Sub: sub, Path: subscriberPath(sub.Email),
		Deliveries: d.Deliveries, Newsletters: subs.Newsletters(), Tags: strings.Join(sub.Tags, ", "),
		Active:    sub.Status == subscribe.StatusActive || sub.Status == subscribe.StatusPending,
		Languages: a.s.languageOptions(sub.Language)}})
	return nil
}

// dataOf is everything stored about the subscriber the path names.
func (a *adminUI) dataOf(r *http.Request) (AdminSubscribers, *subscribe.DataExport, error) {
	subs, err := a.subscribers()
	if err != nil {
		return nil, nil, err
	}
	d, err := subs.ExportData(r.Context(), r.PathValue("email"))
	return subs, d, err
}

// subscriberStatus: POST /admin/subscribers/{email}/status with
// action=unsubscribe (from everything; the record stays) or reactivate
// (active again for its newsletters: the operator vouches for consent),
// the same calls as the API's PATCH.
func (a *adminUI) subscriberStatus(w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	email := r.PathValue("email")
	var sub *subscribe.Subscriber
	switch r.PostFormValue("action") {
	case "unsubscribe":
		sub, err = subs.Remove(r.Context(), email)
	case "reactivate":
		if sub, err = subs.Get(r.Context(), email); err == nil {
			sub, _, err = subs.AddIn(r.Context(), "", sub.Email, sub.Name, sub.Newsletters, nil, true) // nil: keeps its tags
		}
	default:
		return Errorf(http.StatusBadRequest, "Choose unsubscribe or reactivate.")
	}
	if err != nil {
		return err
	}
	a.auditSubs(r, "subscribers.status", sub.Email+" is now "+string(sub.Status))
	a.redirect(w, r, subscriberPath(sub.Email), sub.Email+" is now "+string(sub.Status)+".")
	return nil
}

// subscriberChoice: POST /admin/subscribers/{email}/choice sets the
// newsletters and topics.
func (a *adminUI) subscriberChoice(w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribersForm(r)
	if err != nil {
		return err
	}
	sub, err := subs.SetChoice(r.Context(), r.PathValue("email"), r.PostForm["newsletters"], splitTags(r.PostFormValue("tags")))
	if err != nil {
		if f := subsField(err); f == "newsletters" || f == "tags" {
			return a.showSubscriber(w, r, statusOf(err), []fieldError{{f, sentence(err.Error())}})
		}
		return err
	}
	a.auditSubs(r, "subscribers.choice", fmt.Sprintf("%s: newsletters %s; topics %s", sub.Email,
		strings.Join(sub.Newsletters, ";"), strings.Join(sub.Tags, ";")))
	a.redirect(w, r, subscriberPath(sub.Email), "Saved the newsletters and topics of "+sub.Email+".")
	return nil
}

// subscriberLanguage: POST /admin/subscribers/{email}/language sets the
// language of the subscriber's pages and mails ("": the newsletter's).
func (a *adminUI) subscriberLanguage(w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribersForm(r)
	if err != nil {
		return err
	}
	sub, err := subs.SetLanguage(r.Context(), r.PathValue("email"), r.PostFormValue("language"))
	if err != nil {
		if subsField(err) == "language" {
			return a.showSubscriber(w, r, statusOf(err), []fieldError{{"language", sentence(err.Error())}})
		}
		return err
	}
	a.auditSubs(r, "subscribers.language", sub.Email+": "+cmp.Or(sub.Language, "the newsletter's"))
	a.redirect(w, r, subscriberPath(sub.Email), "Saved the language of "+sub.Email+".")
	return nil
}

// subscriberExport: GET /admin/subscribers/{email}/export, everything
// stored about the person (GDPR art. 15 and 20) as the API's JSON.
func (a *adminUI) subscriberExport(w http.ResponseWriter, r *http.Request) error {
	_, d, err := a.dataOf(r)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	a.auditSubs(r, "subscribers.export-data", d.Subscriber.Email)
	download(w, r, "application/json", fmt.Sprintf("subscriber-%d.json", d.Subscriber.ID), append(b, '\n'))
	return nil
}

// subscriberErase: POST /admin/subscribers/{email}/erase deletes every
// personal datum (GDPR art. 17) once the address is typed to confirm.
// The audit log names the row's id, not the erased address.
func (a *adminUI) subscriberErase(w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	sub, err := subs.Get(r.Context(), r.PathValue("email"))
	if err != nil {
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(r.PostFormValue("confirm")), sub.Email) {
		return a.showSubscriber(w, r, http.StatusBadRequest, []fieldError{{"confirm", "Type the address exactly as shown to confirm the erasure."}})
	}
	if err := subs.Erase(r.Context(), sub.Email); err != nil {
		return err
	}
	a.auditSubs(r, "subscribers.erase", fmt.Sprintf("subscriber #%d", sub.ID))
	a.redirect(w, r, "/admin/subscribers", "Erased everything stored about that subscriber.")
	return nil
}

// importOptions are the import options the uploader chose.
func importOptions(up store.ImportUpload) subscribe.ImportOptions {
	return subscribe.ImportOptions{Confirmed: up.Confirmed, SendOptin: up.SendOptin, Source: up.Name}
}

type importData struct {
	ID, Name string
	Plan     *subscribe.ImportPlan
}

// importPage: GET /admin/import, the upload form.
func (a *adminUI) importPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.subscribers(); err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "import", adminView{Title: "Import subscribers"})
	return nil
}

// planImport: POST /admin/import reads the uploaded CSV and shows what
// importing it would do (nothing is written), keeping the plan for the
// confirmation.
func (a *adminUI) planImport(w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Errorf(http.StatusRequestEntityTooLarge, "The file is larger than %d MiB: split it.", importMaxBody>>20)
		}
		a.render(w, r, http.StatusBadRequest, "import", adminView{Title: "Import subscribers",
			Errors: []fieldError{{"file", "Choose a CSV file to upload."}}})
		return nil
	}
	defer file.Close()
	data, err := io.ReadAll(file)
	if err != nil {
		return err
	}
	up := store.ImportUpload{ID: rand.Text(), UserID: who(r).User.ID, Name: hdr.Filename,
		Confirmed: r.PostFormValue("confirmed") == "yes", SendOptin: r.PostFormValue("optin") == "yes",
		Data: data, Expires: a.s.cfg.Now().Add(planTTL)}
	plan, err := subs.PlanImport(r.Context(), bytes.NewReader(data), importOptions(up))
	if err != nil {
		if plan == nil || len(plan.Errors) == 0 {
			// The whole file is unusable (its header, most often).
			a.render(w, r, http.StatusBadRequest, "import", adminView{Title: "Import subscribers",
				Errors: []fieldError{{"file", "The file cannot be imported: line " + err.Error()}}})
			return nil
		}
		return err
	}
	// The file, not the plan, waits in the store: any instance can take
	// the confirmation, and it is planned again then against the
	// subscribers as they are by that time.
	if err := a.s.cfg.Admin.Store.PutImportUpload(r.Context(), up, a.s.cfg.Now()); err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "import_plan", adminView{Title: "Import: dry run",
		Data: importData{ID: up.ID, Name: hdr.Filename, Plan: plan}})
	return nil
}

// applyImport: POST /admin/import/apply carries out the plan the user
// confirmed.
func (a *adminUI) applyImport(w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	up, err := a.s.cfg.Admin.Store.TakeImportUpload(r.Context(), r.PostFormValue("plan"), who(r).User.ID, a.s.cfg.Now())
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(http.StatusGone, "This import plan has expired or was already used: upload the file again.")
	} else if err != nil {
		return err
	}
	plan, err := subs.PlanImport(r.Context(), bytes.NewReader(up.Data), importOptions(up))
	if err != nil {
		return err
	}
	rep, err := subs.ApplyImport(r.Context(), plan)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("Imported %s: %d added, %d already present and left as they were, %d rows not imported.",
		up.Name, rep.Added, rep.Unchanged, len(rep.Errors))
	if rep.Mailed > 0 {
		msg += fmt.Sprintf(" %d confirmation mails sent.", rep.Mailed)
	}
	a.auditSubs(r, "subscribers.import", msg)
	a.redirect(w, r, "/admin/subscribers", msg)
	return nil
}
