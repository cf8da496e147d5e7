package web

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	netmail "net/mail"
	"strconv"
	"time"

	"github.com/herald-news/herald/digest"
)

// APIDigest is what the admin API needs of the digest: *digest.Service
// provides it (reads go to its store; sends through its workers).
type APIDigest interface {
	Runs(ctx context.Context, newsletter string, limit int) ([]digest.RunInfo, error)
	RunInfo(ctx context.Context, runID int64) (*digest.RunInfo, error)
	DeliveryPage(ctx context.Context, runID int64, f digest.DeliveryFilter, after int64, limit int) ([]digest.DeliveryRow, error)
	Preview(ctx context.Context, newsletter, as, format string) (subject, body string, err error)
	SendTest(ctx context.Context, newsletter, to string) (*digest.Run, error)
	SendNow(ctx context.Context, newsletter string) (*digest.Run, error)
	PauseRun(ctx context.Context, runID int64) (*digest.Run, error)
	ResumeRun(ctx context.Context, runID int64) (*digest.Run, error)
	CancelRun(ctx context.Context, runID int64) (*digest.Run, error)
}

// digestStatus maps the digest's errors for statusOf.
func digestStatus(err error) int {
	switch {
	case errors.Is(err, digest.ErrUnknownNewsletter):
		return http.StatusNotFound
	case errors.Is(err, digest.ErrRunState), errors.Is(err, digest.ErrAlreadyPlanned):
		return http.StatusConflict
	case errors.Is(err, digest.ErrNoMatch):
		return http.StatusUnprocessableEntity
	case errors.Is(err, digest.ErrSendFailed):
		return http.StatusBadGateway
	}
	return 0
}

// apiRun is a run in JSON, with its deliveries counted.
type apiRun struct {
	ID         int64        `json:"id"`
	Newsletter string       `json:"newsletter"`
	Slot       string       `json:"slot"`
	SlotAt     time.Time    `json:"slot_at"`
	Kind       string       `json:"kind"`
	Status     string       `json:"status"`
	Subject    string       `json:"subject"`
	Articles   int          `json:"articles"`
	Recipients int          `json:"recipients"`
	CreatedAt  time.Time    `json:"created_at"`
	StartedAt  *time.Time   `json:"started_at,omitempty"`
	FinishedAt *time.Time   `json:"finished_at,omitempty"`
	Failure    string       `json:"failure,omitempty"`
	Counts     *apiCounts   `json:"counts,omitempty"`
	Feedback   *apiFeedback `json:"feedback,omitempty"`
}

// apiFeedback is a run's bounces and complaints; the rates are fractions
// of the messages sent, bounced ones included.
type apiFeedback struct {
	Hard          int     `json:"hard"`
	Soft          int     `json:"soft"`
	Complaints    int     `json:"complaints"`
	BounceRate    float64 `json:"bounce_rate"`
	ComplaintRate float64 `json:"complaint_rate"`
}

