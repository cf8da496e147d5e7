package web

import (
	"net/http"

	"github.com/herald-news/herald/internal/store"
)

// User management for owners: /admin/users (docs/ARCHITECTURE.md,
// "Admin UI").

type usersData struct {
	Users []store.User
	Roles []string
}

// usersPage: GET /admin/users lists every account.
func (a *adminUI) usersPage(w http.ResponseWriter, r *http.Request) error {
	us, err := a.cfg.Store.Users(r.Context())
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, "users", adminView{Title: "Users",
		Data: usersData{Users: us, Roles: []string{store.RoleEditor, store.RoleManager, store.RoleOwner}}})
	return nil
}
