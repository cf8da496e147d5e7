package digest_test

import (
	"context"
	"errors"
	"html"
	"io"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/mail/mailtest"
	"github.com/herald-news/herald/internal/store/sqlite"
	"github.com/herald-news/herald/templates"
)

// TestContentMarkers: slot markers in article titles and summaries stay
// text. They once made every delivery fail (an unknown slot) or put the
// subscriber's name, unescaped, into the HTML.
func TestContentMarkers(t *testing.T) {
	e := newEnv(t)
	e.nl.Subject = "{{(index .Articles 0).Title}}"
	day := 24 * time.Hour
	titles := []string{"~HERALD~x~ breaks the run", "Hello ~HERALD~name~ and ~HERALD~greeting_html~", "Ends in ~HERALD", "HERALD~email~"}
	for i, title := range titles {
		e.article(t, "a"+itoa(i), title, e.clock.Now().Add(-time.Duration(i+1)*day))
	}
	const n = 8
	e.subscribers(t, n, nil)
	db := openRaw(t, e.st.Path())
	db.exec(t, `UPDATE subscribers SET name = '<img src=x onerror=alert(1)>' WHERE id = 1`)
	db.close()
	srv := mailtest.NewServer(t, mailtest.Options{})
	s := e.service(t, smtpMailer(t, srv, 2), nil)
	ctx := context.Background()
	run, err := s.PlanNow(ctx, "monthly")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeliverRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	c, _ := e.st.RunCounts(ctx, run.ID)
	if c.Sent != n || c.Failed != 0 {
		t.Fatalf("counts %+v, want %d sent", c, n)
	}
	for _, m := range srv.Messages() {
		h, text, body := parts(t, m.Data)
		visible := html.UnescapeString(body)
		plain := strings.ReplaceAll(text, "\u2060", "")
		for _, title := range titles {
			if !strings.Contains(visible, title) || !strings.Contains(plain, title) {
				t.Errorf("%s: title %q not shown as written", m.To[0], title)
			}
		}
		if strings.Contains(body, "<img src=x") {
			t.Errorf("%s: the subscriber's name reached the HTML", m.To[0])
		}
		if subj, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject")); strings.ReplaceAll(subj, "\u2060", "") != titles[0] {
			t.Errorf("subject %q", subj)
		}
		if !strings.Contains(body, "Hello Reader") && !strings.Contains(body, "Hello &lt;img") {
			t.Errorf("%s: the greeting is not personalised", m.To[0])
		}
	}
}

// failingTemplates is the shipped digest.html made to fail when executed:
// always, or only for topic variants.
func failingTemplates(t *testing.T, onlyTopics bool) string {
	t.Helper()
	src, err := templates.Embedded().Open("email/digest.html")
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	b := new(strings.Builder)
	if _, err := io.Copy(b, src); err != nil {
		t.Fatal(err)
	}
	bad := `{{index .Articles 99}}`
	if onlyTopics {
		bad = `{{if .Topics}}{{index .Articles 99}}{{end}}`
	}
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "email"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "email", "digest.html"), []byte(strings.Replace(b.String(), "<body", bad+"<body", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestRunFailure: a digest that cannot be composed fails its run as a
// whole, not as one permanent failure per recipient: status failed, no
// delivery failed, the articles go with the next run, the slot is used.
func TestRunFailure(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrPlan", func(t *testing.T) {
		e, _ := composeFixture(t)
		e.subscribers(t, 5, nil)
		s := e.service(t, nil, func(c *digest.Config) { c.Templates = templates.FS(failingTemplates(t, false)) })
		slot := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		run, err := s.PlanSlot(ctx, "monthly", slot)
		if !errors.Is(err, digest.ErrRunFailed) || run == nil || run.Status != digest.RunFailed {
			t.Fatalf("PlanSlot = %+v, %v", run, err)
		}
		if _, err := s.PlanSlot(ctx, "monthly", slot); !errors.Is(err, digest.ErrAlreadyPlanned) {
			t.Errorf("the failed slot was planned again: %v", err)
		}
		next, err := e.service(t, nil, nil).PlanNow(ctx, "monthly")
		if err != nil || next.Articles != 3 || next.Recipients != 5 {
			t.Errorf("next run %+v, %v: want the 3 articles", next, err)
		}
	})
	t.Run("ErrDeliver", func(t *testing.T) {
		e, _ := composeFixture(t)
		const n = 12
		e.subscribers(t, n, map[int][]string{4: {"ports"}, 9: {"training"}})
		srv := mailtest.NewServer(t, mailtest.Options{})
		s := e.service(t, smtpMailer(t, srv, 2), func(c *digest.Config) {
			c.Templates = templates.FS(failingTemplates(t, true))
			c.Workers = 2
		})
		run, err := s.PlanNow(ctx, "monthly")
		if err != nil {
			t.Fatal(err)
		}
		err = s.DeliverRun(ctx, run.ID)
		if !errors.Is(err, digest.ErrRunFailed) {
			t.Fatalf("DeliverRun = %v, want ErrRunFailed", err)
		}
		got, _ := e.st.GetRun(ctx, run.ID)
		c, _ := e.st.RunCounts(ctx, run.ID)
		if got.Status != digest.RunFailed || c.Failed != 0 || c.Open() != 0 || c.Sent != len(srv.Messages()) || c.Sent+c.Skipped != n {
			t.Fatalf("run %s, counts %+v, %d accepted", got.Status, c, len(srv.Messages()))
		}
		e.clock.Add(time.Second)
		next, err := e.service(t, nil, nil).PlanNow(ctx, "monthly")
		if err != nil || next.Articles != 3 {
			t.Errorf("next run %+v, %v: want the failed run's 3 articles", next, err)
		}
	})
}

