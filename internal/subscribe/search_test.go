package subscribe_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/subscribe"
)

func TestSearch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "https://news.example.org")
	var csv bytes.Buffer
	csv.WriteString("email,name,newsletters,tags,status\n")
	for i := range 120 {
		name, tags := fmt.Sprintf("Person %d", i), ""
		if i%10 == 0 {
			name, tags = fmt.Sprintf("Åsa Ström %d", i), "wp4"
		}
		fmt.Fprintf(&csv, "p%03d@example.org,%s,monthly,%s,active\n", i, name, tags)
	}
	if rep, err := e.svc.Import(ctx, &csv, subscribe.ImportOptions{}); err != nil || rep.Added != 120 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	p, err := e.svc.Search(ctx, subscribe.Filter{Query: "  ÅSA STRÖM "}, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 12 || len(p.Subscribers) != 5 || p.Next != p.Subscribers[4].ID || p.Subscribers[0].Email != "p000@example.org" {
		t.Fatalf("page 1: total %d, %d rows, next %d", p.Total, len(p.Subscribers), p.Next)
	}
	seen := len(p.Subscribers)
	for p.Next != 0 {
		if p, err = e.svc.Search(ctx, subscribe.Filter{Query: "åsa ström"}, p.Next, 5); err != nil {
			t.Fatal(err)
		}
		seen += len(p.Subscribers)
	}
	if seen != 12 {
		t.Fatalf("paged through %d, want 12", seen)
	}
	if p, err := e.svc.Search(ctx, subscribe.Filter{Tag: "WP4", Status: subscribe.StatusActive, Newsletter: "monthly"}, 0, 0); err != nil || p.Total != 12 || p.Next != 0 {
		t.Fatalf("tag filter: %+v %v", p, err)
	}
	for name, f := range map[string]subscribe.Filter{
		"ErrStatus":     {Status: "sleeping"},
		"ErrNewsletter": {Newsletter: "nosuch"},
		"ErrControl":    {Query: "a\x00b"},
		"ErrLong":       {Query: strings.Repeat("x", 300)},
	} {
		if _, err := e.svc.Search(ctx, f, 0, 10); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if ds, err := e.svc.Deliveries(ctx, "P000@example.org"); err != nil || len(ds) != 0 {
		t.Fatalf("deliveries: %v %v", ds, err)
	}
	var out bytes.Buffer
	if err := e.svc.ExportFilter(ctx, &out, subscribe.Filter{Query: "ström"}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 13 {
		t.Fatalf("export of the filter: %d lines\n%s", n, out.String())
	}
}
