package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/store"
)

// The run page of the admin web UI (docs/ARCHITECTURE.md, "Admin
// newsletters and runs"): status and counts that the page's script polls
// while the run sends, the per-recipient deliveries, and pause, resume
// and cancel through the digest service's run control.

// deliveriesPerPage is how many deliveries a run page lists at once.
const deliveriesPerPage = 50

// runProgress is a run's state as the page's script reads it.
type runProgress struct {
	ID         int64  `json:"id"`
	Status     string `json:"status"`
	Recipients int    `json:"recipients"`
	Settled    int    `json:"settled"`
	Pending    int    `json:"pending"`
	Sending    int    `json:"sending"`
	Sent       int    `json:"sent"`
	Failed     int    `json:"failed"`
	Skipped    int    `json:"skipped"`
	Bounced    int    `json:"bounced"`
	// Live says the run may still change on its own (the script keeps
	// asking).
	Live bool `json:"live"`
}

func progressOf(info *digest.RunInfo) runProgress {
	c := info.Counts
	return runProgress{ID: info.ID, Status: string(info.Status), Recipients: info.Recipients,
		Settled: c.Sent + c.Failed + c.Skipped + c.Bounced, Pending: c.Pending, Sending: c.Sending,
		Sent: c.Sent, Failed: c.Failed, Skipped: c.Skipped, Bounced: c.Bounced,
		Live: info.Status == digest.RunPlanned || info.Status == digest.RunSending}
}

// runControls are the run control actions, in the order the page shows
// them, with the run statuses each is offered in (the store decides).
var runControls = []struct {
	Op, Label string
	When      []digest.RunStatus
}{
	{"pause", "Pause", []digest.RunStatus{digest.RunPlanned, digest.RunSending}},
	{"resume", "Resume", []digest.RunStatus{digest.RunPaused}},
	{"cancel", "Cancel", []digest.RunStatus{digest.RunPlanned, digest.RunSending, digest.RunPaused}},
}

type runControlView struct {
	Op, Label, When string // When: the statuses, space-separated, for the script
	Shown           bool
}

type runData struct {
	Info       *digest.RunInfo
	Title      string // the newsletter's
	P          runProgress
	Controls   []runControlView // empty for editors
	Deliveries []digest.DeliveryRow
	Status     string // the filter
	Query      string
	Next       int64 // cursor of the next page; 0: none
	After      int64
	Statuses   []string
}

// runFromPath reads the {id} of a /admin/runs/{id} path and the run.
func (a *adminUI) runFromPath(r *http.Request) (AdminDigest, *digest.RunInfo, error) {
	d, err := a.digestOn()
	if err != nil {
		return nil, nil, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return nil, nil, Errorf(http.StatusNotFound, "There is no run %q.", r.PathValue("id"))
	}
	info, err := d.RunInfo(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, Errorf(http.StatusNotFound, "There is no run %d.", id)
	}
	return d, info, err
}

