package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/herald-news/herald/internal/subscribe"
)

// APISubscribers is what the admin API needs for subscribers: the
// subscribe service's operations (as the CLI uses them) and a paged search
// of the store.
type APISubscribers interface {
	Add(ctx context.Context, email, name string, newsletters, tags []string, confirmed bool) (*subscribe.Subscriber, bool, error)
	AddIn(ctx context.Context, language, email, name string, newsletters, tags []string, confirmed bool) (*subscribe.Subscriber, bool, error)
	Remove(ctx context.Context, email string) (*subscribe.Subscriber, error)
	Erase(ctx context.Context, email string) error
	ExportData(ctx context.Context, email string) (*subscribe.DataExport, error)
	Get(ctx context.Context, email string) (*subscribe.Subscriber, error)
	SetLanguage(ctx context.Context, email, language string) (*subscribe.Subscriber, error)
	Export(ctx context.Context, w io.Writer) error
	Newsletter(id string) (subscribe.Newsletter, bool)
	Search(ctx context.Context, f subscribe.Filter, query string, afterID int64, limit int) ([]*subscribe.Subscriber, error)
}

type apiSubscriberList struct {
	Subscribers []*subscribe.Subscriber `json:"subscribers"`
	NextCursor  string                  `json:"next_cursor,omitempty"`
}

type apiSubscriberIn struct {
	Email       string   `json:"email"`
	Name        string   `json:"name"`
	Newsletters []string `json:"newsletters"`
	Tags        []string `json:"tags"`
	Language    string   `json:"language"`
	Confirmed   bool     `json:"confirmed"`
}

type apiSubscriberAdded struct {
	Subscriber       *subscribe.Subscriber `json:"subscriber"`
	ConfirmationSent bool                  `json:"confirmation_sent"`
}

// apiSubscriberPatch: each field present is changed; Language is a
// pointer because "" (the newsletter's language) is a value to set.
type apiSubscriberPatch struct {
	Status   subscribe.Status `json:"status"`
	Language *string          `json:"language"`
}

// subscribersOf returns the subscriber operations, or a 404 when serve
// runs without them.
func (a *api) subscribers() (APISubscribers, error) {
	if a.cfg.Subscribers == nil {
		return nil, &HTTPError{Status: http.StatusNotFound, Msg: "subscribers are not available here"}
	}
	return a.cfg.Subscribers, nil
}

// subscriberErr names the field a subscribe error is about; its status
// comes from statusOf as for the pages.
func subscriberErr(err error) error {
	field := ""
	switch {
	case errors.Is(err, subscribe.ErrInvalidEmail):
		field = "email"
	case errors.Is(err, subscribe.ErrUnknownNewsletter):
		field = "newsletters"
	case errors.Is(err, subscribe.ErrUnknownTag):
		field = "tags"
	case errors.Is(err, subscribe.ErrSuppressed):
		field = "email"
	case errors.Is(err, subscribe.ErrUnknownLanguage):
		field = "language"
	default:
		return err
	}
	return &HTTPError{Status: statusOf(err), Field: field, Msg: err.Error()}
}

// listSubscribers: GET /api/v1/subscribers?status=&newsletter=&q=&limit=&cursor=
func listSubscribers(a *api, w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	var f subscribe.Filter
	if st := subscribe.Status(q.Get("status")); st != "" && st != "all" {
		if !st.Valid() {
			return &HTTPError{Status: http.StatusBadRequest, Field: "status", Msg: "status must be pending, active, unsubscribed, bounced or all"}
		}
		f.Status = st
	}
	if nl := q.Get("newsletter"); nl != "" {
		if _, ok := subs.Newsletter(nl); !ok {
			return &HTTPError{Status: http.StatusBadRequest, Field: "newsletter", Msg: fmt.Sprintf("no newsletter %q", nl)}
		}
		f.Newsletter = nl
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
	found, err := subs.Search(r.Context(), f, q.Get("q"), after, limit+1)
	if err != nil {
		return err
	}
	out := apiSubscriberList{Subscribers: found}
	if len(found) > limit {
		out.Subscribers = found[:limit]
		out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(found[limit-1].ID, 10)))
	}
	writeAPIJSON(w, r, http.StatusOK, out)
	return nil
}

