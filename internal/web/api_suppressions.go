package web

import (
	"context"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/herald-news/herald/digest"
)

// APISuppressions is the suppression list for /api/v1/suppressions.
type APISuppressions interface {
	Suppressions(ctx context.Context) ([]digest.Suppression, error)
	// Lift removes email's suppression; false when it had none.
	Lift(ctx context.Context, email string) (bool, error)
}

type apiSuppression struct {
	Hash      string    `json:"hash"`
	Reason    string    `json:"reason"`
	Email     string    `json:"email,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// listSuppressions: GET /api/v1/suppressions, newest first.
func listSuppressions(a *api, w http.ResponseWriter, r *http.Request) error {
	if a.cfg.Suppressions == nil {
		return &HTTPError{Status: http.StatusNotFound, Msg: "the suppression list is not available here"}
	}
	list, err := a.cfg.Suppressions.Suppressions(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Suppressions []apiSuppression `json:"suppressions"`
	}{Suppressions: []apiSuppression{}}
	for _, x := range list {
		out.Suppressions = append(out.Suppressions, apiSuppression{Hash: hex.EncodeToString(x.Hash), Reason: string(x.Reason),
			Email: x.Email, CreatedAt: x.CreatedAt})
	}
	writeAPIJSON(w, r, http.StatusOK, out)
	return nil
}

// removeSuppression: DELETE /api/v1/suppressions/{email} lifts one.
func removeSuppression(a *api, w http.ResponseWriter, r *http.Request) error {
	if a.cfg.Suppressions == nil {
		return &HTTPError{Status: http.StatusNotFound, Msg: "the suppression list is not available here"}
	}
	found, err := a.cfg.Suppressions.Lift(r.Context(), r.PathValue("email"))
	if err != nil {
		return subscriberErr(err)
	}
	if !found {
		return &HTTPError{Status: http.StatusNotFound, Field: "email", Msg: "the address is not suppressed"}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
