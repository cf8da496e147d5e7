package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/herald-news/herald/internal/admin"
	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/newsroom"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
)

// The admin web UI (docs/ARCHITECTURE.md, "Admin UI"): server-rendered
// pages under /admin/, every route one line of adminRoutes
// (admin_routes.go), each checked for a session and a role on the server,
// every state change a POST behind http.CrossOriginProtection.

// AdminStore is what the admin web UI needs of the store.
type AdminStore interface {
	admin.AuthStore
	admin.SetupStore
	admin.UserStore
	admin.TwoFactorStore
	admin.AccountStore
	admin.RoleStore
	admin.SettingStore
	RecoveryCodesLeft(ctx context.Context, userID int64) (int, error)
	UserSessions(ctx context.Context, userID int64) ([]store.Session, error)
	// Setting is an owners' setting (admin.SettingRequire2FA);
	// store.ErrNotFound when never set.
	Setting(ctx context.Context, key string) (string, error)
	// AuditBefore pages the audit log, newest first, from before the
	// entry (at, id); a zero at starts at the newest.
	AuditBefore(ctx context.Context, at time.Time, id int64, limit int) ([]store.AuditEntry, error)
	// Login attempts per client address are counted here, so the limit
	// holds across instances.
	subscribe.RateStore
	// A subscriber CSV waits here between its dry run and the
	// confirmation, so any instance can carry the confirmation out.
	PutImportUpload(ctx context.Context, u store.ImportUpload, now time.Time) error
	TakeImportUpload(ctx context.Context, id string, userID int64, now time.Time) (store.ImportUpload, error)
}

// AdminConfig wires the admin web UI; nil in Config: no /admin/ pages.
type AdminConfig struct {
	Store AdminStore
	// SessionIdle and SessionMax are admin.session_idle and
	// admin.session_max (defaults 12h and 7d).
	SessionIdle, SessionMax time.Duration
	// Require2FA is admin.require_2fa.
	Require2FA bool
	// LoginsPerMinute bounds sign-in attempts (password, code, setup) per
	// client address; 0: 20.
	LoginsPerMinute int
	// Digest enables the newsletter and run pages (admin_newsletters.go);
	// nil: they answer 404. Audience counts a send's recipients.
	Digest   AdminDigest
	Audience AdminAudience
	// Articles and Parser turn on the editor's pages (admin_articles.go):
	// the store and parser the API's newsroom service uses; nil Articles:
	// those pages answer 404.
	Articles APIStore
	Parser   *article.Parser
	// Media is the upload service (/admin/media, the article form's image
	// upload); nil: uploads answer 404. MaxUpload is admin.max_upload.
	Media     APIMedia
	MaxUpload int64
	// Images keeps a written article's remote image at once, as the
	// API's does; nil: the content sync keeps it later.
	Images newsroom.Images
	// Subscribers enables the subscriber pages (admin_subscribers.go);
	// nil: they answer 404.
	Subscribers AdminSubscribers
	// Dashboard loads what /admin/ shows; nil: the page only greets.
	Dashboard DashboardLoader
}

// adminMaxBody bounds a form unless its route says otherwise.
const adminMaxBody = 64 << 10

// uploadBody as a route's MaxBody bounds its body by admin.max_upload
// plus what a multipart form adds: forms carrying an image.
const uploadBody = -1

// adminUI serves /admin/.
type adminUI struct {
	cfg     AdminConfig
	s       *Server
	auth    *admin.Auth
	limiter *subscribe.Limiter
	cop     *http.CrossOriginProtection
	pages   atomic.Pointer[map[string]*template.Template] // swapped by ReloadTemplates
	cookie  string                                        // AdminCookieName
	secure  bool                                          // site.base_url is https
	routes  []adminRoute
	news    *newsroom.Service // nil: no editor (AdminConfig.Articles)
}

// AdminCookieName is the session cookie's name for a site at baseURL:
// __Host- prefixed (Secure, Path=/, no Domain) when it is https.
func AdminCookieName(baseURL string) string {
	if strings.HasPrefix(strings.ToLower(baseURL), "https://") {
		return "__Host-herald_admin"
	}
	return "herald_admin"
}

const flashCookie = "herald_flash"

// enrolPath is where a user sets up two-factor sign-in: the one page open
// to a user without it when it is required.
const enrolPath = "/admin/account/2fa"

