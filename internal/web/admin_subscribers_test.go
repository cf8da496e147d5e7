package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/internal/web/admintest"
	"github.com/herald-news/herald/templates"
)

type subsFixture struct {
	srv   *httptest.Server
	store *sqlite.Store
	svc   *subscribe.Service
	mails *subscribetest.Mailer
	// restart replaces the server by a new one over the same store, as
	// another instance or a restarted one would answer.
	restart func(t testing.TB)
}

// newSubsFixture serves the admin UI with the subscriber pages over a
// fresh SQLite store and the real subscribe service.
func newSubsFixture(t testing.TB) *subsFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "h.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &subsFixture{store: st, mails: subscribetest.NewMailer()}
	var h http.Handler
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(f.srv.Close)
	f.svc, err = subscribe.New(subscribe.Config{
		BaseURL: f.srv.URL, SiteTitle: "Herald News",
		Newsletters: []subscribe.Newsletter{{ID: "monthly", Title: "Monthly", Default: true}, {ID: "weekly", Title: "Weekly", Tags: []string{"WP4", "Go"}}},
		ConfirmTTL:  7 * 24 * time.Hour, ResendInterval: time.Hour, ConsentText: "I agree to the monthly digest.",
		Templates: templates.Embedded(), Tokens: subscribe.NewTokens([][]byte{[]byte("test-key-0123456789abcdef-0123456789")}),
		Store: st, Mailer: f.mails,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.restart = func(t testing.TB) {
		t.Helper()
		s, err := web.New(web.Config{Site: web.Site{Title: "Herald Test", BaseURL: f.srv.URL, Language: "en", Location: time.UTC},
			Store: st, Templates: templates.FS(""), Admin: &web.AdminConfig{Store: st, Subscribers: f.svc}})
		if err != nil {
			t.Fatal(err)
		}
		h = s
	}
	f.restart(t)
	return f
}

func (f *subsFixture) login(t testing.TB, role string) *http.Client {
	c, _ := admintest.Login(t, f.store, f.srv.URL, admintest.User{Role: role})
	return c
}

// upload posts a CSV to the import form.
func upload(t testing.TB, c *http.Client, base, name, csv string) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", name)
	fw.Write([]byte(csv))
	mw.WriteField("confirmed", "yes")
	mw.Close()
	resp, err := c.Post(base+"/admin/import", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func TestAdminSubscribersEditor403(t *testing.T) {
	f := newSubsFixture(t)
	ed := f.login(t, store.RoleEditor)
	for _, p := range []struct{ method, path string }{
		{"GET", "/admin/subscribers"}, {"POST", "/admin/subscribers"}, {"GET", "/admin/subscribers.csv"},
		{"GET", "/admin/subscribers/a@example.org"}, {"POST", "/admin/subscribers/a@example.org/status"},
		{"POST", "/admin/subscribers/a@example.org/choice"}, {"POST", "/admin/subscribers/a@example.org/language"},
		{"GET", "/admin/subscribers/a@example.org/export"},
		{"POST", "/admin/subscribers/a@example.org/erase"}, {"GET", "/admin/import"}, {"POST", "/admin/import"},
		{"POST", "/admin/import/apply"},
	} {
		resp, body := do(t, ed, p.method, f.srv.URL+p.path, url.Values{})
		wantStatus(t, resp, body, http.StatusForbidden, p.method+" "+p.path)
	}
	// The navigation does not offer the page to an editor.
	if _, body := do(t, ed, "GET", f.srv.URL+"/admin/account", nil); strings.Contains(body, `href="/admin/subscribers"`) {
		t.Error("editor's navigation links to subscribers")
	}
}

func TestAdminSubscribers(t *testing.T) {
	f := newSubsFixture(t)
	ctx := context.Background()
	m := f.login(t, store.RoleManager)
	base := f.srv.URL
	for i := range 55 {
		if _, _, err := f.svc.Add(ctx, fmt.Sprintf("p%02d@example.org", i), "Person", []string{"monthly"}, nil, true); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("AddConfirmed", func(t *testing.T) {
		resp, body := do(t, m, "POST", base+"/admin/subscribers", url.Values{"email": {"Asa@Example.SE"}, "name": {"ÅSA Lind"},
			"newsletters": {"weekly"}, "tags": {"wp4"}, "confirmed": {"yes"}})
		wantRedirect(t, resp, "/admin/subscribers/Asa@example.se", "add "+body)
		sub, err := f.svc.Get(ctx, "asa@example.se")
		if err != nil || sub.Status != subscribe.StatusActive || strings.Join(sub.Newsletters, ",") != "weekly" || strings.Join(sub.Tags, ",") != "wp4" {
			t.Fatalf("%+v %v", sub, err)
		}
	})
	t.Run("AddOptIn", func(t *testing.T) {
		resp, _ := do(t, m, "POST", base+"/admin/subscribers", url.Values{"email": {"new@example.org"}, "confirmed": {"no"}})
		wantRedirect(t, resp, "/admin/subscribers/new@example.org", "add opt-in")
		if mail := f.mails.Wait(t, 1); mail.To != "new@example.org" || mail.Kind != "confirm" {
			t.Errorf("mail %+v", mail)
		}
	})
	t.Run("AddBad", func(t *testing.T) {
		resp, body := do(t, m, "POST", base+"/admin/subscribers", url.Values{"email": {"not an address"}, "name": {"<b>x</b>"}})
		wantStatus(t, resp, body, http.StatusBadRequest, "bad address")
		if !strings.Contains(body, `href="#email"`) || !strings.Contains(body, `aria-invalid="true" aria-describedby="email-error"`) || strings.Contains(body, "<b>x</b>") {
			t.Errorf("error summary missing or unescaped:\n%s", body)
		}
		resp, body = do(t, m, "POST", base+"/admin/subscribers", url.Values{"email": {"t@example.org"}, "tags": {"nosuchtopic"}})
		wantStatus(t, resp, body, http.StatusBadRequest, "unknown tag")
		if !strings.Contains(body, `href="#tags"`) {
			t.Error("no tags error")
		}
	})
	t.Run("SearchFilterPage", func(t *testing.T) {
		resp, body := do(t, m, "GET", base+"/admin/subscribers?q=%C3%A5sa", nil)
		wantStatus(t, resp, body, 200, "search")
		if !strings.Contains(body, "<strong>1</strong> subscriber matches") || !strings.Contains(body, "Asa@example.se") {
			t.Errorf("search by folded name:\n%s", body)
		}
		_, body = do(t, m, "GET", base+"/admin/subscribers?newsletter=weekly&tag=wp4&status=active", nil)
		if !strings.Contains(body, "<strong>1</strong>") {
			t.Error("newsletter and topic filter")
		}
		_, body = do(t, m, "GET", base+"/admin/subscribers?status=active", nil)
		if !strings.Contains(body, "<strong>56</strong> subscribers match") || !strings.Contains(body, `rel="next"`) || strings.Count(body, "<tr><td><a href=") != 50 {
			t.Fatalf("first page:\n%s", body)
		}
		next := body[strings.Index(body, `<a href="/admin/subscribers?after=`)+9:]
		next = strings.ReplaceAll(next[:strings.Index(next, `"`)], "&amp;", "&")
		_, body = do(t, m, "GET", base+next, nil)
		if strings.Count(body, "<tr><td><a href=") != 6 || strings.Contains(body, `rel="next"`) || !strings.Contains(body, "First page") {
			t.Errorf("second page %s:\n%s", next, body)
		}
		resp, body = do(t, m, "GET", base+"/admin/subscribers?newsletter=nope", nil)
		wantStatus(t, resp, body, http.StatusBadRequest, "unknown newsletter")
	})
	t.Run("ExportFilter", func(t *testing.T) {
		resp, body := do(t, m, "GET", base+"/admin/subscribers.csv?newsletter=weekly", nil)
		wantStatus(t, resp, body, 200, "export")
		if resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(body, strings.Join(subscribe.CSVColumns, ",")+"\n") ||
			strings.Count(body, "\n") != 2 || !strings.Contains(body, "Asa@example.se") {
			t.Errorf("export:\n%s", body)
		}
	})
	t.Run("SubscriberPage", func(t *testing.T) {
		resp, body := do(t, m, "GET", base+"/admin/subscribers/new@example.org", nil)
		wantStatus(t, resp, body, 200, "page")
		for _, want := range []string{"I agree to the monthly digest.", "cli", `id="status">pending`, "No digest has gone"} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		resp, body = do(t, m, "GET", base+"/admin/subscribers/nobody@example.org", nil)
		wantStatus(t, resp, body, 404, "missing")
	})
	t.Run("ChoiceStatusExport", func(t *testing.T) {
		p := base + "/admin/subscribers/p01@example.org"
		resp, _ := do(t, m, "POST", p+"/choice", url.Values{"newsletters": {"monthly", "weekly"}, "tags": {"Go, WP4"}})
		wantRedirect(t, resp, "/admin/subscribers/p01@example.org", "choice")
		sub, _ := f.svc.Get(ctx, "p01@example.org")
		if strings.Join(sub.Newsletters, ",") != "monthly,weekly" || strings.Join(sub.Tags, ",") != "go,wp4" {
			t.Errorf("choice %v %v", sub.Newsletters, sub.Tags)
		}
		resp, body := do(t, m, "POST", p+"/choice", url.Values{"newsletters": {"daily"}})
		wantStatus(t, resp, body, 400, "unknown newsletter")
		resp, _ = do(t, m, "POST", p+"/status", url.Values{"action": {"unsubscribe"}})
		wantRedirect(t, resp, "/admin/subscribers/p01@example.org", "unsubscribe")
		if sub, _ := f.svc.Get(ctx, "p01@example.org"); sub.Status != subscribe.StatusUnsubscribed {
			t.Errorf("status %s", sub.Status)
		}
		resp, _ = do(t, m, "POST", p+"/status", url.Values{"action": {"reactivate"}})
		wantRedirect(t, resp, "/admin/subscribers/p01@example.org", "reactivate")
		if sub, _ := f.svc.Get(ctx, "p01@example.org"); sub.Status != subscribe.StatusActive || strings.Join(sub.Tags, ",") != "go,wp4" {
			t.Errorf("reactivated %+v", sub)
		}
		resp, body = do(t, m, "GET", p+"/export", nil)
		wantStatus(t, resp, body, 200, "gdpr export")
		if !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || !strings.Contains(body, `"email": "p01@example.org"`) {
			t.Errorf("export %v:\n%s", resp.Header, body)
		}
	})
	t.Run("Erase", func(t *testing.T) {
		p := base + "/admin/subscribers/p02@example.org"
		resp, body := do(t, m, "POST", p+"/erase", url.Values{"confirm": {"p03@example.org"}})
		wantStatus(t, resp, body, 400, "wrong confirmation")
		if !strings.Contains(body, `href="#confirm"`) {
			t.Error("no confirm error")
		}
		if _, err := f.svc.Get(ctx, "p02@example.org"); err != nil {
			t.Fatal("erased without confirmation")
		}
		resp, _ = do(t, m, "POST", p+"/erase", url.Values{"confirm": {"P02@example.org"}})
		wantRedirect(t, resp, "/admin/subscribers", "erase")
		if _, err := f.svc.Get(ctx, "p02@example.org"); err == nil {
			t.Fatal("not erased")
		}
	})
	t.Run("Language", func(t *testing.T) {
		// The add form offers site.languages, site.language selected.
		_, body := do(t, m, "GET", base+"/admin/subscribers", nil)
		if !strings.Contains(body, `<option value="en" lang="en" selected>English</option>`) || !strings.Contains(body, `<option value="fi" lang="fi">Suomi</option>`) {
			t.Fatalf("add form's language select:\n%s", body)
		}
		n := len(f.mails.Mails())
		resp, body := do(t, m, "POST", base+"/admin/subscribers", url.Values{"email": {"sv@example.org"}, "language": {"sv"}, "confirmed": {"no"}})
		wantRedirect(t, resp, "/admin/subscribers/sv@example.org", "add in Swedish "+body)
		if mail := f.mails.Wait(t, n+1); mail.To != "sv@example.org" || !strings.Contains(mail.HTML, `<html lang="sv">`) {
			t.Errorf("confirmation not Swedish: %q", mail.Subject)
		}
		if sub, _ := f.svc.Get(ctx, "sv@example.org"); sub.Language != "sv" {
			t.Errorf("stored %q", sub.Language)
		}
		resp, body = do(t, m, "POST", base+"/admin/subscribers", url.Values{"email": {"tlh@example.org"}, "language": {"tlh"}})
		wantStatus(t, resp, body, 400, "unknown language")
		if !strings.Contains(body, `href="#language"`) || !strings.Contains(body, `aria-describedby="language-error"`) {
			t.Errorf("no language error:\n%s", body)
		}
		// The subscriber page changes it, in any status, and clears it.
		p := base + "/admin/subscribers/sv@example.org"
		_, body = do(t, m, "GET", p, nil)
		if !strings.Contains(body, `<option value="sv" lang="sv" selected>Svenska</option>`) {
			t.Fatalf("subscriber page's language select:\n%s", body)
		}
		for _, code := range []string{"de", ""} {
			resp, _ = do(t, m, "POST", p+"/language", url.Values{"language": {code}})
			wantRedirect(t, resp, "/admin/subscribers/sv@example.org", "language "+code)
			if sub, _ := f.svc.Get(ctx, "sv@example.org"); sub.Language != code {
				t.Errorf("language after setting %q: %q", code, sub.Language)
			}
		}
		resp, body = do(t, m, "POST", p+"/language", url.Values{"language": {"xx"}})
		wantStatus(t, resp, body, 400, "unknown language on the subscriber page")
		if !strings.Contains(body, `href="#language"`) {
			t.Error("no language error on the subscriber page")
		}
	})
	t.Run("Audit", func(t *testing.T) {
		es, err := f.store.AuditBefore(ctx, time.Time{}, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, e := range es {
			got[e.Action]++
			if e.Action == "subscribers.erase" && strings.Contains(e.Detail, "p02") {
				t.Errorf("the audit log keeps the erased address: %q", e.Detail)
			}
			if e.Email != "manager@example.org" || e.IP == "" {
				t.Errorf("entry %+v", e)
			}
		}
		for _, a := range []string{"subscribers.add", "subscribers.choice", "subscribers.status", "subscribers.language", "subscribers.export-data", "subscribers.erase", "subscribers.export"} {
			if got[a] == 0 {
				t.Errorf("no %s in the audit log: %v", a, got)
			}
		}
	})
}

func TestAdminSubscribersImport(t *testing.T) {
	f := newSubsFixture(t)
	ctx := context.Background()
	m := f.login(t, store.RoleManager)
	base := f.srv.URL
	if _, _, err := f.svc.Add(ctx, "old@example.org", "Old Name", []string{"weekly"}, nil, true); err != nil {
		t.Fatal(err)
	}
	csv := "email,name,newsletters\nnew1@example.org,One,monthly\nold@example.org,Changed,monthly\nbroken,Bad,\nnew2@example.org,Two,nosuch\n"
	resp, body := upload(t, m, base, "list.csv", csv)
	wantStatus(t, resp, body, 200, "plan")
	for _, want := range []string{`id="plan-add">1<`, `id="plan-present">1<`, `id="plan-bad">2<`, "<td>4</td>", "<td>5</td>"} {
		if !strings.Contains(body, want) {
			t.Errorf("plan lacks %q:\n%s", want, body)
		}
	}
	if _, err := f.svc.Get(ctx, "new1@example.org"); err == nil {
		t.Fatal("the dry run wrote")
	}
	i := strings.Index(body, `name="plan" value="`) + len(`name="plan" value="`)
	id := body[i : i+strings.Index(body[i:], `"`)]
	// The confirmation may reach another instance (or this one after a
	// restart): the upload waits in the store, not in a process.
	f.restart(t)
	// Bound to the user who uploaded.
	other := f.login(t, store.RoleOwner)
	resp, body = do(t, other, "POST", base+"/admin/import/apply", url.Values{"plan": {id}})
	wantStatus(t, resp, body, http.StatusGone, "another user's plan")
	resp, _ = do(t, m, "POST", base+"/admin/import/apply", url.Values{"plan": {id}})
	wantRedirect(t, resp, "/admin/subscribers", "apply")
	if sub, err := f.svc.Get(ctx, "new1@example.org"); err != nil || sub.Status != subscribe.StatusActive {
		t.Fatalf("not imported: %+v %v", sub, err)
	}
	if sub, _ := f.svc.Get(ctx, "old@example.org"); sub.Name != "Old Name" || strings.Join(sub.Newsletters, ",") != "weekly" {
		t.Errorf("present row changed: %+v", sub)
	}
	resp, body = do(t, m, "POST", base+"/admin/import/apply", url.Values{"plan": {id}})
	wantStatus(t, resp, body, http.StatusGone, "plan used twice")
	resp, body = upload(t, m, base, "bad.csv", "mail,name\nx@example.org,X\n")
	wantStatus(t, resp, body, 400, "bad header")
	if !strings.Contains(body, `href="#file"`) || !strings.Contains(body, "unknown column") {
		t.Errorf("header error:\n%s", body)
	}
}
