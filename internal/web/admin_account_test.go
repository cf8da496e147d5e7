package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/admin"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/web/admintest"
)

const testPassword = "correct horse battery staple"

// withPassword creates an account with testPassword through its setup
// link, as herald users add and the setup page do.
func (f *adminFixture) withPassword(t testing.TB, email, role string) {
	t.Helper()
	ctx := context.Background()
	token, err := admin.AddUser(ctx, f.store, admin.CLI, email, "", role, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CompleteSetup(ctx, f.store, token, testPassword, "", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

// signIn posts the login form and returns the answer.
func (f *adminFixture) signIn(t testing.TB, c *http.Client, email, password, next string) *http.Response {
	t.Helper()
	resp, _ := do(t, c, "POST", f.srv.URL+"/admin/login", url.Values{"email": {email}, "password": {password}, "next": {next}})
	return resp
}

var (
	secretRe   = regexp.MustCompile(`name="secret" value="([A-Z2-7]+)"`)
	recoveryRe = regexp.MustCompile(`<li><code>([a-z2-7]{5}-[a-z2-7]{5})</code></li>`)
)

// enrol sets up two-factor sign-in for the client's user and returns the
// secret and the recovery codes.
func (f *adminFixture) enrol(t testing.TB, c *http.Client) (string, []string) {
	t.Helper()
	resp, body := do(t, c, "GET", f.srv.URL+"/admin/account/2fa", nil)
	wantStatus(t, resp, body, 200, "enrol page")
	m := secretRe.FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Fatalf("enrol page without secret or QR code:\n%s", body)
	}
	resp, body = do(t, c, "POST", f.srv.URL+"/admin/account/2fa", url.Values{"secret": {m[1]}, "code": {"000000"}})
	wantStatus(t, resp, body, 400, "wrong enrolment code")
	code, _ := admin.TOTPCode(m[1], f.clock.Now())
	resp, body = do(t, c, "POST", f.srv.URL+"/admin/account/2fa", url.Values{"secret": {m[1]}, "code": {code}})
	wantStatus(t, resp, body, 200, "enrol")
	var codes []string
	for _, mm := range recoveryRe.FindAllStringSubmatch(body, -1) {
		codes = append(codes, mm[1])
	}
	if len(codes) != admin.RecoveryCodes {
		t.Fatalf("%d recovery codes shown, want %d", len(codes), admin.RecoveryCodes)
	}
	return m[1], codes
}

// TestAdminTwoFactor: enrolment, sign-in with a code, no replay, a
// recovery code once.
func TestAdminTwoFactor(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	f.withPassword(t, "ann@example.org", store.RoleOwner)
	b := f.browser()
	wantRedirect(t, f.signIn(t, b, "ann@example.org", testPassword, ""), "/admin/", "first sign-in")
	secret, codes := f.enrol(t, b)
	enrolCode, _ := admin.TOTPCode(secret, f.clock.Now())

	b2 := f.browser()
	wantRedirect(t, f.signIn(t, b2, "ann@example.org", testPassword, "/admin/users"), "/admin/login/code?next=%2Fadmin%2Fusers", "password step")
	resp, _ := do(t, b2, "GET", f.srv.URL+"/admin/users", nil)
	wantRedirect(t, resp, "/admin/login?next=%2Fadmin%2Fusers", "pending session opens nothing")
	// That redirect ended the pending session; start again.
	wantRedirect(t, f.signIn(t, b2, "ann@example.org", testPassword, "/admin/users"), "/admin/login/code?next=%2Fadmin%2Fusers", "password step again")
	resp, body := do(t, b2, "GET", f.srv.URL+"/admin/login/code?next=%2Fadmin%2Fusers", nil)
	wantStatus(t, resp, body, 200, "code page")
	resp, body = do(t, b2, "POST", f.srv.URL+"/admin/login/code", url.Values{"code": {enrolCode}, "next": {"/admin/users"}})
	wantStatus(t, resp, body, 400, "replayed code")
	f.clock.Add(30 * time.Second)
	code, _ := admin.TOTPCode(secret, f.clock.Now())
	resp, _ = do(t, b2, "POST", f.srv.URL+"/admin/login/code", url.Values{"code": {code}, "next": {"/admin/users"}})
	wantRedirect(t, resp, "/admin/users", "code")
	resp, body = do(t, b2, "GET", f.srv.URL+"/admin/users", nil)
	wantStatus(t, resp, body, 200, "signed in with a code")

	// A recovery code works once, in any case and spacing.
	for i, want := range []int{303, 400} {
		c := f.browser()
		f.signIn(t, c, "ann@example.org", testPassword, "")
		resp, body = do(t, c, "POST", f.srv.URL+"/admin/login/code", url.Values{"code": {strings.ToUpper(codes[0])}})
		wantStatus(t, resp, body, want, fmt.Sprintf("recovery code, use %d", i+1))
	}
	// The code step lasts five minutes.
	c := f.browser()
	f.signIn(t, c, "ann@example.org", testPassword, "")
	f.clock.Add(6 * time.Minute)
	code, _ = admin.TOTPCode(secret, f.clock.Now())
	resp, _ = do(t, c, "POST", f.srv.URL+"/admin/login/code", url.Values{"code": {code}})
	wantRedirect(t, resp, "/admin/login", "late code")

	es, err := f.store.AuditBefore(context.Background(), time.Time{}, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, strings.TrimSpace(e.Action+" "+e.Detail))
	}
	joined := strings.Join(got, "|")
	for _, want := range []string{"2fa.enable ann@example.org", "login with code", "login with recovery code"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit lacks %q: %s", want, joined)
		}
	}
}

