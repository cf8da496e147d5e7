package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	netmail "net/mail"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/templates"
)

const digestUsage = `herald digest preview [--newsletter ID] [--as EMAIL] [--format html|text] [--out FILE]
       herald digest send --newsletter ID (--now | --test-to EMAIL)
       herald digest status [--run ID]
       herald digest pause|resume|cancel --run ID`

func cmdDigest(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: "+digestUsage, "digest: no subcommand given (preview, send or status)")
	}
	switch args[0] {
	case "preview":
		return cmdDigestPreview(e, args[1:])
	case "send":
		return cmdDigestSend(e, args[1:])
	case "status":
		return cmdDigestStatus(e, args[1:])
	case "pause", "resume", "cancel":
		return cmdDigestControl(e, args[0], args[1:])
	case "-h", "--help", "help":
		fmt.Fprintln(e.stdout, "usage: "+digestUsage)
		return nil
	}
	return usagef("usage: "+digestUsage, "digest: unknown subcommand %q", args[0])
}

// cmdDigestControl pauses, resumes or cancels a run. A running serve sees
// the change through the store: it stops claiming a paused or cancelled
// run at once and picks a resumed one up at its next poll.
func cmdDigestControl(e *env, verb string, args []string) error {
	var runID int64
	rest, err := e.flags("digest "+verb, "herald digest "+verb+" --run ID", func(fs *flag.FlagSet) {
		fs.Int64Var(&runID, "run", 0, "the run (see digest status)")
	}, args)
	if err != nil {
		return helpOK(err)
	}
	if runID <= 0 || len(rest) > 0 {
		return usagef("usage: herald digest "+verb+" --run ID", "digest %s: --run ID is required", verb)
	}
	cfg, log, st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := newDigest(e.ctx, cfg, st, nil, log)
	if err != nil {
		return err
	}
	do := map[string]func(context.Context, int64) (*digest.Run, error){
		"pause": svc.PauseRun, "resume": svc.ResumeRun, "cancel": svc.CancelRun,
	}[verb]
	run, err := do(e.ctx, runID)
	if err != nil {
		return fmt.Errorf("digest %s: run %d: %w", verb, runID, err)
	}
	fmt.Fprintf(e.stdout, "run %d (%s): %s\n", run.ID, run.Newsletter, run.Status)
	return nil
}

// mailSender is a transport that can be closed.
type mailSender interface {
	digest.Mailer
	Close() error
}

// newMailer builds the configured transport (mail.transport), DKIM-signing
// when mail.dkim is set.
func newMailer(cfg *Config, log *slog.Logger) (mailSender, error) {
	return newMailSender(cfg, log)
}

// tokenLinks makes the signed unsubscribe and preference URLs.
type tokenLinks struct {
	t    *subscribe.Tokens
	base string
}

func (l tokenLinks) UnsubscribeURL(id int64, secret []byte, newsletter string) string {
	return l.t.UnsubscribeURL(l.base, id, secret, newsletter)
}
func (l tokenLinks) PreferencesURL(id int64, secret []byte) string {
	return l.t.PreferencesURL(l.base, id, secret)
}