type apiCounts struct {
	Planned int `json:"planned"`
	Pending int `json:"pending"`
	Sending int `json:"sending"`
	Sent    int `json:"sent"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	Bounced int `json:"bounced"`
}

type apiRunList struct {
	Runs []apiRun `json:"runs"`
}

type apiDelivery struct {
	SubscriberID int64      `json:"subscriber_id"`
	Email        string     `json:"email"`
	Status       string     `json:"status"`
	Attempts     int        `json:"attempts"`
	Reply        string     `json:"reply,omitempty"`
	MessageID    string     `json:"message_id,omitempty"`
	SentAt       *time.Time `json:"sent_at,omitempty"`
}

type apiDeliveryList struct {
	Deliveries []apiDelivery `json:"deliveries"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

type apiTestSend struct {
	To string `json:"to"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func runJSON(r *digest.Run, c *digest.Counts) apiRun {
	out := apiRun{ID: r.ID, Newsletter: r.Newsletter, Slot: r.Slot, SlotAt: r.SlotAt, Kind: string(r.Kind), Status: string(r.Status),
		Subject: r.Subject, Articles: r.Articles, Recipients: r.Recipients, CreatedAt: r.CreatedAt,
		StartedAt: timePtr(r.StartedAt), FinishedAt: timePtr(r.FinishedAt), Failure: r.Failure}
	if c != nil {
		out.Counts = &apiCounts{Planned: c.Planned, Pending: c.Pending, Sending: c.Sending, Sent: c.Sent, Failed: c.Failed, Skipped: c.Skipped, Bounced: c.Bounced}
	}
	return out
}

// digestAPI returns the digest operations, or a 404 when serve runs
// without newsletters.
func (a *api) digest() (APIDigest, error) {
	if a.cfg.Digest == nil {
		return nil, &HTTPError{Status: http.StatusNotFound, Msg: "digests are not available here (no newsletters configured)"}
	}
	return a.cfg.Digest, nil
}

// runID reads the {id} of a /runs/{id} path.
func runID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, &HTTPError{Status: http.StatusNotFound, Msg: fmt.Sprintf("no run %q", r.PathValue("id"))}
	}
	return id, nil
}

// writeRun answers with the run as it now stands, with its counts.
func (a *api) writeRun(w http.ResponseWriter, r *http.Request, d APIDigest, status int, id int64) error {
	info, err := d.RunInfo(r.Context(), id)
	if err != nil {
		return err
	}
	out := runJSON(&info.Run, &info.Counts)
	if f := info.Feedback; f != nil {
		out.Feedback = &apiFeedback{Hard: f.Hard, Soft: f.Soft, Complaints: f.Complaints, BounceRate: f.HardRate(), ComplaintRate: f.ComplaintRate()}
	}
	writeAPIJSON(w, r, status, out)
	return nil
}

// listRuns: GET /api/v1/newsletters/{id}/runs?limit=
func listRuns(a *api, w http.ResponseWriter, r *http.Request) error {
	d, err := a.digest()
	if err != nil {
		return err
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	runs, err := d.Runs(r.Context(), r.PathValue("id"), limit)
	if err != nil {
		return err
	}
	out := apiRunList{Runs: make([]apiRun, 0, len(runs))}
	for i := range runs {
		out.Runs = append(out.Runs, runJSON(&runs[i].Run, &runs[i].Counts))
	}
	writeAPIJSON(w, r, http.StatusOK, out)
	return nil
}

// getRun: GET /api/v1/runs/{id}
func getRun(a *api, w http.ResponseWriter, r *http.Request) error {
	d, err := a.digest()
	if err != nil {
		return err
	}
	id, err := runID(r)
	if err != nil {
		return err
	}
	return a.writeRun(w, r, d, http.StatusOK, id)
}

// listDeliveries: GET /api/v1/runs/{id}/deliveries?status=&limit=&cursor=
func listDeliveries(a *api, w http.ResponseWriter, r *http.Request) error {
	d, err := a.digest()
	if err != nil {
		return err
	}
	id, err := runID(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var status digest.DeliveryStatus
	switch st := digest.DeliveryStatus(q.Get("status")); st {
	case "", "all":
	case digest.DeliveryPending, digest.DeliverySending, digest.DeliverySent, digest.DeliveryFailed, digest.DeliverySkipped, digest.DeliveryBounced:
		status = st
	default:
		return &HTTPError{Status: http.StatusBadRequest, Field: "status", Msg: "status must be pending, sending, sent, failed, skipped or all"}
	}
	limit, err := queryLimit(r)
	if err != nil {
		return err
	}
	var after int64
	if c := q.Get("cursor"); c != "" {
		b, err := base64.RawURLEncoding.DecodeString(c)
		if err == nil {
			after, err = strconv.ParseInt(string(b), 10, 64)
		}
		if err != nil || after < 1 {
			return &HTTPError{Status: http.StatusBadRequest, Field: "cursor", Msg: "cursor is not one this API gave out (use next_cursor as it is)"}
		}
	}
	rows, err := d.DeliveryPage(r.Context(), id, digest.DeliveryFilter{Status: status}, after, limit+1)
	if err != nil {
		return err
	}
	out := apiDeliveryList{Deliveries: make([]apiDelivery, 0, min(len(rows), limit))}
	for i, row := range rows {
		if i == limit {
			out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(rows[i-1].SubscriberID, 10)))
			break
		}
		out.Deliveries = append(out.Deliveries, apiDelivery{SubscriberID: row.SubscriberID, Email: row.Email, Status: string(row.Status),
			Attempts: row.Attempts, Reply: row.Reply, MessageID: row.MessageID, SentAt: timePtr(row.SentAt)})
	}
	writeAPIJSON(w, r, http.StatusOK, out)
	return nil
}

// previewDigest: GET /api/v1/newsletters/{id}/preview?format=html|text&as=EMAIL
func previewDigest(a *api, w http.ResponseWriter, r *http.Request) error {
	d, err := a.digest()
	if err != nil {
		return err
	}
	format, ctype, err := previewFormat(r)
	if err != nil {
		return err
	}
	_, body, err := d.Preview(r.Context(), r.PathValue("id"), r.URL.Query().Get("as"), format)
	if err != nil {
		return err
	}
	// The digest's own markup, shown on the API's origin: no scripts.
	writePreview(w, r, ctype, "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; sandbox", body)
	return nil
}

// sendTestDigest: POST /api/v1/newsletters/{id}/test {"to": EMAIL} sends
// the would-be digest to one address, marked as a test, moving no window.
func sendTestDigest(a *api, w http.ResponseWriter, r *http.Request) error {
	d, err := a.digest()
	if err != nil {
		return err
	}
	var in apiTestSend
	if err := a.decodeJSON(w, r, &in); err != nil {
		return err
	}
	if addr, err := netmail.ParseAddress(in.To); err != nil || addr.Name != "" || addr.Address != in.To {
		return &HTTPError{Status: http.StatusUnprocessableEntity, Field: "to", Msg: "to must be one email address (name@example.org)"}
	}
	run, err := d.SendTest(r.Context(), r.PathValue("id"), in.To)
	if err != nil {
		return err
	}
	writeAPIJSON(w, r, http.StatusOK, runJSON(run, nil))
	return nil
}

// sendDigestNow: POST /api/v1/newsletters/{id}/send plans a manual run,
// which the running serve's workers deliver: 202 with the run (200 when
// there was nothing new and it was recorded skipped).
func sendDigestNow(a *api, w http.ResponseWriter, r *http.Request) error {
	d, err := a.digest()
	if err != nil {
		return err
	}
	run, err := d.SendNow(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	status := http.StatusAccepted
	if run.Status == digest.RunSkipped {
		status = http.StatusOK
	}
	w.Header().Set("Location", apiPrefix+"/runs/"+strconv.FormatInt(run.ID, 10))
	return a.writeRun(w, r, d, status, run.ID)
}

// controlRun makes the handlers of POST /api/v1/runs/{id}/pause, resume
// and cancel.
func controlRun(op func(APIDigest, context.Context, int64) (*digest.Run, error)) apiHandler {
	return func(a *api, w http.ResponseWriter, r *http.Request) error {
		d, err := a.digest()
		if err != nil {
			return err
		}
		id, err := runID(r)
		if err != nil {
			return err
		}
		if _, err := op(d, r.Context(), id); err != nil {
			return err
		}
		return a.writeRun(w, r, d, http.StatusOK, id)
	}
}