// TestAdminRequire2FA: admin.require_2fa, or the owners' setting, sends
// a user without a second factor to enrol before anything else.
func TestAdminRequire2FA(t *testing.T) {
	t.Run("Config", func(t *testing.T) {
		f := newAdminFixture(t, "", web.AdminConfig{Require2FA: true})
		c, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{At: f.clock.Now()})
		resp, _ := do(t, c, "GET", f.srv.URL+"/admin/", nil)
		wantRedirect(t, resp, "/admin/account/2fa", "config")
		f.enrol(t, c)
		resp, body := do(t, c, "GET", f.srv.URL+"/admin/", nil)
		wantStatus(t, resp, body, 200, "after enrolment")
		resp, body = do(t, c, "POST", f.srv.URL+"/admin/account/2fa/disable", url.Values{"current_password": {"x"}})
		wantStatus(t, resp, body, http.StatusConflict, "disable while required")
	})
	t.Run("OwnerSetting", func(t *testing.T) {
		f := newAdminFixture(t, "", web.AdminConfig{})
		owner, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: store.RoleOwner, At: f.clock.Now()})
		editor, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{At: f.clock.Now()})
		resp, body := do(t, editor, "GET", f.srv.URL+"/admin/", nil)
		wantStatus(t, resp, body, 200, "optional")
		resp, _ = do(t, editor, "POST", f.srv.URL+"/admin/users/require-2fa", url.Values{"require": {"true"}})
		wantStatus(t, resp, "", http.StatusForbidden, "editor changes the setting")
		resp, _ = do(t, owner, "POST", f.srv.URL+"/admin/users/require-2fa", url.Values{"require": {"true"}})
		wantRedirect(t, resp, "/admin/users", "owner requires it")
		resp, _ = do(t, editor, "GET", f.srv.URL+"/admin/", nil)
		wantRedirect(t, resp, "/admin/account/2fa", "required now")
	})
}

// TestAdminAccount: a password change ends the other sessions; a session
// can be signed out from the list.
func TestAdminAccount(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	f.withPassword(t, "ann@example.org", store.RoleEditor)
	var cs []*http.Client
	for range 3 {
		c := f.browser()
		wantRedirect(t, f.signIn(t, c, "ann@example.org", testPassword, ""), "/admin/", "sign-in")
		cs = append(cs, c)
	}
	resp, body := do(t, cs[0], "GET", f.srv.URL+"/admin/account", nil)
	wantStatus(t, resp, body, 200, "account")
	if n := strings.Count(body, `name="session"`); n != 3 || !strings.Contains(body, "(this browser)") {
		t.Fatalf("%d sessions listed, want 3:\n%s", n, body)
	}
	// Sign out another browser from the first.
	u, _ := url.Parse(f.srv.URL)
	own := admin.HashToken(cs[0].Jar.Cookies(u)[0].Value)
	other := ""
	for _, m := range regexp.MustCompile(`name="session" value="([0-9a-f]{64})"`).FindAllStringSubmatch(body, -1) {
		if m[1] != own {
			other = m[1]
		}
	}
	resp, _ = do(t, cs[0], "POST", f.srv.URL+"/admin/account/sessions/revoke", url.Values{"session": {other}})
	wantRedirect(t, resp, "/admin/account", "revoke")
	if _, err := f.store.Session(context.Background(), other); err == nil {
		t.Error("revoked session still stored")
	}
	resp, body = do(t, cs[0], "POST", f.srv.URL+"/admin/account/sessions/revoke", url.Values{"session": {other}})
	wantStatus(t, resp, body, 404, "revoke twice")

	for _, tc := range []struct{ name, current, next, confirm, want string }{
		{"ErrWrongCurrent", "not my password", "a brand new passphrase", "a brand new passphrase", "current password is not that"},
		{"ErrShort", testPassword, "short", "short", "at least 12"},
		{"ErrDiffer", testPassword, "a brand new passphrase", "another passphrase!", "differ"},
	} {
		resp, body = do(t, cs[0], "POST", f.srv.URL+"/admin/account/password", url.Values{"current_password": {tc.current}, "password": {tc.next}, "password_confirm": {tc.confirm}})
		wantStatus(t, resp, body, 400, tc.name)
		if !strings.Contains(body, tc.want) {
			t.Errorf("%s: body lacks %q", tc.name, tc.want)
		}
	}
	const next = "a brand new passphrase"
	resp, _ = do(t, cs[0], "POST", f.srv.URL+"/admin/account/password", url.Values{"current_password": {testPassword}, "password": {next}, "password_confirm": {next}})
	wantRedirect(t, resp, "/admin/account", "password change")
	resp, body = do(t, cs[0], "GET", f.srv.URL+"/admin/account", nil)
	wantStatus(t, resp, body, 200, "this browser stays signed in")
	if n := strings.Count(body, `name="session"`); n != 1 {
		t.Errorf("%d sessions after the change, want 1", n)
	}
	for i, c := range cs[1:] {
		resp, _ = do(t, c, "GET", f.srv.URL+"/admin/", nil)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("browser %d still signed in: %d", i+2, resp.StatusCode)
		}
	}
	wantRedirect(t, f.signIn(t, f.browser(), "ann@example.org", next, ""), "/admin/", "new password")
}

