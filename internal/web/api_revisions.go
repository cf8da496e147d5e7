package web

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/herald-news/herald/internal/newsroom"
)

// apiRevision is one revision as the API answers: who saved it, when, and
// (for one revision) its fields as saved.
type apiRevision struct {
	ID      int64           `json:"id"`
	Version string          `json:"version"`
	At      string          `json:"at"`
	Who     string          `json:"who"`
	IP      string          `json:"ip,omitempty"`
	Current bool            `json:"current"`
	Fields  *newsroom.Input `json:"fields,omitempty"`
}

func revisionOut(r newsroom.Revision) apiRevision {
	return apiRevision{ID: r.ID, Version: r.Version, At: r.At.UTC().Format(time.RFC3339Nano), Who: r.Who, IP: r.IP, Current: r.Current, Fields: r.Input}
}

// pathRevision is the {slug} and {id} of the URL.
func pathRevision(r *http.Request) (string, int64, error) {
	slug, err := pathSlug(r)
	if err != nil {
		return "", 0, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return "", 0, &HTTPError{Status: http.StatusNotFound, Field: "id", Msg: fmt.Sprintf("no revision %q", r.PathValue("id"))}
	}
	return slug, id, nil
}

// listRevisions: GET /api/v1/articles/{slug}/revisions
func listRevisions(a *api, w http.ResponseWriter, r *http.Request) error {
	slug, err := pathSlug(r)
	if err != nil {
		return err
	}
	rs, err := a.news.Revisions(r.Context(), slug)
	if err != nil {
		return err
	}
	out := struct {
		Revisions []apiRevision `json:"revisions"`
	}{Revisions: make([]apiRevision, 0, len(rs))}
	for _, rv := range rs {
		out.Revisions = append(out.Revisions, revisionOut(rv))
	}
	writeAPIJSON(w, r, http.StatusOK, out)
	return nil
}

// getRevision: GET /api/v1/articles/{slug}/revisions/{id}
func getRevision(a *api, w http.ResponseWriter, r *http.Request) error {
	slug, id, err := pathRevision(r)
	if err != nil {
		return err
	}
	rv, err := a.news.Revision(r.Context(), slug, id)
	if err != nil {
		return err
	}
	writeAPIJSON(w, r, http.StatusOK, revisionOut(rv))
	return nil
}

// restoreRevision: POST /api/v1/articles/{slug}/revisions/{id}/restore,
// with an optional body {"base": VERSION}.
func restoreRevision(a *api, w http.ResponseWriter, r *http.Request) error {
	slug, id, err := pathRevision(r)
	if err != nil {
		return err
	}
	var body struct {
		Base string `json:"base"`
	}
	if r.ContentLength != 0 {
		if err := a.decodeJSON(w, r, &body); err != nil {
			return err
		}
	}
	return a.saved(w, r, http.StatusOK)(a.news.Restore(r.Context(), actorOf(r), slug, id, body.Base))
}