// getSubscriber: GET /api/v1/subscribers/{email}
func getSubscriber(a *api, w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	d, err := subs.ExportData(r.Context(), r.PathValue("email"))
	if err != nil {
		return subscriberErr(err)
	}
	writeAPIJSON(w, r, http.StatusOK, subscriberWithHistory{d.Subscriber, d.Deliveries})
	return nil
}

// subscriberWithHistory is a subscriber with its delivery history, newest
// first: what GET /api/v1/subscribers/{email} answers.
type subscriberWithHistory struct {
	*subscribe.Subscriber
	Deliveries []subscribe.Delivery `json:"deliveries"`
}

// exportSubscriberData: GET /api/v1/subscribers/{email}/export, everything
// stored about one person (GDPR art. 15 and 20).
func exportSubscriberData(a *api, w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	d, err := subs.ExportData(r.Context(), r.PathValue("email"))
	if err != nil {
		return subscriberErr(err)
	}
	writeAPIJSON(w, r, http.StatusOK, d)
	return nil
}

// addSubscriber: POST /api/v1/subscribers. confirmed: active at once (the
// caller vouches for consent); else a confirmation mail goes out.
func addSubscriber(a *api, w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	var in apiSubscriberIn
	if err := a.decodeJSON(w, r, &in); err != nil {
		return err
	}
	sub, sent, err := subs.AddIn(r.Context(), in.Language, in.Email, in.Name, in.Newsletters, in.Tags, in.Confirmed)
	if err != nil {
		return subscriberErr(err)
	}
	w.Header().Set("Location", apiPrefix+"/subscribers/"+sub.Email)
	writeAPIJSON(w, r, http.StatusCreated, apiSubscriberAdded{Subscriber: sub, ConfirmationSent: sent})
	return nil
}

// patchSubscriber: PATCH /api/v1/subscribers/{email} with {"status":
// "unsubscribed"} (from everything; the record stays), {"status":
// "active"} (the caller vouches for consent) and/or {"language": "sv"}
// (one of site.languages; "": the newsletter's language). The status
// changes first, so a reactivated subscriber can get its language in the
// same call.
func patchSubscriber(a *api, w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	var p apiSubscriberPatch
	if err := a.decodeJSON(w, r, &p); err != nil {
		return err
	}
	if p.Status == "" && p.Language == nil {
		return &HTTPError{Status: http.StatusUnprocessableEntity, Field: "status",
			Msg: "nothing to change: give status, language or both"}
	}
	email := r.PathValue("email")
	var sub *subscribe.Subscriber
	switch p.Status {
	case "":
	case subscribe.StatusUnsubscribed:
		sub, err = subs.Remove(r.Context(), email)
	case subscribe.StatusActive:
		if sub, err = subs.Get(r.Context(), email); err == nil {
			sub, _, err = subs.Add(r.Context(), sub.Email, sub.Name, sub.Newsletters, nil, true) // nil: keeps its tags
		}
	default:
		return &HTTPError{Status: http.StatusUnprocessableEntity, Field: "status",
			Msg: "status can be set to unsubscribed or active (pending and bounced are Herald's to set)"}
	}
	if err != nil {
		return subscriberErr(err)
	}
	if p.Language != nil {
		if sub, err = subs.SetLanguage(r.Context(), email, *p.Language); err != nil {
			return subscriberErr(err)
		}
	}
	writeAPIJSON(w, r, http.StatusOK, sub)
	return nil
}

// eraseSubscriber: DELETE /api/v1/subscribers/{email} deletes every
// personal datum (GDPR art. 17); only a count stays.
func eraseSubscriber(a *api, w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	if err := subs.Erase(r.Context(), r.PathValue("email")); err != nil {
		return subscriberErr(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// exportSubscribers: GET /api/v1/subscribers.csv, every subscriber in the
// CSV of docs/ARCHITECTURE.md, "Subscribers" (what `herald subscribers
// import` reads back).
func exportSubscribers(a *api, w http.ResponseWriter, r *http.Request) error {
	subs, err := a.subscribers()
	if err != nil {
		return err
	}
	// Rendered whole first, so an error is still a clean JSON error.
	var buf bytes.Buffer
	if err := subs.Export(r.Context(), &buf); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="subscribers.csv"`)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes()) //nolint:errcheck // the client went away
	}
	return nil
}
