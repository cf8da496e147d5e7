package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/subscribe/subscribetest"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

// apiSubs is the service plus the store's search, as serve wires them.
type apiSubs struct {
	*subscribe.Service
	st *sqlite.Store
}

func (a apiSubs) Search(ctx context.Context, f subscribe.Filter, q string, after int64, limit int) ([]*subscribe.Subscriber, error) {
	f.Query = subscribe.Fold(q)
	return a.st.SearchSubscribers(ctx, f, after, limit)
}

func newSubsAPIFixture(t *testing.T) (*apiFixture, *subscribetest.Mailer) {
	t.Helper()
	mails := subscribetest.NewMailer()
	f := newAPIFixtureWith(t, func(st *sqlite.Store) web.APISubscribers {
		svc, err := subscribe.New(subscribe.Config{
			BaseURL: "https://news.example.org", SiteTitle: "Herald News",
			Newsletters: []subscribe.Newsletter{{ID: "monthly", Title: "Monthly", Default: true}, {ID: "weekly", Title: "Weekly", Tags: []string{"WP4"}}},
			ConfirmTTL:  7 * 24 * time.Hour, ResendInterval: time.Hour, ConsentText: "I agree.",
			Templates: templates.Embedded(), Tokens: subscribe.NewTokens([][]byte{[]byte("test-key-0123456789abcdef-0123456789")}),
			Store: st, Mailer: mails,
		})
		if err != nil {
			t.Fatal(err)
		}
		return apiSubs{svc, st}
	}, defaultTokens()...)
	return f, mails
}