func newAdminUI(s *Server, cfg AdminConfig) *adminUI {
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 12 * time.Hour
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 7 * 24 * time.Hour
	}
	if cfg.LoginsPerMinute <= 0 {
		cfg.LoginsPerMinute = 20
	}
	a := &adminUI{
		cfg:     cfg,
		s:       s,
		auth:    &admin.Auth{Store: cfg.Store, Now: s.cfg.Now, Idle: cfg.SessionIdle, Max: cfg.SessionMax},
		limiter: subscribe.NewSharedLimiter(cfg.LoginsPerMinute, loginRates{cfg.Store}, s.log),
		cop:     http.NewCrossOriginProtection(),
		cookie:  AdminCookieName(s.cfg.Site.BaseURL),
		secure:  strings.HasPrefix(strings.ToLower(s.cfg.Site.BaseURL), "https://"),
		routes:  adminRoutes(),
	}
	if cfg.Articles != nil {
		p := cfg.Parser
		if p == nil {
			p = article.NewParser(s.cfg.Site.Location, nil)
		}
		a.news = &newsroom.Service{Store: cfg.Articles, Parser: p, Images: cfg.Images, Now: s.cfg.Now, Log: s.log}
	}
	// Behind a proxy that rewrites Host, the browser's Origin is still the
	// public one.
	if u, err := url.Parse(s.cfg.Site.BaseURL); err == nil && u.Host != "" {
		_ = a.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	a.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.WarnContext(r.Context(), "admin: cross-origin request refused", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("origin", r.Header.Get("Origin")), slog.String("ip", s.clientIP(r)))
		a.fail(w, r, Errorf(http.StatusForbidden, "This form was sent from another site, so it was refused. Open the page on this site and send it again."))
	}))
	return a
}

// loginRates keeps login attempts apart from subscribe requests in the
// shared rate counts.
type loginRates struct{ st subscribe.RateStore }

func (l loginRates) CountHit(ctx context.Context, key string, window, previous time.Time) (int64, int64, error) {
	return l.st.CountHit(ctx, "admin-login "+key, window, previous)
}

func (l loginRates) PruneHits(ctx context.Context, before time.Time) (int64, error) {
	return l.st.PruneHits(ctx, before)
}

// register puts every route of the table on the mux behind the
// cross-origin check, a 405 for other methods on their paths and an
// admin 404 for every other /admin/ URL.
func (a *adminUI) register(mux *http.ServeMux) {
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range a.routes {
		mux.Handle(rt.Method+" "+rt.Pattern, a.cop.Handler(a.wrap(rt)))
		if _, ok := allowed[rt.Pattern]; !ok {
			paths = append(paths, rt.Pattern)
		}
		allowed[rt.Pattern] = append(allowed[rt.Pattern], rt.Method)
	}
	for _, p := range paths {
		allow := strings.Join(allowed[p], ", ")
		mux.Handle(p, a.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			a.fail(w, r, Errorf(http.StatusMethodNotAllowed, "This address does not take %s requests.", r.Method))
		})))
	}
	mux.Handle("/admin/", a.cop.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, Errorf(http.StatusNotFound, "There is no admin page at this address."))
	})))
}

// adminWho is the signed-in user of a request.
type adminWho struct {
	User    store.User
	Session store.Session
	Token   string // the cookie's value
}

type adminWhoKey struct{}

// who is the request's signed-in user; nil on the routes open to all.
func who(r *http.Request) *adminWho {
	w, _ := r.Context().Value(adminWhoKey{}).(*adminWho)
	return w
}

// roleRank orders the roles: a route open to a role is open to those above.
var roleRank = map[string]int{store.RoleEditor: 1, store.RoleManager: 2, store.RoleOwner: 3}

func roleAtLeast(have, want string) bool {
	return roleRank[have] >= roleRank[want] && roleRank[have] > 0
}

