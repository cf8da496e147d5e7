package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/admin"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/web/admintest"
	"github.com/herald-news/herald/templates"
)

// adminClock is the server's clock in admin tests, moved by hand.
type adminClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *adminClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *adminClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type adminFixture struct {
	srv   *httptest.Server
	store *sqlite.Store
	clock *adminClock
}

// newAdminFixture serves the admin UI of a fresh SQLite store over
// loopback; base is site.base_url ("": the server's own address).
func newAdminFixture(t testing.TB, base string, cfg web.AdminConfig) *adminFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &adminFixture{store: st, clock: &adminClock{t: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}}
	var h http.Handler
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(f.srv.Close)
	if base == "" {
		base = f.srv.URL
	}
	cfg.Store = st
	s, err := web.New(web.Config{Site: web.Site{Title: "Herald Test", BaseURL: base, Language: "en", Location: time.UTC},
		Store: st, Templates: templates.FS(""), Now: f.clock.Now, Admin: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	h = s
	return f
}

// browser is a client with a cookie jar that does not follow redirects.
func (f *adminFixture) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t testing.TB, c *http.Client, method, u string, form url.Values, hdr ...string) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func wantStatus(t testing.TB, resp *http.Response, body string, status int, where string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body:\n%s", where, resp.StatusCode, status, body)
	}
}

func wantRedirect(t testing.TB, resp *http.Response, to string, where string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != to {
		t.Fatalf("%s: %d to %q, want 303 to %q", where, resp.StatusCode, resp.Header.Get("Location"), to)
	}
}

// TestAdminSetupLoginLogout: the CLI's setup link, a password, the
// dashboard, logout, and signing in again.
func TestAdminSetupLoginLogout(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	ctx := context.Background()
	token, err := admin.AddUser(ctx, f.store, admin.CLI, "ann@example.org", "Ann", store.RoleOwner, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	setup := f.srv.URL + "/admin/setup?token=" + token
	resp, body := do(t, b, "GET", setup, nil)
	wantStatus(t, resp, body, 200, "setup page")
	for _, want := range []string{"ann@example.org", `name="token" value="` + token + `"`, `for="password"`, `class="skip"`} {
		if !strings.Contains(body, want) {
			t.Errorf("setup page lacks %q", want)
		}
	}
	if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("setup headers: %v", resp.Header)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("CSP %q", csp)
	}

	for _, tc := range []struct{ name, pw, confirm, want string }{
		{"ErrShort", "short", "short", "at least 12 characters"},
		{"ErrIsEmail", "ann@example.org", "ann@example.org", "must not be your email address"},
		{"ErrDiffer", "a long enough passphrase", "another long passphrase", "The two passwords differ"},
	} {
		resp, body = do(t, b, "POST", f.srv.URL+"/admin/setup", url.Values{"token": {token}, "password": {tc.pw}, "password_confirm": {tc.confirm}})
		wantStatus(t, resp, body, 400, tc.name)
		if !strings.Contains(body, tc.want) || !strings.Contains(body, `class="error-summary"`) {
			t.Errorf("%s: body lacks %q and the error summary", tc.name, tc.want)
		}
	}
	const pw = "correct horse battery staple"
	resp, _ = do(t, b, "POST", f.srv.URL+"/admin/setup", url.Values{"token": {token}, "password": {pw}, "password_confirm": {pw}})
	wantRedirect(t, resp, "/admin/", "setup")
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "herald_admin" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" || len(session.Value) < 43 {
		t.Fatalf("session cookie %+v", session)
	}
	resp, body = do(t, b, "GET", f.srv.URL+"/admin/", nil)
	wantStatus(t, resp, body, 200, "dashboard")
	for _, want := range []string{"<h1>Dashboard</h1>", "Your password is set", "ann@example.org", `href="/admin/users"`, `aria-current="page"`, `action="/admin/logout"`} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	// The link works once.
	resp, body = do(t, f.browser(), "GET", setup, nil)
	wantStatus(t, resp, body, http.StatusGone, "used setup link")

	resp, _ = do(t, b, "POST", f.srv.URL+"/admin/logout", url.Values{})
	wantRedirect(t, resp, "/admin/login", "logout")
	_, body = do(t, b, "GET", f.srv.URL+"/admin/login", nil)
	if !strings.Contains(body, "You have signed out.") {
		t.Errorf("no flash after logout: %s", body)
	}
	resp, _ = do(t, b, "GET", f.srv.URL+"/admin/users", nil)
	wantRedirect(t, resp, "/admin/login?next=%2Fadmin%2Fusers", "signed out")

	// Wrong password and unknown address: one answer.
	answers := map[string]string{}
	for _, email := range []string{"ann@example.org", "nobody@example.org"} {
		resp, body = do(t, b, "POST", f.srv.URL+"/admin/login", url.Values{"email": {email}, "password": {"wrong password here"}, "next": {"/admin/users"}})
		wantStatus(t, resp, body, 400, "bad login "+email)
		answers[email] = strings.ReplaceAll(body, email, "EMAIL")
	}
	if answers["ann@example.org"] != answers["nobody@example.org"] {
		t.Errorf("wrong password and unknown address answer differently:\n%s\n---\n%s", answers["ann@example.org"], answers["nobody@example.org"])
	}
	resp, _ = do(t, b, "POST", f.srv.URL+"/admin/login", url.Values{"email": {"ann@example.org"}, "password": {pw}, "next": {"/admin/users"}})
	wantRedirect(t, resp, "/admin/users", "login")
	resp, body = do(t, b, "GET", f.srv.URL+"/admin/users", nil)
	wantStatus(t, resp, body, 200, "users")

	entries, err := f.store.Audit(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append([]string{e.Action}, actions...)
	}
	if got := strings.Join(actions, " "); got != "users.add users.setup logout login" {
		t.Errorf("audit: %s", got)
	}
}