// recordFaultStore is a fake: the real store, except that RecordOutcomes
// fails while broken is set, a fault a real SQLite file cannot produce
// while claims still commit.
type recordFaultStore struct {
	*sqlite.Store
	broken atomic.Bool
	calls  atomic.Int64
}

func (f *recordFaultStore) RecordOutcomes(ctx context.Context, runID int64, outs []digest.Outcome) error {
	f.calls.Add(1)
	if f.broken.Load() {
		return errors.New("fake: disk I/O error")
	}
	return f.Store.RecordOutcomes(ctx, runID, outs)
}

// TestRecordingFailureStopsSending: when outcomes cannot be recorded but
// rows can still be claimed, the workers stop sending within the stated
// bound (2 × workers + 64 ahead of what is recorded) and stay stopped
// however many times they look for work; once recording works again,
// everyone gets the digest exactly once.
func TestRecordingFailureStopsSending(t *testing.T) {
	e, _ := composeFixture(t)
	const n, workers = 400, 4
	e.subscribers(t, n, nil)
	srv := mailtest.NewServer(t, mailtest.Options{})
	fs := &recordFaultStore{Store: e.st}
	fs.broken.Store(true)
	s := e.service(t, smtpMailer(t, srv, workers), func(c *digest.Config) {
		c.Store, c.Workers, c.Now = fs, workers, time.Now
	})
	ctx := context.Background()
	if _, err := s.PlanNow(ctx, "monthly"); err != nil {
		t.Fatal(err)
	}
	s.StartWorkers(ctx, 10*time.Millisecond)
	waitUntil(t, "the store fault to show", func() bool { return s.Healthy(ctx) != nil })
	// Many more rounds of looking for work, each failing to record.
	calls := fs.calls.Load()
	waitUntil(t, "more rounds", func() bool { return fs.calls.Load() > calls+20 })
	if sent, bound := len(srv.Messages()), 2*workers+64; sent > bound {
		t.Fatalf("%d messages sent while nothing could be recorded; the bound is %d", sent, bound)
	}
	if err := s.Healthy(ctx); err == nil || !strings.Contains(err.Error(), "fake: disk I/O error") {
		t.Errorf("Healthy = %v", err)
	}
	fs.broken.Store(false)
	msgs := srv.WaitMessages(n, 2*time.Minute)
	waitUntil(t, "the run to finish", func() bool {
		runs, _ := e.st.ActiveRuns(ctx)
		return len(runs) == 0
	})
	s.StopWorkers()
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.To[0]]++
	}
	for to, k := range seen {
		if k > 1 {
			t.Errorf("%s got the digest %d times", to, k)
		}
	}
	if len(seen) != n {
		t.Errorf("%d of %d recipients got the digest", len(seen), n)
	}
	if err := s.Healthy(ctx); err != nil {
		t.Errorf("still unhealthy after recovery: %v", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute) // a hang guard, not a timing claim
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