// runPage: GET /admin/runs/{id}?status=&q=&after=
func (a *adminUI) runPage(w http.ResponseWriter, r *http.Request) error {
	d, info, err := a.runFromPath(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	v := runData{Info: info, Title: info.Newsletter, P: progressOf(info), Status: q.Get("status"), Query: strings.TrimSpace(q.Get("q")),
		Statuses: []string{"pending", "sending", "sent", "failed", "skipped", "bounced"}}
	if n, err := findNewsletter(d, info.Newsletter); err == nil {
		v.Title = n.Title
	}
	var errs []fieldError
	status := digest.DeliveryStatus(v.Status)
	if v.Status != "" && !slices.Contains(v.Statuses, v.Status) {
		errs = append(errs, fieldError{"status", "Choose a delivery status from the list."})
		status, v.Status = "", ""
	}
	if s := q.Get("after"); s != "" {
		if v.After, err = strconv.ParseInt(s, 10, 64); err != nil || v.After < 0 {
			return Errorf(http.StatusBadRequest, "The page cursor %q is not one this page gave out.", s)
		}
	}
	if v.Deliveries, v.Next, err = deliveryPage(r.Context(), d, info.ID, status, v.Query, v.After, deliveriesPerPage); err != nil {
		return err
	}
	if roleAtLeast(who(r).User.Role, store.RoleManager) {
		for _, c := range runControls {
			var when []string
			shown := false
			for _, st := range c.When {
				when = append(when, string(st))
				shown = shown || st == info.Status
			}
			v.Controls = append(v.Controls, runControlView{Op: c.Op, Label: c.Label, When: strings.Join(when, " "), Shown: shown})
		}
	}
	a.render(w, r, http.StatusOK, "run", adminView{Title: fmt.Sprintf("Run %d", info.ID), Data: v, Errors: errs})
	return nil
}

// deliveryPage pages a run's deliveries: status ("" any), an address
// search (any case; the digest service folds it), after a subscriber id;
// next is the cursor of the following page (0: none).
func deliveryPage(ctx context.Context, d AdminDigest, runID int64, status digest.DeliveryStatus, query string, after int64, limit int) ([]digest.DeliveryRow, int64, error) {
	rows, err := d.DeliveryPage(ctx, runID, digest.DeliveryFilter{Status: status, Query: query}, after, limit+1)
	if err != nil {
		return nil, 0, err
	}
	if len(rows) > limit {
		return rows[:limit], rows[limit-1].SubscriberID, nil
	}
	return rows, 0, nil
}

// runProgressJSON: GET /admin/runs/{id}/progress is the run's status and
// counts for the page's script.
func (a *adminUI) runProgressJSON(w http.ResponseWriter, r *http.Request) error {
	_, info, err := a.runFromPath(r)
	if err != nil {
		return err
	}
	b, err := json.Marshal(progressOf(info))
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b) //nolint:errcheck // the client went away
	return nil
}

type runConfirm struct {
	Info       *digest.RunInfo
	Op, Label  string
	Settled    int
	Consequent string
}

// runConfirmPage makes the handler of GET /admin/runs/{id}/{op}: the
// confirmation step of pause, resume or cancel.
func runConfirmPage(op string) adminHandler {
	return func(a *adminUI, w http.ResponseWriter, r *http.Request) error {
		_, info, err := a.runFromPath(r)
		if err != nil {
			return err
		}
		v := runConfirm{Info: info, Op: op, Settled: progressOf(info).Settled}
		switch op {
		case "pause":
			v.Label, v.Consequent = "Pause", "No further message of this run is started until it is resumed; messages already in hand finish."
		case "resume":
			v.Label, v.Consequent = "Resume", "The run carries on where it stopped."
		default:
			v.Label, v.Consequent = "Cancel", "Every message not yet sent is skipped. This cannot be undone."
		}
		a.render(w, r, http.StatusOK, "run-confirm", adminView{Title: fmt.Sprintf("%s run %d", v.Label, info.ID), Data: v})
		return nil
	}
}

// runControl makes the handler of POST /admin/runs/{id}/{op}: the digest
// service's PauseRun, ResumeRun or CancelRun, which every process
// sending the run honours (docs/ARCHITECTURE.md, "Digest runs").
func runControl(op string) adminHandler {
	return func(a *adminUI, w http.ResponseWriter, r *http.Request) error {
		d, info, err := a.runFromPath(r)
		if err != nil {
			return err
		}
		do := map[string]func(context.Context, int64) (*digest.Run, error){"pause": d.PauseRun, "resume": d.ResumeRun, "cancel": d.CancelRun}[op]
		target := "/admin/runs/" + strconv.FormatInt(info.ID, 10)
		run, err := do(r.Context(), info.ID)
		if errors.Is(err, digest.ErrRunState) {
			a.redirect(w, r, target, fmt.Sprintf("Run %d is %s now, so it cannot be %s.", info.ID, info.Status, pastTense(op)))
			return nil
		}
		if err != nil {
			return err
		}
		if err := a.auditAction(r, "digest."+op, fmt.Sprintf("%s run %d", run.Newsletter, run.ID)); err != nil {
			return err
		}
		a.redirect(w, r, target, fmt.Sprintf("Run %d is %s.", run.ID, run.Status))
		return nil
	}
}

func pastTense(op string) string {
	if op == "cancel" {
		return "cancelled"
	}
	return op + "d"
}
