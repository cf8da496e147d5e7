package digest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
)

// TestUpcoming: what the admin page shows before a run: the newsletters,
// the next slot in the newsletter's zone (strictly after now, 09:00 CET today), the articles a run would carry
// now and those waiting beyond max_articles; a preview by topics alone.
// Nothing is planned.
func TestUpcoming(t *testing.T) {
	e := newEnv(t)
	e.nl.MaxArticles = 2
	day := 24 * time.Hour
	e.article(t, "harbour-workshop", "Harbour workshop in Århus", e.clock.Now().Add(-3*day), "ports")
	e.article(t, "cluster-training", "Cluster training", e.clock.Now().Add(-10*day), "training")
	e.article(t, "hamburg-visit", "Study visit to Hamburg", e.clock.Now().Add(-12*day), "ports")
	s := e.service(t, nil, nil)
	ctx := context.Background()

	if ns := s.Newsletters(); len(ns) != 1 || ns[0].ID != "monthly" {
		t.Fatalf("newsletters %+v", ns)
	}
	next, err := s.NextSlot("monthly", e.clock.Now())
	if want := time.Date(2027, 1, 1, 9, 0, 0, 0, stockholm); err != nil || !next.Equal(want) {
		t.Errorf("next slot %v (%v), want %v", next, err, want)
	}
	if _, err := s.NextSlot("weekly", e.clock.Now()); !errors.Is(err, digest.ErrUnknownNewsletter) {
		t.Errorf("unknown newsletter: %v", err)
	}
	now, waiting, err := s.Upcoming(ctx, "monthly")
	if err != nil {
		t.Fatal(err)
	}
	slugs := func(as []string) string { return strings.Join(as, ",") }
	var got, wait []string
	for _, a := range now {
		got = append(got, a.Slug)
	}
	for _, a := range waiting {
		wait = append(wait, a.Slug)
	}
	if slugs(got) != "harbour-workshop,cluster-training" || slugs(wait) != "hamburg-visit" {
		t.Errorf("upcoming %v, waiting %v", got, wait)
	}
	for _, tc := range []struct {
		name   string
		topics []string
		want   string
		err    error
	}{
		{"All", nil, "Cluster training", nil},
		{"Ports", []string{"ports"}, "Harbour workshop", nil},
		{"NoMatch", []string{"cooking"}, "", digest.ErrNoMatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, text, err := s.PreviewTopics(ctx, "monthly", tc.topics, "text")
			if !errors.Is(err, tc.err) || !strings.Contains(text, tc.want) {
				t.Fatalf("preview: %v\n%s", err, text)
			}
			if len(tc.topics) > 0 && strings.Contains(text, "Cluster training") {
				t.Errorf("a ports preview carries the training article")
			}
		})
	}
	if runs, _ := e.st.ListRuns(ctx, "", false, 0); len(runs) != 0 {
		t.Fatalf("planned %d runs", len(runs))
	}
}