func TestAPISubscribers(t *testing.T) {
	f, mails := newSubsAPIFixture(t)
	t.Run("OKAddConfirmed", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/subscribers", `{"email":"Liesbeth@Example.BE","name":"Liesbeth","newsletters":["weekly"],"confirmed":true}`)
		var out struct {
			Subscriber       subscribe.Subscriber `json:"subscriber"`
			ConfirmationSent bool                 `json:"confirmation_sent"`
		}
		json.Unmarshal(r.Body, &out)
		if r.Status != 201 || out.Subscriber.Status != "active" || out.ConfirmationSent || out.Subscriber.Email != "Liesbeth@example.be" ||
			strings.Join(out.Subscriber.Newsletters, ",") != "weekly" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if r.Header.Get("Location") != "/api/v1/subscribers/Liesbeth@example.be" {
			t.Errorf("Location %q", r.Header.Get("Location"))
		}
	})
	t.Run("OKAddOptIn", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/subscribers", `{"email":"soren@example.dk"}`)
		if m := r.json(t); r.Status != 201 || m["confirmation_sent"] != true || m["subscriber"].(map[string]any)["status"] != "pending" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if m := mails.Wait(t, 1); m.To != "soren@example.dk" || m.Kind != "confirm" {
			t.Errorf("mail %+v", m)
		}
	})
	for i := range 5 {
		f.do(t, "POST", "/api/v1/subscribers", `{"email":"bulk`+string(rune('a'+i))+`@example.org","name":"Bulk","confirmed":true}`)
	}
	t.Run("ErrBadInput", func(t *testing.T) {
		for body, field := range map[string]string{
			`{"email":"not an address","confirmed":true}`:                  "email",
			`{"email":"a@example.org","newsletters":["nope"]}`:             "newsletters",
			`{"email":"a@example.org","colour":"red"}`:                     "colour",
			`{"email":"a@example.org\r\nBcc: x@example.org","name":"x"}`:   "email",
			`{"email":"a@example.org","confirmed":"yes"}`:                  "confirmed",
			`{"email":"a@example.org","newsletters":"weekly","name":"no"}`: "newsletters",
		} {
			r := f.do(t, "POST", "/api/v1/subscribers", body)
			if e := r.errorOf(t); r.Status != 400 || e["field"] != field {
				t.Errorf("%s: status %d: %s", body, r.Status, r.Body)
			}
		}
	})
	t.Run("OKGet", func(t *testing.T) {
		r := f.do(t, "GET", "/api/v1/subscribers/"+url.PathEscape("liesbeth@EXAMPLE.be"), "")
		if m := r.json(t); r.Status != 200 || m["name"] != "Liesbeth" || m["status"] != "active" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if r := f.do(t, "GET", "/api/v1/subscribers/nobody@example.org", ""); r.Status != 404 {
			t.Errorf("unknown: %d %s", r.Status, r.Body)
		}
	})
	t.Run("OKListSearchPaging", func(t *testing.T) {
		list := func(q string) ([]string, string) {
			t.Helper()
			r := f.do(t, "GET", "/api/v1/subscribers"+q, "")
			if r.Status != 200 {
				t.Fatalf("%s: %d %s", q, r.Status, r.Body)
			}
			var out struct {
				Subscribers []subscribe.Subscriber `json:"subscribers"`
				NextCursor  string                 `json:"next_cursor"`
			}
			json.Unmarshal(r.Body, &out)
			var emails []string
			for _, s := range out.Subscribers {
				emails = append(emails, s.Email)
			}
			return emails, out.NextCursor
		}
		if got, _ := list("?status=pending"); strings.Join(got, " ") != "soren@example.dk" {
			t.Errorf("pending: %v", got)
		}
		if got, _ := list("?newsletter=weekly"); strings.Join(got, " ") != "Liesbeth@example.be" {
			t.Errorf("weekly: %v", got)
		}
		if got, _ := list("?q=LIES"); strings.Join(got, " ") != "Liesbeth@example.be" {
			t.Errorf("search: %v", got)
		}
		if got, _ := list("?q=%25"); len(got) != 0 {
			t.Errorf("%% is literal: %v", got)
		}
		var all []string
		page, cursor := list("?limit=3")
		all = append(all, page...)
		for cursor != "" {
			page, cursor = list("?limit=3&cursor=" + cursor)
			all = append(all, page...)
		}
		if len(all) != 7 || all[0] != "Liesbeth@example.be" {
			t.Errorf("pages: %v", all)
		}
		for q, field := range map[string]string{"?status=gone": "status", "?newsletter=nope": "newsletter", "?cursor=x": "cursor", "?limit=0": "limit"} {
			if r := f.do(t, "GET", "/api/v1/subscribers"+q, ""); r.Status != 400 || r.errorOf(t)["field"] != field {
				t.Errorf("%s: %d %s", q, r.Status, r.Body)
			}
		}
	})
	t.Run("OKChangeStatus", func(t *testing.T) {
		r := f.do(t, "PATCH", "/api/v1/subscribers/Liesbeth@example.be", `{"status":"unsubscribed"}`)
		if m := r.json(t); r.Status != 200 || m["status"] != "unsubscribed" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		r = f.do(t, "PATCH", "/api/v1/subscribers/Liesbeth@example.be", `{"status":"active"}`)
		if m := r.json(t); r.Status != 200 || m["status"] != "active" {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if r := f.do(t, "PATCH", "/api/v1/subscribers/Liesbeth@example.be", `{"status":"bounced"}`); r.Status != 422 || r.errorOf(t)["field"] != "status" {
			t.Errorf("bounced: %d %s", r.Status, r.Body)
		}
	})
	t.Run("OKChangeLanguage", func(t *testing.T) {
		r := f.do(t, "PATCH", "/api/v1/subscribers/Liesbeth@example.be", `{"language":"nl"}`)
		if m := r.json(t); r.Status != 200 || m["language"] != "nl" || m["status"] != "active" {
			t.Fatalf("language: %d %s", r.Status, r.Body)
		}
		// Both at once: the status first, then the language.
		r = f.do(t, "PATCH", "/api/v1/subscribers/Liesbeth@example.be", `{"status":"unsubscribed","language":"fr"}`)
		if m := r.json(t); r.Status != 200 || m["language"] != "fr" || m["status"] != "unsubscribed" {
			t.Fatalf("both: %d %s", r.Status, r.Body)
		}
		r = f.do(t, "PATCH", "/api/v1/subscribers/Liesbeth@example.be", `{"status":"active","language":""}`)
		if m := r.json(t); r.Status != 200 || m["language"] != nil && m["language"] != "" || m["status"] != "active" {
			t.Fatalf("back to the newsletter's language: %d %s", r.Status, r.Body)
		}
		for _, c := range []struct {
			body, field string
			status      int
		}{{`{"language":"xx"}`, "language", 400}, {`{}`, "status", 422}} {
			if r := f.do(t, "PATCH", "/api/v1/subscribers/Liesbeth@example.be", c.body); r.Status != c.status || r.errorOf(t)["field"] != c.field {
				t.Errorf("%s: %d %s", c.body, r.Status, r.Body)
			}
		}
		if r := f.do(t, "PATCH", "/api/v1/subscribers/nobody@example.org", `{"language":"sv"}`); r.Status != 404 {
			t.Errorf("no such subscriber: %d %s", r.Status, r.Body)
		}
	})
	t.Run("OKExport", func(t *testing.T) {
		r := f.do(t, "GET", "/api/v1/subscribers.csv", "")
		recs, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
		if r.Status != 200 || err != nil || len(recs) != 8 || recs[0][0] != "email" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
			t.Fatalf("status %d (%v): %s", r.Status, err, r.Body)
		}
		r = f.do(t, "GET", "/api/v1/subscribers/soren@example.dk/export", "")
		if m := r.json(t); r.Status != 200 || m["subscriber"].(map[string]any)["email"] != "soren@example.dk" || m["exported_at"] == nil {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	})
	t.Run("OKErase", func(t *testing.T) {
		if r := f.do(t, "DELETE", "/api/v1/subscribers/soren@example.dk", ""); r.Status != 204 {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		if r := f.do(t, "GET", "/api/v1/subscribers/soren@example.dk", ""); r.Status != 404 {
			t.Errorf("after erase: %d", r.Status)
		}
		if !strings.Contains(f.log.String(), `msg="api write" token=default method=DELETE path=/api/v1/subscribers/soren@example.dk status=204`) {
			t.Errorf("erase not logged:\n%s", f.log.String())
		}
	})
	t.Run("ErrUnauthorized", func(t *testing.T) {
		if r := f.do(t, "GET", "/api/v1/subscribers", "", "Authorization", ""); r.Status != 401 {
			t.Errorf("status %d", r.Status)
		}
	})
}

func TestAPISubscribersOff(t *testing.T) {
	f := newAPIFixture(t, defaultTokens()...)
	if r := f.do(t, "GET", "/api/v1/subscribers", ""); r.Status != 404 || !strings.Contains(r.errorOf(t)["message"].(string), "not available") {
		t.Errorf("status %d: %s", r.Status, r.Body)
	}
}

// TestAPISubscriberTags: unknown topic tags would make every digest a
// skip (no article has them); the API refuses them, naming the tag.
// Before, subscriber create took no tags, so none could be chosen.
func TestAPISubscriberTags(t *testing.T) {
	f, _ := newSubsAPIFixture(t)
	t.Run("ErrUnknownTag", func(t *testing.T) {
		r := f.do(t, "POST", "/api/v1/subscribers", `{"email":"tags@example.org","tags":["WP4","ghost-topic"],"confirmed":true}`)
		if e := r.errorOf(t); r.Status != 400 || e["field"] != "tags" || !strings.Contains(string(r.Body), "ghost-topic") {
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
		r = f.do(t, "POST", "/api/v1/subscribers", `{"email":"tags@example.org","tags":["WP4"],"confirmed":true}`)
		if m := r.json(t); r.Status != 201 || fmt.Sprint(m["subscriber"].(map[string]any)["tags"]) != "[wp4]" {
			t.Fatalf("known tag: status %d: %s", r.Status, r.Body)
		}
	})
}

// TestAPISubscribersCSVGuard: over HTTP, an address or name that starts a
// formula is exported as text in every column.
func TestAPISubscribersCSVGuard(t *testing.T) {
	f, _ := newSubsAPIFixture(t)
	if r := f.do(t, "POST", "/api/v1/subscribers", `{"email":"=1+1@example.org","name":"-2","confirmed":true}`); r.Status != 201 {
		t.Fatalf("add: %d %s", r.Status, r.Body)
	}
	r := f.do(t, "GET", "/api/v1/subscribers.csv", "")
	recs, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if r.Status != 200 || err != nil || len(recs) != 2 {
		t.Fatalf("status %d (%v): %s", r.Status, err, r.Body)
	}
	if recs[1][0] != "'=1+1@example.org" || recs[1][1] != "'-2" {
		t.Errorf("row %q: want guarded email and name", recs[1])
	}
}