// newDigest builds the digest service from the configuration.
func newDigest(ctx context.Context, cfg *Config, st backend.Store, m digest.Mailer, log *slog.Logger) (*digest.Service, error) {
	keys, err := tokenKeys(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	from, err := netmail.ParseAddress(cfg.Mail.From)
	if err != nil {
		return nil, fmt.Errorf("mail.from: %w", err)
	}
	var nls []digest.Newsletter
	for i, n := range cfg.Newsletters {
		loc, err := time.LoadLocation(n.Timezone)
		if err != nil {
			return nil, fmt.Errorf("newsletters[%d].timezone: %w", i, err)
		}
		dn := digest.Newsletter{ID: n.ID, Title: n.Title, Schedule: n.Schedule, Location: loc, Tags: n.Tags,
			MaxArticles: n.MaxArticles, SendIfEmpty: n.SendIfEmpty, FirstWindow: n.FirstWindow.D(), CatchUp: n.CatchUp.D(),
			Subject: n.Subject, Preheader: n.Preheader, Language: n.Language}
		for _, sec := range n.Sections {
			dn.Sections = append(dn.Sections, digest.Section{Title: sec.Title, Tags: sec.Tags})
		}
		if n.From != "" {
			if dn.From, err = netmail.ParseAddress(n.From); err != nil {
				return nil, fmt.Errorf("newsletters[%d].from: %w", i, err)
			}
		}
		if n.ReplyTo != "" {
			if dn.ReplyTo, err = netmail.ParseAddress(n.ReplyTo); err != nil {
				return nil, fmt.Errorf("newsletters[%d].reply_to: %w", i, err)
			}
		}
		nls = append(nls, dn)
	}
	returnPath := ""
	if cfg.Mail.ReturnPath != "" {
		if a, err := netmail.ParseAddress(cfg.Mail.ReturnPath); err == nil {
			returnPath = a.Address
		}
	}
	inst, err := st.InstallationID(ctx)
	if err != nil {
		return nil, err
	}
	base := strings.TrimRight(cfg.Site.BaseURL, "/")
	var verp digest.BounceAddresses
	if v := newVERP(cfg, keys); v != nil {
		verp = v
	}
	return digest.New(digest.Config{
		Bounce:       verp,
		Installation: inst,
		Newsletters:  nls,
		Site: digest.Site{Title: cfg.Site.Title, Description: cfg.Site.Description, BaseURL: cfg.Site.BaseURL,
			Language: cfg.Site.Language, Address: cfg.Site.Address, Logo: cfg.Site.Logo, Accent: cfg.Site.Accent},
		Templates:   templates.FS(cfg.Templates.Dir),
		Languages:   cfg.Site.Languages,
		From:        from,
		ReturnPath:  returnPath,
		Store:       st,
		Mailer:      m,
		Links:       tokenLinks{subscribe.NewTokens(keys), base},
		Lease:       cfg.Digest.Lease.D(),
		MaxAttempts: cfg.Digest.MaxAttempts,
		RetryBase:   cfg.Digest.RetryBase.D(),
		Workers:     max(cfg.Mail.SMTP.Connections, 1),
		Rate:        cfg.Mail.SMTP.Rate,
		Logger:      log,
	})
}

func cmdDigestPreview(e *env, args []string) error {
	var nl, as, format, out string
	usage := "herald digest preview [--newsletter ID] [--as EMAIL] [--format html|text] [--out FILE]"
	pos, err := e.flags("digest preview", usage, func(fs *flag.FlagSet) {
		fs.StringVar(&nl, "newsletter", "", "newsletter id (default: the first in the configuration)")
		fs.StringVar(&as, "as", "", "render as this subscriber")
		fs.StringVar(&format, "format", "html", "html or text")
		fs.StringVar(&out, "out", "", "write to FILE instead of standard output")
	}, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) > 0 {
		return usagef("usage: "+usage, "digest preview: unexpected argument %q", pos[0])
	}
	if format != "html" && format != "text" {
		return usagef("usage: "+usage, "digest preview: --format must be html or text, got %q", format)
	}
	cfg, log, st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	// The content folder is the source of truth: a digest made without
	// serve running must still carry the files' current articles.
	if err := syncContentFolder(e.ctx, cfg, st, log); err != nil {
		return err
	}
	svc, err := newDigest(e.ctx, cfg, st, nil, log)
	if err != nil {
		return err
	}
	if nl == "" {
		if nl = svc.First(); nl == "" {
			return errors.New("digest preview: no newsletters in the configuration")
		}
	}
	_, body, err := svc.Preview(e.ctx, nl, as, format)
	if err != nil {
		return fmt.Errorf("digest preview: %w", err)
	}
	if out == "" {
		_, err = io.WriteString(e.stdout, body)
		return err
	}
	if err := os.WriteFile(out, []byte(body), 0o644); err != nil {
		return fmt.Errorf("digest preview: %w", err)
	}
	return nil
}

func cmdDigestSend(e *env, args []string) error {
	var nl, testTo, cpuProfile string
	var now bool
	usage := "herald digest send --newsletter ID (--now | --test-to EMAIL)"
	pos, err := e.flags("digest send", usage, func(fs *flag.FlagSet) {
		fs.StringVar(&nl, "newsletter", "", "newsletter id")
		fs.BoolVar(&now, "now", false, "plan a manual run now and deliver it")
		fs.StringVar(&testTo, "test-to", "", "send the would-be digest to this address only, as a test")
		fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the send to this file (for go tool pprof)")
	}, args)
	if err != nil {
		return helpOK(err)
	}
	if cpuProfile != "" {
		stop, err := startCPUProfile(cpuProfile)
		if err != nil {
			return fmt.Errorf("digest send: %w", err)
		}
		defer stop()
	}
	switch {
	case len(pos) > 0:
		return usagef("usage: "+usage, "digest send: unexpected argument %q", pos[0])
	case nl == "":
		return usagef("usage: "+usage, "digest send: --newsletter is required")
	case now == (testTo != ""):
		return usagef("usage: "+usage, "digest send: give exactly one of --now and --test-to")
	}
	if testTo != "" {
		if a, err := netmail.ParseAddress(testTo); err != nil || a.Name != "" {
			return usagef("usage: "+usage, "digest send: --test-to %q is not an email address", testTo)
		}
	}
	cfg, log, st, err := e.openOrCreateStore()
	if err != nil {
		return err
	}
	defer st.Close()
	if err := checkSigningKey(e.ctx, cfg, st); err != nil {
		return fmt.Errorf("digest send: %w", err)
	}
	// The content folder is the source of truth: a digest made without
	// serve running must still carry the files' current articles.
	if err := syncContentFolder(e.ctx, cfg, st, log); err != nil {
		return err
	}
	m, err := newMailer(cfg, log)
	if err != nil {
		return err
	}
	defer m.Close()
	svc, err := newDigest(e.ctx, cfg, st, m, log)
	if err != nil {
		return err
	}
	if testTo != "" {
		run, err := svc.SendTest(e.ctx, nl, testTo)
		if err != nil {
			return fmt.Errorf("digest send: %w", err)
		}
		fmt.Fprintf(e.stdout, "test digest (run %d, %s) sent to %s\n", run.ID, count(run.Articles, "article"), testTo)
		return nil
	}
	// The run is planned in this process and delivered here; a running
	// serve helps through the same leases.
	run, err := svc.PlanNow(e.ctx, nl)
	if err != nil {
		return fmt.Errorf("digest send: %w", err)
	}
	if run.Status == digest.RunSkipped {
		fmt.Fprintf(e.stdout, "run %d: nothing new to send (send_if_empty is off); recorded as skipped\n", run.ID)
		return nil
	}
	fmt.Fprintf(e.stdout, "run %d: %s to %s\n", run.ID, count(run.Articles, "article"), count(run.Recipients, "recipient"))
	progress, finish := sendProgress(e, run, log)
	svc.SetProgress(progress)
	err = svc.DeliverRun(e.ctx, run.ID)
	finish()
	if err != nil {
		switch {
		case errors.Is(err, context.Canceled):
			return fmt.Errorf("digest send: stopped; run %d resumes with the next `herald serve` or `digest send`", run.ID)
		case errors.Is(err, digest.ErrRunFailed):
			return fmt.Errorf("digest send: %w; its articles go with the next run", err)
		}
		// A local fault (a full outbox disk, the store): nothing was
		// settled because of it; the rest of the run waits.
		return fmt.Errorf("digest send: run %d stopped, its undelivered messages stay pending for `herald serve`: %w", run.ID, err)
	}
	c, err := st.RunCounts(context.WithoutCancel(e.ctx), run.ID)
	if err != nil {
		return err
	}
	if r, err := st.GetRun(context.WithoutCancel(e.ctx), run.ID); err == nil && r.Status != digest.RunDone {
		// Paused, cancelled or failed meanwhile (the API, another process).
		fmt.Fprintf(e.stdout, "run %d %s: %d sent, %d failed, %d skipped, %d open\n", run.ID, r.Status, c.Sent, c.Failed, c.Skipped, c.Open())
		if r.Status == digest.RunFailed {
			return fmt.Errorf("digest send: run %d: %w: %s; its articles go with the next run", run.ID, digest.ErrRunFailed, r.Failure)
		}
		return nil
	}
	fmt.Fprintf(e.stdout, "run %d done: %d sent, %d failed, %d skipped\n", run.ID, c.Sent, c.Failed, c.Skipped)
	if cfg.Mail.Transport == "outbox" {
		fmt.Fprintf(e.stdout, "messages are in %s\n", cfg.Mail.OutboxDir)
	}
	return nil
}

// sendProgress shows a progress bar with rate and ETA when stdout is a
// terminal, and a log line every few seconds otherwise.
func sendProgress(e *env, run *digest.Run, log *slog.Logger) (func(*digest.Run, []digest.Outcome), func()) {
	var mu sync.Mutex
	done := 0
	if f, ok := e.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar := progressbar.NewOptions(run.Recipients,
			progressbar.OptionSetWriter(f), progressbar.OptionSetDescription("sending"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("msg"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish())
		return func(_ *digest.Run, outs []digest.Outcome) {
				n := settled(outs)
				mu.Lock()
				bar.Add(n)
				mu.Unlock()
			}, func() {
				bar.Finish()
			}
	}
	last := time.Now()
	start := last
	return func(_ *digest.Run, outs []digest.Outcome) {
		mu.Lock()
		defer mu.Unlock()
		done += settled(outs)
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			rate := float64(done) / time.Since(start).Seconds()
			log.Info("sending", slog.Int64("run", run.ID), slog.Int("settled", done), slog.Int("of", run.Recipients),
				slog.String("rate", fmt.Sprintf("%.0f/s", rate)))
		}
	}, func() {}
}

func settled(outs []digest.Outcome) int {
	n := 0
	for _, o := range outs {
		if o.Status != digest.DeliveryPending {
			n++
		}
	}
	return n
}

func cmdDigestStatus(e *env, args []string) error {
	var runID int64
	usage := "herald digest status [--run ID]"
	pos, err := e.flags("digest status", usage, func(fs *flag.FlagSet) {
		fs.Int64Var(&runID, "run", 0, "list each recipient's outcome for this run")
	}, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) > 0 {
		return usagef("usage: "+usage, "digest status: unexpected argument %q", pos[0])
	}
	_, _, st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	if runID == 0 {
		runs, err := st.ListRuns(e.ctx, "", false, 50)
		if err != nil {
			return err
		}
		if len(runs) == 0 {
			fmt.Fprintln(e.stdout, "no digest runs yet")
			return nil
		}
		fmt.Fprintln(tw, "RUN\tNEWSLETTER\tSLOT\tKIND\tSTATUS\tARTICLES\tPLANNED\tSENT\tFAILED\tSKIPPED\tPENDING")
		for _, r := range runs {
			c, err := st.RunCounts(e.ctx, r.ID)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", r.ID, r.Newsletter, r.Slot, r.Kind, r.Status,
				r.Articles, r.Recipients, c.Sent, c.Failed, c.Skipped, c.Open())
		}
		return tw.Flush()
	}
	r, err := st.GetRun(e.ctx, runID)
	if err != nil {
		return fmt.Errorf("digest status: %w", err)
	}
	c, err := st.RunCounts(e.ctx, r.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "run %d of %s, slot %s (%s): %s, subject %q\n", r.ID, r.Newsletter, r.Slot, r.Kind, r.Status, r.Subject)
	if r.Status == digest.RunFailed {
		fmt.Fprintf(e.stdout, "failed: %s (its articles go with the next run)\n", r.Failure)
	}
	fmt.Fprintf(e.stdout, "planned %d, sent %d, failed %d, skipped %d, pending %d\n", r.Recipients, c.Sent, c.Failed, c.Skipped, c.Open())
	rf, err := st.RunFeedback(e.ctx, r.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "bounced %d (hard-bounce rate %.2f%%), soft bounces %d, complaints %d (complaint rate %.2f%%)\n",
		rf.Hard, 100*rf.HardRate(), rf.Soft, rf.Complaints, 100*rf.ComplaintRate())
	if why := rateWarning(rf); why != "" {
		fmt.Fprintf(e.stdout, "warning: %s\n", why)
	}
	fmt.Fprintln(tw, "EMAIL\tSTATUS\tATTEMPTS\tSENT\tMESSAGE-ID\tREPLY")
	err = st.Deliveries(e.ctx, r.ID, func(d digest.DeliveryRow) error {
		email := d.Email
		if email == "" {
			email = fmt.Sprintf("(erased #%d)", d.SubscriberID)
		}
		sent := "-"
		if !d.SentAt.IsZero() {
			sent = d.SentAt.Format(time.RFC3339)
		}
		_, err := fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", email, d.Status, d.Attempts, sent, orDash(d.MessageID), orDash(d.Reply))
		return err
	})
	if err != nil {
		return err
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// digestRunner is serve's digest side: the schedule and the workers.
type digestRunner struct {
	svc    *digest.Service
	mailer mailSender
}

// startDigest schedules every newsletter (catching up a missed slot) and
// starts the delivery workers, which also resume runs left unfinished.
// With obs, digest mail is counted by reply class and finished runs are
// timed.
func startDigest(ctx context.Context, cfg *Config, st backend.Store, log *slog.Logger, obs *daemonMetrics) (*digestRunner, error) {
	if len(cfg.Newsletters) == 0 {
		return nil, nil
	}
	var m mailSender
	m, err := newMailer(cfg, log)
	if err != nil {
		return nil, err
	}
	if obs != nil {
		m = obs.wrapSender(cfg.Mail.Transport)(m)
	}
	svc, err := newDigest(ctx, cfg, st, m, log)
	if err != nil {
		m.Close()
		return nil, err
	}
	if obs != nil {
		svc.SetOnRunFinished(obs.onDigestRun)
	}
	if err := svc.StartScheduler(ctx); err != nil {
		m.Close()
		return nil, err
	}
	svc.StartWorkers(ctx, 2*time.Second)
	return &digestRunner{svc: svc, mailer: m}, nil
}

// Running says whether the scheduler and the delivery workers run (a
// /readyz check); without newsletters there is nothing to run.
func (r *digestRunner) Running(context.Context) error {
	if r == nil {
		return nil
	}
	if !r.svc.Running() {
		return errors.New("the digest scheduler or delivery workers are not running")
	}
	return nil
}

// Delivering says whether delivery works (a /readyz check): it reports a
// local fault, the outbox failing to write or the store failing to record
// outcomes, until sending and recording work again.
func (r *digestRunner) Delivering(ctx context.Context) error {
	if r == nil {
		return nil
	}
	return r.svc.Healthy(ctx)
}

// Close stops the scheduler, waits for the workers to record the messages
// in hand, and closes the transport.
func (r *digestRunner) Close() {
	if r == nil {
		return
	}
	r.svc.Close()
	r.mailer.Close()
}

// newsletterTitles names the configured newsletters for the archive.
func newsletterTitles(cfg *Config) map[string]string {
	m := map[string]string{}
	for _, n := range cfg.Newsletters {
		m[n.ID] = n.Title
	}
	return m
}

// count writes n and a noun that takes -s for any n but 1.
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// startCPUProfile profiles the whole process until stop: where a digest
// run spends its time, measured on the real binary (BENCHMARKS.md).
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}
