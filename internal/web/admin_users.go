package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/herald-news/herald/internal/admin"
	"github.com/herald-news/herald/internal/store"
)

// User management for owners: /admin/users (docs/ARCHITECTURE.md,
// "Admin UI").

type usersData struct {
	Users          []store.User
	Roles          []string
	Add            addForm
	Require2FA     bool // everyone must have a second factor
	ForcedByConfig bool // by admin.require_2fa, not the owners' setting
}

type addForm struct{ Email, Name, Role string }

// usersPage: GET /admin/users lists every account, with the forms that
// change them.
func (a *adminUI) usersPage(w http.ResponseWriter, r *http.Request) error {
	return a.showUsers(w, r, http.StatusOK, addForm{Role: store.RoleEditor}, nil)
}

func (a *adminUI) showUsers(w http.ResponseWriter, r *http.Request, status int, add addForm, errs []fieldError) error {
	us, err := a.cfg.Store.Users(r.Context())
	if err != nil {
		return err
	}
	need, err := a.need2FA(r)
	if err != nil {
		return err
	}
	a.render(w, r, status, "users", adminView{Title: "Users", Errors: errs, Data: usersData{Users: us,
		Roles: []string{store.RoleEditor, store.RoleManager, store.RoleOwner}, Add: add,
		Require2FA: need, ForcedByConfig: a.cfg.Require2FA}})
	return nil
}

// addUser: POST /admin/users/add creates an account and shows its setup
// link.
func (a *adminUI) addUser(w http.ResponseWriter, r *http.Request) error {
	email, name, role := strings.TrimSpace(r.PostFormValue("email")), strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("role")
	token, err := admin.AddUser(r.Context(), a.cfg.Store, a.actor(r), email, name, role, a.s.cfg.Now())
	if err != nil {
		field := "email"
		if errors.Is(err, admin.ErrBadRole) {
			field = "role"
		} else if !errors.Is(err, store.ErrConflict) && !strings.Contains(err.Error(), "not an email address") {
			return err
		}
		return a.showUsers(w, r, http.StatusBadRequest, addForm{Email: clipField(email), Name: clipField(name), Role: role},
			[]fieldError{{field, sentence(err.Error())}})
	}
	return a.showLink(w, r, email, token, "added")
}

// resetUser: POST /admin/users/reset gives an account a new setup link
// and ends its sessions.
func (a *adminUI) resetUser(w http.ResponseWriter, r *http.Request) error {
	email := r.PostFormValue("email")
	token, err := admin.ResetUser(r.Context(), a.cfg.Store, a.actor(r), email, a.s.cfg.Now())
	if err != nil {
		return err
	}
	return a.showLink(w, r, email, token, "reset")
}

type linkData struct{ Email, Link, What string }

func (a *adminUI) showLink(w http.ResponseWriter, r *http.Request, email, token, what string) error {
	a.render(w, r, http.StatusOK, "user_link", adminView{Title: "Setup link", Data: linkData{
		Email: email, Link: admin.SetupURL(a.s.cfg.Site.BaseURL, token), What: what}})
	return nil
}

// removeUser: POST /admin/users/remove deletes an account (not one's own).
func (a *adminUI) removeUser(w http.ResponseWriter, r *http.Request) error {
	email := r.PostFormValue("email")
	if strings.EqualFold(email, who(r).User.Email) {
		return Errorf(http.StatusConflict, "You cannot remove your own account here; another owner can.")
	}
	if err := admin.RemoveUser(r.Context(), a.cfg.Store, a.actor(r), email, a.s.cfg.Now()); err != nil {
		return err
	}
	a.redirect(w, r, "/admin/users", "Removed "+email+".")
	return nil
}

// setRole: POST /admin/users/role.
func (a *adminUI) setRole(w http.ResponseWriter, r *http.Request) error {
	email, role := r.PostFormValue("email"), r.PostFormValue("role")
	if err := admin.SetRole(r.Context(), a.cfg.Store, a.actor(r), email, role, a.s.cfg.Now()); err != nil {
		return err
	}
	a.redirect(w, r, "/admin/users", email+" is now "+role+".")
	return nil
}

// require2FA: POST /admin/users/require-2fa, the owners' setting.
func (a *adminUI) require2FA(w http.ResponseWriter, r *http.Request) error {
	on := r.PostFormValue("require") == "true"
	if err := admin.SetRequire2FA(r.Context(), a.cfg.Store, a.actor(r), on, a.s.cfg.Now()); err != nil {
		return err
	}
	msg := "Two-factor sign-in is now optional."
	if on {
		msg = "Two-factor sign-in is now required: everyone without it sets it up at their next page."
	}
	a.redirect(w, r, "/admin/users", msg)
	return nil
}
