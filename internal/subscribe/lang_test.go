package subscribe_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/subscribe"
)

// TestCSVLanguage: the language column comes last in an export, imports
// back, and a file from before it (no such column) still imports; a
// language the site does not offer is a row error.
func TestCSVLanguage(t *testing.T) {
	e := newEnv(t, "https://news.example.org")
	ctx := context.Background()
	in := "email,name,status,language\nsv@example.org,Sven,active,sv\nde@example.org,Dora,active,de-AT\nbad@example.org,Bad,active,tlh\n"
	rep, err := e.svc.Import(ctx, strings.NewReader(in), subscribe.ImportOptions{Confirmed: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0].Error(), "tlh") {
		t.Fatalf("row errors: %v", rep.Errors)
	}
	old := "email,name,newsletters,tags,status,subscribed_at\nold@example.org,Olle,,,active,2026-01-31T09:00:00Z\n"
	if rep, err := e.svc.Import(ctx, strings.NewReader(old), subscribe.ImportOptions{Confirmed: true}); err != nil || len(rep.Errors) != 0 {
		t.Fatalf("old file: %v %v", rep, err)
	}
	var out bytes.Buffer
	if err := e.svc.Export(ctx, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[0] != "email,name,newsletters,tags,status,subscribed_at,language" {
		t.Fatalf("header %q", lines[0])
	}
	want := map[string]string{"sv@example.org": "sv", "de@example.org": "de", "old@example.org": ""}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if w, ok := want[f[0]]; ok && f[len(f)-1] != w {
			t.Errorf("%s: language %q, want %q", f[0], f[len(f)-1], w)
		}
	}
}
