package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// The audit log for owners: /admin/audit, newest first, a page at a time
// (docs/ARCHITECTURE.md, "Admin UI").

// auditPageSize is how many entries a page shows.
const auditPageSize = 50

type auditData struct {
	Entries []store.AuditEntry
	Next    string // the next (older) page's URL, "" at the end
}

// auditPage: GET /admin/audit?before=CURSOR.
func (a *adminUI) auditPage(w http.ResponseWriter, r *http.Request) error {
	at, id, err := parseAuditCursor(r.URL.Query().Get("before"))
	if err != nil {
		return err
	}
	es, err := a.cfg.Store.AuditBefore(r.Context(), at, id, auditPageSize+1)
	if err != nil {
		return err
	}
	d := auditData{Entries: es}
	if len(es) > auditPageSize {
		d.Entries = es[:auditPageSize]
		last := d.Entries[auditPageSize-1]
		d.Next = fmt.Sprintf("/admin/audit?before=%d-%d", last.At.UnixMicro(), last.ID)
	}
	a.render(w, r, http.StatusOK, "audit", adminView{Title: "Audit log", Data: d})
	return nil
}

// parseAuditCursor reads MICROS-ID, the last entry shown ("" : none).
func parseAuditCursor(c string) (time.Time, int64, error) {
	if c == "" {
		return time.Time{}, 0, nil
	}
	bad := Errorf(http.StatusBadRequest, "The page address is damaged: go back to the first page of the audit log.")
	ms, ids, ok := strings.Cut(c, "-")
	if !ok {
		return time.Time{}, 0, bad
	}
	m, err1 := strconv.ParseInt(ms, 10, 64)
	id, err2 := strconv.ParseInt(ids, 10, 64)
	if err1 != nil || err2 != nil || m <= 0 || id < 0 {
		return time.Time{}, 0, bad
	}
	return time.UnixMicro(m).UTC(), id, nil
}