// TestAdminUsers: owners add, reset, re-role and remove accounts; the
// last owner stays.
func TestAdminUsers(t *testing.T) {
	f := newAdminFixture(t, "", web.AdminConfig{})
	owner, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: store.RoleOwner, At: f.clock.Now()})
	post := func(path string, v url.Values) (*http.Response, string) {
		return do(t, owner, "POST", f.srv.URL+path, v)
	}
	resp, body := post("/admin/users/add", url.Values{"email": {"bob@example.org"}, "name": {"Bob"}, "role": {"editor"}})
	wantStatus(t, resp, body, 200, "add")
	link := regexp.MustCompile(`/admin/setup\?token=[A-Za-z0-9_-]{43}`).FindString(body)
	if link == "" {
		t.Fatalf("no setup link:\n%s", body)
	}
	resp, body = do(t, f.browser(), "GET", f.srv.URL+link, nil)
	wantStatus(t, resp, body, 200, "the link works")
	for _, tc := range []struct{ name, email, role, want string }{
		{"ErrDuplicate", "BOB@example.org", "editor", "exists already"},
		{"ErrBadEmail", "not an address", "editor", "not an email address"},
		{"ErrBadRole", "carl@example.org", "admin", "Role must be"},
	} {
		resp, body = post("/admin/users/add", url.Values{"email": {tc.email}, "role": {tc.role}})
		wantStatus(t, resp, body, 400, tc.name)
		if !strings.Contains(body, tc.want) || !strings.Contains(body, `value="`+strings.ReplaceAll(tc.email, " ", " ")) {
			t.Errorf("%s: body lacks %q or the typed address", tc.name, tc.want)
		}
	}
	resp, _ = post("/admin/users/role", url.Values{"email": {"bob@example.org"}, "role": {"manager"}})
	wantRedirect(t, resp, "/admin/users", "role")
	if u, _ := f.store.UserByEmail(context.Background(), "bob@example.org"); u.Role != store.RoleManager {
		t.Errorf("role %q", u.Role)
	}
	resp, body = post("/admin/users/role", url.Values{"email": {"owner@example.org"}, "role": {"editor"}})
	wantStatus(t, resp, body, http.StatusConflict, "last owner")
	resp, body = post("/admin/users/reset", url.Values{"email": {"bob@example.org"}})
	wantStatus(t, resp, body, 200, "reset")
	resp, body = post("/admin/users/remove", url.Values{"email": {"owner@example.org"}})
	wantStatus(t, resp, body, http.StatusConflict, "remove oneself")
	resp, _ = post("/admin/users/remove", url.Values{"email": {"bob@example.org"}})
	wantRedirect(t, resp, "/admin/users", "remove")
	resp, body = post("/admin/users/remove", url.Values{"email": {"bob@example.org"}})
	wantStatus(t, resp, body, 404, "remove twice")

	// The audit log: newest first, 50 a page.
	for i := range 60 {
		if _, err := f.store.AddAudit(context.Background(), store.AuditEntry{At: f.clock.Now().Add(time.Duration(i) * time.Second),
			Email: "cli", Action: fmt.Sprintf("test.%02d", i), IP: "192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
	}
	resp, body = do(t, owner, "GET", f.srv.URL+"/admin/audit", nil)
	wantStatus(t, resp, body, 200, "audit")
	if strings.Index(body, "test.59") > strings.Index(body, "test.58") || strings.Contains(body, "test.09") {
		t.Errorf("audit page 1 order or size wrong")
	}
	older := regexp.MustCompile(`href="(/admin/audit\?before=[0-9]+-[0-9]+)" rel="next"`).FindStringSubmatch(body)
	if older == nil {
		t.Fatalf("no older link:\n%s", body)
	}
	resp, body = do(t, owner, "GET", f.srv.URL+older[1], nil)
	wantStatus(t, resp, body, 200, "audit page 2")
	for _, want := range []string{"test.09", "test.00", "users.add", "users.role", "users.reset", "users.remove"} {
		if !strings.Contains(body, want) {
			t.Errorf("audit page 2 lacks %q", want)
		}
	}
	resp, body = do(t, owner, "GET", f.srv.URL+"/admin/audit?before=x", nil)
	wantStatus(t, resp, body, 400, "bad cursor")
}