// TestAdminNext: only admin pages of this site are where a login leads.
func TestAdminNext(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	c, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{At: f.clock.Now()})
	for next, want := range map[string]string{
		"/admin/users":         "/admin/users",
		"//evil.example/admin": "/admin/",
		"https://evil.example": "/admin/",
		"/admin/logout":        "/admin/",
		"":                     "/admin/",
	} {
		resp, _ := do(t, c, "GET", f.srv.URL+"/admin/login?next="+url.QueryEscape(next), nil)
		wantRedirect(t, resp, want, "next="+next)
	}
}

// TestAdminRoles: every route checks the role on the server.
func TestAdminRoles(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	editor, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: store.RoleEditor, At: f.clock.Now()})
	manager, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: store.RoleManager, At: f.clock.Now()})
	owner, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: store.RoleOwner, At: f.clock.Now()})
	for _, tc := range []struct {
		name   string
		c      *http.Client
		path   string
		status int
	}{
		{"EditorDashboard", editor, "/admin/", 200},
		{"ErrEditorUsers", editor, "/admin/users", 403},
		{"ErrManagerUsers", manager, "/admin/users", 403},
		{"OwnerUsers", owner, "/admin/users", 200},
		{"ErrNoPage", owner, "/admin/nowhere", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(t, tc.c, "GET", f.srv.URL+tc.path, nil)
			wantStatus(t, resp, body, tc.status, tc.path)
			if tc.status == 403 && !strings.Contains(body, "does not give access") {
				t.Errorf("403 page: %s", body)
			}
		})
	}
	_, body := do(t, editor, "GET", f.srv.URL+"/admin/", nil)
	if strings.Contains(body, `href="/admin/users"`) {
		t.Error("an editor's navigation links to Users")
	}
	resp, body := do(t, owner, "DELETE", f.srv.URL+"/admin/users", nil)
	wantStatus(t, resp, body, http.StatusMethodNotAllowed, "DELETE")
	if resp.Header.Get("Allow") != "GET" {
		t.Errorf("Allow %q", resp.Header.Get("Allow"))
	}
}

// TestAdminCrossOrigin: a state change sent from another site is refused.
func TestAdminCrossOrigin(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	c, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{At: f.clock.Now()})
	form := url.Values{"email": {"a@example.org"}, "password": {"whatever at all"}}
	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"ForeignOrigin", []string{"Origin", "https://evil.example"}},
		{"SecFetchSiteCrossSite", []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range []string{"/admin/login", "/admin/logout"} {
				resp, body := do(t, c, "POST", f.srv.URL+p, form, tc.hdr...)
				wantStatus(t, resp, body, 403, p)
				if !strings.Contains(body, "sent from another site") {
					t.Errorf("%s: 403 page: %s", p, body)
				}
			}
		})
	}
	// Still signed in: the refused logout did nothing.
	resp, body := do(t, c, "GET", f.srv.URL+"/admin/", nil)
	wantStatus(t, resp, body, 200, "after refused logout")
	// The site's own pages post with their own origin.
	resp, _ = do(t, c, "POST", f.srv.URL+"/admin/logout", url.Values{}, "Origin", f.srv.URL, "Sec-Fetch-Site", "same-origin")
	wantRedirect(t, resp, "/admin/login", "same-origin logout")
}

