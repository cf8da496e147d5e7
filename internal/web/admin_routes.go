package web

import (
	"net/http"

	"github.com/herald-news/herald/internal/store"
)

// adminRoute is one page or action of the admin web UI.
type adminRoute struct {
	Method  string
	Pattern string // a ServeMux path under /admin/
	// Role is the least role the route needs (store.RoleEditor, …), checked
	// on the server for every request; "" opens it to everyone (sign-in
	// pages), without a session.
	Role    string
	Handler adminHandler
	// MaxBody bounds the request body in bytes; 0: adminMaxBody (64 KiB).
	MaxBody int64
	// Nav is the route's label in the layout's navigation ("": none),
	// shown to the roles it is open to, in the order of this table.
	Nav string
}

// adminHandler serves one admin route. It shows a page with a.render or
// answers a form with a.redirect; an error it returns becomes the error
// page (a.fail). who(r) is the signed-in user.
type adminHandler func(a *adminUI, w http.ResponseWriter, r *http.Request) error

// adminRoutes is every route of the admin web UI, one line each
// (docs/ARCHITECTURE.md, "Admin UI"). Every state change is a POST.
func adminRoutes() []adminRoute {
	const (
		get, post = http.MethodGet, http.MethodPost
		editor    = store.RoleEditor
		manager   = store.RoleManager
		owner     = store.RoleOwner
	)
	return []adminRoute{
		{get, "/admin/{$}", editor, (*adminUI).dashboard, 0, "Dashboard"},

		// Signing in and out (admin_auth.go).
		{get, "/admin/login", "", (*adminUI).loginPage, 0, ""},
		{post, "/admin/login", "", (*adminUI).login, 0, ""},
		{get, "/admin/setup", "", (*adminUI).setupPage, 0, ""},
		{post, "/admin/setup", "", (*adminUI).setup, 0, ""},
		{post, "/admin/logout", "", (*adminUI).logout, 0, ""},

		// Signing in, step two, and one's own account (admin_account.go).
		{get, "/admin/login/code", "", (*adminUI).codePage, 0, ""},
		{post, "/admin/login/code", "", (*adminUI).code, 0, ""},

		// Subscribers (admin_subscribers.go). Nothing else sits beside
		// {email} in its folder: a literal there would clash with it.
		{get, "/admin/subscribers", manager, (*adminUI).subscribersPage, 0, "Subscribers"},
		{post, "/admin/subscribers", manager, (*adminUI).addSubscriberForm, 0, ""},
		{get, "/admin/subscribers.csv", manager, (*adminUI).exportSubscribersCSV, 0, ""},
		{get, "/admin/subscribers/{email}", manager, (*adminUI).subscriberPage, 0, ""},
		{post, "/admin/subscribers/{email}/status", manager, (*adminUI).subscriberStatus, 0, ""},
		{post, "/admin/subscribers/{email}/choice", manager, (*adminUI).subscriberChoice, 0, ""},
		{get, "/admin/subscribers/{email}/export", manager, (*adminUI).subscriberExport, 0, ""},
		{post, "/admin/subscribers/{email}/erase", manager, (*adminUI).subscriberErase, 0, ""},
		{get, "/admin/import", manager, (*adminUI).importPage, 0, ""},
		{post, "/admin/import", manager, (*adminUI).planImport, importMaxBody, ""},
		{post, "/admin/import/apply", manager, (*adminUI).applyImport, 0, ""},

		// Owners (admin_users.go, admin_audit.go).
		{get, "/admin/users", owner, (*adminUI).usersPage, 0, "Users"},
		{post, "/admin/users/add", owner, (*adminUI).addUser, 0, ""},
		{post, "/admin/users/reset", owner, (*adminUI).resetUser, 0, ""},
		{post, "/admin/users/remove", owner, (*adminUI).removeUser, 0, ""},
		{post, "/admin/users/role", owner, (*adminUI).setRole, 0, ""},
		{post, "/admin/users/require-2fa", owner, (*adminUI).require2FA, 0, ""},
		{get, "/admin/audit", owner, (*adminUI).auditPage, 0, "Audit"},

		{get, "/admin/account", editor, (*adminUI).accountPage, 0, "Account"},
		{post, "/admin/account/password", editor, (*adminUI).changePassword, 0, ""},
		{post, "/admin/account/sessions/revoke", editor, (*adminUI).revokeSession, 0, ""},
		{get, enrolPath, editor, (*adminUI).enrolPage, 0, ""},
		{post, enrolPath, editor, (*adminUI).enrol, 0, ""},
		{post, "/admin/account/2fa/disable", editor, (*adminUI).disable2FA, 0, ""},
		{post, "/admin/account/recovery-codes", editor, (*adminUI).newRecoveryCodes, 0, ""},
	}
}