// wrap checks the session and the role (for routes that name one), bounds
// the body and turns the handler's error into an error page.
func (a *adminUI) wrap(rt adminRoute) http.Handler {
	limit := rt.MaxBody
	switch {
	case limit == uploadBody:
		limit = a.uploadLimit() + multipartSlack
	case limit <= 0:
		limit = adminMaxBody
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		// Setup links carry their token in the URL: never sent onwards.
		h.Set("Referrer-Policy", "no-referrer")
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if rt.Role != "" {
			wh, err := a.session(r)
			if errors.Is(err, admin.ErrNoSession) {
				a.toLogin(w, r)
				return
			}
			if err != nil {
				a.fail(w, r, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), adminWhoKey{}, wh))
			if !roleAtLeast(wh.User.Role, rt.Role) {
				a.fail(w, r, Errorf(http.StatusForbidden, "Your role (%s) does not give access to this page: it needs %s.", wh.User.Role, rt.Role))
				return
			}
			if wh.User.TOTPSecret == "" && rt.Pattern != enrolPath {
				need, err := a.need2FA(r)
				if err != nil {
					a.fail(w, r, err)
					return
				}
				if need {
					a.redirect(w, r, enrolPath, "Two-factor sign-in is required on this site: set it up to go on.")
					return
				}
			}
		}
		if err := rt.Handler(a, w, r); err != nil {
			a.fail(w, r, err)
		}
	})
}

// session checks the request's session cookie.
func (a *adminUI) session(r *http.Request) (*adminWho, error) {
	c, err := r.Cookie(a.cookie)
	if err != nil {
		return nil, admin.ErrNoSession
	}
	se, u, err := a.auth.Check(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	return &adminWho{User: u, Session: se, Token: c.Value}, nil
}

// toLogin sends a request without a valid session to the login page; a
// page (GET) comes back to itself after signing in.
func (a *adminUI) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/admin/login"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if _, err := r.Cookie(a.cookie); err == nil {
		a.clearSession(w)
		a.setFlash(w, "Your session has ended. Please sign in again.")
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext is where to go after signing in: an admin page of this site,
// else the dashboard.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/admin/") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, "/admin/login") || strings.HasPrefix(next, "/admin/logout") {
		return "/admin/"
	}
	return next
}

func (a *adminUI) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: a.cookie, Value: token, Path: "/", MaxAge: int(a.cfg.SessionMax / time.Second),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

func (a *adminUI) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: a.cookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

// setFlash keeps msg for the next admin page shown (after a redirect).
func (a *adminUI) setFlash(w http.ResponseWriter, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(msg)),
		Path: "/admin/", MaxAge: 120, HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
}

