// Package admintest signs tests in to the admin web UI in one line: it
// creates a user with a role in the store, starts a session for it and
// hands back an http.Client carrying the cookie, or puts the cookie into
// a chromedp browser (docs/ARCHITECTURE.md, "Admin UI").
package admintest

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/herald-news/herald/internal/admin"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/web"
)

// Store is what signing a test user in needs of the store (both backends
// have it).
type Store interface {
	CreateUser(ctx context.Context, u store.User) (int64, error)
	CreateSession(ctx context.Context, se store.Session) error
}

// User says whom to sign in. Every field may be left empty.
type User struct {
	Role  string // default store.RoleEditor
	Email string // default ROLE@example.org
	Name  string
	// At is when the session starts (the server's clock); default now.
	At time.Time
}

// Login creates u in st (no password: it signs in through the session
// alone) and a session for it, and returns a client that sends the
// session cookie to baseURL, the server's address, and the cookie. The
// client does not follow redirects, so a test sees each 303 and its
// Location. The server must use site.base_url baseURL's scheme for the
// cookie's name (web.AdminCookieName).
func Login(t testing.TB, st Store, baseURL string, u User) (*http.Client, *http.Cookie) {
	t.Helper()
	if u.Role == "" {
		u.Role = store.RoleEditor
	}
	if u.Email == "" {
		u.Email = u.Role + "@example.org"
	}
	if u.At.IsZero() {
		u.At = time.Now()
	}
	ctx := context.Background()
	id, err := st.CreateUser(ctx, store.User{Email: u.Email, Name: u.Name, Role: u.Role, CreatedAt: u.At})
	if err != nil {
		t.Fatalf("admintest: create user %s: %v", u.Email, err)
	}
	token, hash, err := admin.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, store.Session{IDHash: hash, UserID: id, CreatedAt: u.At, LastSeen: u.At, UserAgent: "admintest"}); err != nil {
		t.Fatalf("admintest: create session: %v", err)
	}
	c := &http.Cookie{Name: web.AdminCookieName(baseURL), Value: token, Path: "/"}
	return Client(t, baseURL, c), c
}

// Client returns a client that sends cookie c to baseURL and does not
// follow redirects.
func Client(t testing.TB, baseURL string, c *http.Cookie) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	// Set for the address actually dialled: a test server is plain http,
	// so the cookie goes without Secure even where the site is https.
	jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Browser puts the session cookie c for baseURL into the chromedp
// browser of ctx (from browsertest.New); pages then open signed in.
func Browser(t testing.TB, ctx context.Context, baseURL string, c *http.Cookie) {
	t.Helper()
	httpOnly := true
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{
			Name: c.Name, Value: c.Value, URL: baseURL, Path: "/", HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax,
		})
		return err
	}))
	if err != nil {
		t.Fatalf("admintest: set the session cookie in the browser: %v", err)
	}
}
