package subscribe_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/internal/subscribe"
)

// suppressionList is the store's suppression list keyed as serve keys
// it (an HMAC of the lower-cased address), the glue cmd/herald has.
type suppressionList struct{ st *sqlite.Store }

func (l suppressionList) hash(email string) []byte {
	m := hmac.New(sha256.New, []byte("plan test key"))
	m.Write([]byte(strings.ToLower(email)))
	return m.Sum(nil)
}

func (l suppressionList) IsSuppressed(ctx context.Context, email string) (bool, error) {
	return l.st.Suppressed(ctx, [][]byte{l.hash(email)})
}

func (l suppressionList) Lift(ctx context.Context, email string) (bool, error) {
	return l.st.Unsuppress(ctx, [][]byte{l.hash(email)})
}

func TestImportPlan(t *testing.T) {
	ctx := context.Background()
	var list suppressionList
	e := newEnvWith(t, "https://news.example.org", func(c *subscribe.Config) { list.st = c.Store.(*sqlite.Store); c.Suppression = list })
	if _, _, err := e.svc.Add(ctx, "kept@example.org", "Kept As Is", []string{"weekly"}, nil, true); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Suppress(ctx, list.hash("gone@example.org"), digest.SuppressHard, 0, e.clock.t); err != nil {
		t.Fatal(err)
	}
	in := strings.Join([]string{
		"email,name,newsletters,status",
		"new@example.org,New,monthly,",            // 2: added
		"KEPT@example.org,Other Name,monthly,",    // 3: present, left as it is
		"not-an-address,,,",                       // 4: bad
		"gone@example.org,,,",                     // 5: suppressed
		"new@example.org,Again,,",                 // 6: bad: twice
		"x@example.org,,nosuch,",                  // 7: bad: unknown newsletter
		"y@example.org,,,sleeping",                // 8: bad: status
		"z@example.org,too,many,fields,here",      // 9: bad: width
		"",                                        // blank: not a row
		"second@example.org,Second,weekly,active", // 11: added
	}, "\n") + "\n"
	plan, err := e.svc.PlanImport(ctx, strings.NewReader(in), subscribe.ImportOptions{Source: "people.csv"})
	if err != nil {
		t.Fatal(err)
	}
	lines := func(rows []subscribe.PlannedRow) string {
		var out []string
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%d:%s", r.Line, r.Subscriber.Email))
		}
		return strings.Join(out, " ")
	}
	if got := lines(plan.Add); got != "2:new@example.org 11:second@example.org" {
		t.Errorf("add: %s", got)
	}
	if got := lines(plan.Present); got != "3:KEPT@example.org" {
		t.Errorf("present: %s", got)
	}
	if plan.Rows != 9 || len(plan.Suppressed) != 1 || plan.Suppressed[0].Line != 5 || !strings.Contains(plan.Suppressed[0].Msg, "suppression list") {
		t.Errorf("rows %d, suppressed %v", plan.Rows, plan.Suppressed)
	}
	for i, want := range []struct {
		line int
		msg  string
	}{
		{4, "invalid email"},
		{6, "also on line 2"},
		{7, `unknown newsletter "nosuch"`},
		{8, `status "sleeping"`},
		{9, "5 fields, the header has 4"},
	} {
		if i >= len(plan.Errors) || plan.Errors[i].Line != want.line || !strings.Contains(plan.Errors[i].Msg, want.msg) {
			t.Fatalf("errors: %v; want line %d %q at %d", plan.Errors, want.line, want.msg, i)
		}
	}
	if len(plan.Errors) != 5 {
		t.Fatalf("errors: %v", plan.Errors)
	}
	// Planning changed nothing.
	if _, err := e.svc.Get(ctx, "new@example.org"); err == nil {
		t.Fatal("the plan added a subscriber")
	}
	// Someone adds one of the plan's addresses before it is applied: it
	// is left as it is, counted unchanged.
	if _, _, err := e.svc.Add(ctx, "second@example.org", "Meanwhile", nil, nil, true); err != nil {
		t.Fatal(err)
	}
	rep, err := e.svc.ApplyImport(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 9 || rep.Added != 1 || rep.Unchanged != 2 || len(rep.Errors) != 6 || rep.Errors[3].Line != 7 || rep.Errors[1].Line != 5 {
		t.Fatalf("report %+v %v", rep, rep.Errors)
	}
	kept, err := e.svc.Get(ctx, "kept@example.org")
	if err != nil || kept.Name != "Kept As Is" || fmt.Sprint(kept.Newsletters) != "[weekly]" {
		t.Fatalf("present row changed: %+v %v", kept, err)
	}
	if s, err := e.svc.Get(ctx, "second@example.org"); err != nil || s.Name != "Meanwhile" {
		t.Fatalf("row added meanwhile changed: %+v %v", s, err)
	}
	// Import is plan and apply: the same file again adds nothing.
	again, err := e.svc.Import(ctx, strings.NewReader(in), subscribe.ImportOptions{})
	if err != nil || again.Added != 0 || again.Unchanged != 3 || len(again.Errors) != 6 {
		t.Fatalf("again: %+v %v", again, err)
	}
}