// redirect answers a form with 303 to target, showing flash there
// (Post/Redirect/Get: reloading the page does not send the form again).
func (a *adminUI) redirect(w http.ResponseWriter, r *http.Request, target, flash string) {
	if flash != "" {
		a.setFlash(w, flash)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// takeFlash reads and clears the flash message.
func (a *adminUI) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/admin/", MaxAge: -1,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode})
	b, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(b) > 500 {
		return ""
	}
	return string(b)
}

// allowAttempt counts a sign-in attempt from the client's address: past
// the limit, 429 with Retry-After.
func (a *adminUI) allowAttempt(w http.ResponseWriter, r *http.Request) error {
	ip := a.s.clientIP(r)
	ok, retry := a.limiter.Allow(r.Context(), ip, a.s.cfg.Now())
	if ok {
		return nil
	}
	a.s.log.WarnContext(r.Context(), "admin: too many sign-in attempts", slog.String("ip", ip), slog.String("path", r.URL.Path))
	w.Header().Set("Retry-After", strconv.Itoa(int(retry/time.Second)+1))
	return Errorf(http.StatusTooManyRequests, "Too many sign-in attempts from your address. Please wait a minute and try again.")
}

// fieldError is one problem with a form field; Field is the input's id
// (the error summary links to it), "" for the form as a whole.
type fieldError struct{ Field, Msg string }

// adminView is what a handler hands to render: the page's title, its own
// data and the form's errors (shown in the summary at the top).
type adminView struct {
	Title  string
	Data   any
	Errors []fieldError
}

// adminPage is what every admin template gets: the view plus what the
// layout shows.
type adminPage struct {
	adminView
	Site      Site
	User      *store.User // nil when nobody is signed in
	Nav       []adminNavItem
	Flash     string
	RequestID string
}

type adminNavItem struct {
	Label, Path string
	Current     bool
}

// nav is the navigation for a user: the table's routes with a label that
// the user's role opens, in table order.
func (a *adminUI) nav(r *http.Request, u *store.User) []adminNavItem {
	var out []adminNavItem
	for _, rt := range a.routes {
		if rt.Nav == "" || !roleAtLeast(u.Role, rt.Role) {
			continue
		}
		p := strings.TrimSuffix(rt.Pattern, "{$}")
		cur := r.URL.Path == p || (p != "/admin/" && strings.HasPrefix(r.URL.Path, p+"/"))
		out = append(out, adminNavItem{Label: rt.Nav, Path: p, Current: cur})
	}
	return out
}

// render shows the admin page name (templates/admin/NAME.html in the
// layout) with status. Every admin page goes through it.
func (a *adminUI) render(w http.ResponseWriter, r *http.Request, status int, name string, v adminView) {
	p := &adminPage{adminView: v, Site: a.s.cfg.Site, Flash: a.takeFlash(w, r), RequestID: RequestID(r.Context())}
	if wh := who(r); wh != nil {
		p.User = &wh.User
		p.Nav = a.nav(r, p.User)
	}
	t := (*a.pages.Load())[name]
	if t == nil {
		a.s.log.ErrorContext(r.Context(), "admin: no such template", slog.String("page", name))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		a.s.log.ErrorContext(r.Context(), "admin: template failed", slog.String("page", name), slog.Any("err", err))
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// adminStatus maps the account errors for statusOf.
func adminStatus(err error) int {
	switch {
	case errors.Is(err, admin.ErrSetupLink):
		return http.StatusGone
	case errors.Is(err, admin.ErrPasswordShort), errors.Is(err, admin.ErrPasswordIsEmail), errors.Is(err, admin.ErrBadRole):
		return http.StatusBadRequest
	case errors.Is(err, admin.ErrLastOwner):
		return http.StatusConflict
	}
	return 0
}

// sentence makes an error message a sentence for a page.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// adminMessage words the account errors for a page.
func adminMessage(err error) string {
	switch {
	case adminStatus(err) != 0:
		return sentence(err.Error())
	case errors.Is(err, store.ErrConflict):
		return "That conflicts with what is stored: it may have been changed meanwhile. Reload the page and try again."
	}
	return ""
}

// fail is the one place an admin handler's error becomes an error page
// (400, 403, 404, 405, 409, 410, 413, 429, or 500, logged), in the admin
// layout.
func (a *adminUI) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := a.s.failText(r, err, adminMessage, "There is no such record. It may have been deleted.")
	if status == 499 {
		return
	}
	a.render(w, r, status, "error", adminView{Title: http.StatusText(status), Data: msg})
}

// loadTemplates parses every page of templates/admin: each NAME.html
// (not starting with "_") with layout.html and every _*.html partial.
func (a *adminUI) loadTemplates() error {
	fsys := a.s.cfg.Templates
	loc := a.s.cfg.Site.Location
	funcs := template.FuncMap{
		"datetime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(loc).Format("2 Jan 2006 15:04")
		},
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"num": groupDigits,
		// hasErr and fieldOf find a field's error for its input and the
		// fieldError template.
		"hasErr": func(field string, errs []fieldError) bool {
			for _, e := range errs {
				if e.Field == field {
					return true
				}
			}
			return false
		},
		"fieldOf": func(field string, errs []fieldError) any {
			return struct {
				Field  string
				Errors []fieldError
			}{field, errs}
		},
	}
	files, err := fs.Glob(fsys, "admin/*.html")
	if err != nil {
		return fmt.Errorf("templates: admin: %w", err)
	}
	shared := []string{"admin/layout.html"}
	for _, f := range files {
		if strings.HasPrefix(path.Base(f), "_") {
			shared = append(shared, f)
		}
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		base := path.Base(f)
		if base == "layout.html" || strings.HasPrefix(base, "_") {
			continue
		}
		name := strings.TrimSuffix(base, ".html")
		t, err := template.New(name).Funcs(funcs).ParseFS(fsys, append(append([]string{}, shared...), f)...)
		if err != nil {
			return fmt.Errorf("templates: %s: %w", f, err)
		}
		pages[name] = t
	}
	for _, need := range []string{"error", "login", "setup"} {
		if pages[need] == nil {
			return fmt.Errorf("templates: admin/%s.html is missing", need)
		}
	}
	a.pages.Store(&pages)
	return nil
}