// TestAdminLoginRateLimit: one client address gets 20 sign-in attempts
// a minute (login, code and setup together), then 429 with Retry-After.
func TestAdminLoginRateLimit(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	c := f.browser()
	// Setup attempts with a bad token cost no password hashing.
	for i := 0; i < 20; i++ {
		resp, body := do(t, c, "POST", f.srv.URL+"/admin/setup", url.Values{"token": {"nope"}, "password": {"x"}, "password_confirm": {"x"}})
		wantStatus(t, resp, body, http.StatusGone, "attempt")
	}
	resp, body := do(t, c, "POST", f.srv.URL+"/admin/login", url.Values{"email": {"a@example.org"}, "password": {"whatever at all"}})
	wantStatus(t, resp, body, http.StatusTooManyRequests, "21st attempt")
	if ra := resp.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("Retry-After %q", ra)
	}
	f.clock.Add(2 * time.Minute)
	resp, body = do(t, c, "POST", f.srv.URL+"/admin/login", url.Values{"email": {"a@example.org"}, "password": {"whatever at all"}})
	wantStatus(t, resp, body, http.StatusBadRequest, "a minute later")
}

// TestAdminSessionExpiry: idle and absolute timeouts send the browser to
// the login page, which brings it back.
func TestAdminSessionExpiry(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{SessionIdle: time.Hour, SessionMax: 3 * time.Hour})
	c, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: store.RoleOwner, At: f.clock.Now()})
	for i := 0; i < 2; i++ {
		f.clock.Add(59 * time.Minute)
		resp, body := do(t, c, "GET", f.srv.URL+"/admin/users", nil)
		wantStatus(t, resp, body, 200, "within idle")
	}
	f.clock.Add(70 * time.Minute) // 188 min old, last used 70 min ago
	resp, _ := do(t, c, "GET", f.srv.URL+"/admin/users?x=1", nil)
	wantRedirect(t, resp, "/admin/login?next=%2Fadmin%2Fusers%3Fx%3D1", "expired")
	resp, body := do(t, c, "GET", f.srv.URL+"/admin/login?next=%2Fadmin%2Fusers%3Fx%3D1", nil)
	wantStatus(t, resp, body, 200, "login page")
	if !strings.Contains(body, "Your session has ended") || !strings.Contains(body, `name="next" value="/admin/users?x=1"`) {
		t.Errorf("login page after expiry: %s", body)
	}

	c2, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Email: "b@example.org", At: f.clock.Now()})
	for i := 0; i < 3; i++ {
		f.clock.Add(55 * time.Minute)
		resp, body = do(t, c2, "GET", f.srv.URL+"/admin/", nil)
		wantStatus(t, resp, body, 200, "used often")
	}
	f.clock.Add(20 * time.Minute) // past session_max though never idle
	resp, _ = do(t, c2, "GET", f.srv.URL+"/admin/", nil)
	wantRedirect(t, resp, "/admin/login?next=%2Fadmin%2F", "past session_max")
}

// TestAdminHTTPSCookie: on an https site the session cookie is
// __Host-herald_admin, Secure.
func TestAdminHTTPSCookie(t *testing.T) {
	f := newAdminFixture(t, "https://news.example.org", web.AdminConfig{})
	token, err := admin.AddUser(context.Background(), f.store, admin.CLI, "ann@example.org", "", store.RoleOwner, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple"
	resp, body := do(t, f.browser(), "POST", f.srv.URL+"/admin/setup", url.Values{"token": {token}, "password": {pw}, "password_confirm": {pw}},
		"Origin", "https://news.example.org", "Sec-Fetch-Site", "same-origin")
	wantRedirect(t, resp, "/admin/", "setup: "+body)
	sc := resp.Header.Values("Set-Cookie")
	var found bool
	for _, v := range sc {
		if strings.HasPrefix(v, "__Host-herald_admin=") {
			found = true
			for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
				if !strings.Contains(v, attr) {
					t.Errorf("cookie %q lacks %s", v, attr)
				}
			}
			if strings.Contains(v, "Domain=") {
				t.Errorf("cookie %q has a Domain", v)
			}
		}
	}
	if !found {
		t.Fatalf("no __Host- cookie in %q", sc)
	}
}
