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
	// MaxBody bounds the request body in bytes; 0: adminMaxBody (64 KiB);
	// uploadBody: admin.max_upload plus the multipart form around it.
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

		// The editor (admin_articles.go, admin_media.go).
		{get, "/admin/articles", editor, (*adminUI).articlesPage, 0, "Articles"},
		// {slug} "new" is the form of a new article: a literal sibling
		// of {slug} would clash with the 405 fallback of its path.
		{get, "/admin/articles/{slug}", editor, (*adminUI).articlePage, 0, ""},
		{post, "/admin/articles/{slug}", editor, (*adminUI).saveArticle, uploadBody, ""},
		{post, "/admin/articles/{slug}/preview", editor, (*adminUI).previewArticle, 1 << 20, ""},
		{post, "/admin/articles/{slug}/unpublish", editor, (*adminUI).unpublishArticle, 0, ""},
		{post, "/admin/articles/{slug}/delete", editor, (*adminUI).deleteArticle, 0, ""},
		{get, "/admin/articles/{slug}/revisions/{id}", editor, (*adminUI).revisionPage, 0, ""},
		{post, "/admin/articles/{slug}/revisions/{id}/restore", editor, (*adminUI).restoreRevision, 0, ""},
		{get, "/admin/media", editor, (*adminUI).mediaPage, 0, "Media"},
		{post, "/admin/media", editor, (*adminUI).uploadMediaForm, uploadBody, ""},
		{post, "/admin/media/{hash}/delete", editor, (*adminUI).deleteMediaForm, 0, ""},

		// Newsletters and runs (admin_newsletters.go, admin_runs.go):
		// editors preview and test; sending and run control need a manager.
		{get, "/admin/newsletters", editor, (*adminUI).newslettersPage, 0, "Newsletters"},
		{get, "/admin/newsletters/{id}", editor, (*adminUI).newsletterPage, 0, ""},
		{get, "/admin/newsletters/{id}/preview", editor, (*adminUI).newsletterPreview, 0, ""},
		{post, "/admin/newsletters/{id}/test", editor, (*adminUI).newsletterTest, 0, ""},
		{get, "/admin/newsletters/{id}/send", manager, (*adminUI).newsletterSendConfirm, 0, ""},
		{post, "/admin/newsletters/{id}/send", manager, (*adminUI).newsletterSend, 0, ""},
		{get, "/admin/runs/{id}", editor, (*adminUI).runPage, 0, ""},
		{get, "/admin/runs/{id}/progress", editor, (*adminUI).runProgressJSON, 0, ""},
		{get, "/admin/runs/{id}/pause", manager, runConfirmPage("pause"), 0, ""},
		{post, "/admin/runs/{id}/pause", manager, runControl("pause"), 0, ""},
		{get, "/admin/runs/{id}/resume", manager, runConfirmPage("resume"), 0, ""},
		{post, "/admin/runs/{id}/resume", manager, runControl("resume"), 0, ""},
		{get, "/admin/runs/{id}/cancel", manager, runConfirmPage("cancel"), 0, ""},
		{post, "/admin/runs/{id}/cancel", manager, runControl("cancel"), 0, ""},

		// Subscribers (admin_subscribers.go). Nothing else sits beside
		// {email} in its folder: a literal there would clash with it.
		{get, "/admin/subscribers", manager, (*adminUI).subscribersPage, 0, "Subscribers"},
		{post, "/admin/subscribers", manager, (*adminUI).addSubscriberForm, 0, ""},
		{get, "/admin/subscribers.csv", manager, (*adminUI).exportSubscribersCSV, 0, ""},
		{get, "/admin/subscribers/{email}", manager, (*adminUI).subscriberPage, 0, ""},
		{post, "/admin/subscribers/{email}/status", manager, (*adminUI).subscriberStatus, 0, ""},
		{post, "/admin/subscribers/{email}/choice", manager, (*adminUI).subscriberChoice, 0, ""},
		{post, "/admin/subscribers/{email}/language", manager, (*adminUI).subscriberLanguage, 0, ""},
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
