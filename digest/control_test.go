package digest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/mail/mailtest"
)

// TestPauseResumeSMTP delivers a run through the SMTP test server, pauses
// it part-way: nothing more is sent while it is paused (only the messages
// in hand finish), and once resumed it carries on where it stopped, every
// recipient getting the digest exactly once. Cancelling a second run
// settles the rest as skipped and sends nothing more.
func TestPauseResumeSMTP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cancel bool
	}{{"PauseResume", false}, {"Cancel", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := composeFixture(t)
			const n = 60
			e.subscribers(t, n, nil)
			srv := mailtest.NewServer(t, mailtest.Options{OnData: func(mailtest.Message) *mailtest.Reply {
				time.Sleep(15 * time.Millisecond) // a slow relay
				return nil
			}})
			s := e.service(t, smtpMailer(t, srv, 2), func(c *digest.Config) { c.Workers = 2 })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			run, err := s.PlanSlot(ctx, "monthly", e.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- s.DeliverRun(ctx, run.ID) }()
			srv.WaitMessages(10, 10*time.Second)
			if tc.cancel {
				_, err = s.CancelRun(ctx, run.ID)
			} else {
				_, err = s.PauseRun(ctx, run.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatalf("DeliverRun: %v", err)
			}
			stopped := len(srv.Messages())
			if stopped >= n {
				t.Fatalf("all %d sent before the pause took effect", stopped)
			}
			time.Sleep(300 * time.Millisecond)
			if got := len(srv.Messages()); got != stopped {
				t.Fatalf("%d messages sent while stopped", got-stopped)
			}
			c, _ := e.st.RunCounts(ctx, run.ID)
			if c.Sent != stopped {
				t.Errorf("counts %+v: sent %d, the server has %d", c, c.Sent, stopped)
			}
			if tc.cancel {
				if c.Skipped != n-stopped || c.Open() != 0 {
					t.Errorf("cancelled: counts %+v", c)
				}
				if _, err := s.ResumeRun(ctx, run.ID); !errors.Is(err, digest.ErrRunState) {
					t.Errorf("resume a cancelled run: %v", err)
				}
				return
			}
			if c.Open() != n-stopped {
				t.Errorf("paused: counts %+v, want %d open", c, n-stopped)
			}
			r, _ := e.st.GetRun(ctx, run.ID)
			if r.Status != digest.RunPaused {
				t.Fatalf("status %s", r.Status)
			}
			if _, err := s.ResumeRun(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.DeliverRun(ctx, run.ID); err != nil {
				t.Fatal(err)
			}
			got := map[string]int{}
			for _, m := range srv.Messages() {
				got[m.To[0]]++
			}
			if len(got) != n {
				t.Errorf("%d recipients got the digest, want %d", len(got), n)
			}
			for to, k := range got {
				if k != 1 {
					t.Errorf("%s got %d copies", to, k)
				}
			}
			r, _ = e.st.GetRun(ctx, run.ID)
			if r.Status != digest.RunDone {
				t.Errorf("status %s after resuming", r.Status)
			}
			if _, err := s.PauseRun(ctx, run.ID); !errors.Is(err, digest.ErrRunState) {
				t.Errorf("pause a done run: %v", err)
			}
			if _, err := s.CancelRun(ctx, run.ID); !errors.Is(err, digest.ErrRunState) {
				t.Errorf("cancel a done run: %v", err)
			}
		})
	}
}

// TestRunning: the readiness flag follows the scheduler and the workers.
func TestRunning(t *testing.T) {
	e, _ := composeFixture(t)
	s := e.service(t, nil, nil)
	if s.Running() {
		t.Error("running before start")
	}
	ctx := context.Background()
	if err := s.StartScheduler(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Error("running without workers")
	}
	s.StartWorkers(ctx, time.Second)
	if !s.Running() {
		t.Error("not running after start")
	}
	s.Close()
	if s.Running() {
		t.Error("running after Close")
	}
}
