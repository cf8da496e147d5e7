package digest

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/mail"
)

// Mailer sends one encoded message (internal/mail's SMTP and outbox
// transports).
type Mailer interface {
	Send(ctx context.Context, env mail.Envelope, raw []byte) error
}

// Batch sizes. A process has at most 2×claimBatch rows leased but not yet
// sent (given back on shutdown, or after their lease on a crash), and at
// most 2×Workers + recordBatch messages sent but not yet recorded: Workers
// in hand, Workers queued for the recorder, recordBatch in its open batch.
// After a crash (SIGKILL, power loss) those, and only those, can go out
// twice. README states the bound.
const (
	claimBatch  = 64
	recordBatch = 64
	recordEvery = 200 * time.Millisecond
)

// Wake makes the background workers look for work now (after planning).
func (s *Service) Wake() {
	s.mu.Lock()
	ch := s.wake
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// StartWorkers delivers every planned or sending run in the background,
// looking for work every poll interval and whenever Wake is called, until
// StopWorkers.
func (s *Service) StartWorkers(ctx context.Context, poll time.Duration) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	wake := make(chan struct{}, 1)
	s.mu.Lock()
	s.workStop, s.workDone, s.wake = cancel, done, wake
	s.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-wake:
			}
			wait := poll
			runs, err := s.cfg.Store.ActiveRuns(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Error("listing runs failed", slog.Any("err", err))
			}
			for i := range runs {
				if ctx.Err() != nil {
					return
				}
				next, err := s.work(ctx, &runs[i])
				if err != nil && ctx.Err() == nil {
					s.log.Error("delivery failed", slog.Int64("run", runs[i].ID), slog.Any("err", err))
				}
				if !next.IsZero() {
					wait = min(wait, max(s.until(next), 10*time.Millisecond))
				}
			}
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
			t.Reset(wait)
		}
	}()
}

// StopWorkers stops the background workers: each finishes and records the
// message in hand; rows claimed but not started are given back.
func (s *Service) StopWorkers() {
	s.mu.Lock()
	cancel, done := s.workStop, s.workDone
	s.workStop, s.workDone, s.wake = nil, nil, nil
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// claimSize is how many deliveries to lease at a time. Up to two batches
// (one queued, one being handed out) plus one per worker are leased but not
// yet sent; under a rate limit that backlog must drain within half the
// lease, or rows would expire before their turn and be claimed again.
func claimSize(rate float64, lease time.Duration, workers int) int {
	if rate <= 0 {
		return claimBatch
	}
	n := int((rate*lease.Seconds()/2 - float64(workers)) / 2)
	return max(1, min(claimBatch, n))
}

// DeliverRun delivers one run in this process until every delivery is
// settled (or ctx ends), cooperating through leases with any other process
// working on it.
func (s *Service) DeliverRun(ctx context.Context, runID int64) error {
	run, err := s.cfg.Store.GetRun(ctx, runID)
	if err != nil {
		return err
	}
	for {
		if !active(run.Status) {
			return nil
		}
		next, err := s.work(ctx, run)
		if err != nil {
			return err
		}
		if next.IsZero() {
			return nil // done
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(max(s.until(next), 10*time.Millisecond)):
		}
		if run, err = s.cfg.Store.GetRun(ctx, runID); err != nil {
			return err
		}
	}
}

// job is one claimed delivery on its way to a worker.
type job struct{ c Claim }

// runCtx is what the workers share about one run.
type runCtx struct {
	s    *Service
	run  *Run
	n    *Newsletter
	arts []article.Article
	// idSuffix ends every Message-ID of the run (messageIDSuffix): worked
	// out once, not per recipient.
	idSuffix string

	mu       sync.Mutex
	prepared map[string]*mail.Prepared
	halted   atomic.Bool // paused, cancelled, failed or faulted: start nothing more

	errMu  sync.Mutex
	fault  error // the first local fault (outbox, store): stop, give rows back
	failed error // the run failed as a whole (composing or rendering)
}

// stop halts the run in this process because of a local fault: what is
// claimed is given back, and work returns the fault.
func (rc *runCtx) stop(err error) {
	rc.errMu.Lock()
	if rc.fault == nil {
		rc.fault = err
		rc.s.log.Error("delivery stopped: local failure", slog.String("newsletter", rc.run.Newsletter), slog.Int64("run", rc.run.ID), slog.Any("err", err))
	}
	rc.errMu.Unlock()
	rc.halted.Store(true)
}

// fail fails the run as a whole: a digest that cannot be composed or
// rendered would fail every recipient alike, so no recipient is charged
// with it. The run becomes RunFailed (its articles go with the next run)
// in every process, and this one stops.
func (rc *runCtx) fail(ctx context.Context, err error) {
	rc.errMu.Lock()
	defer rc.errMu.Unlock()
	rc.halted.Store(true)
	if rc.failed != nil {
		return
	}
	rc.failed = fmt.Errorf("run %d of %s: %w: %w", rc.run.ID, rc.run.Newsletter, ErrRunFailed, err)
	s := rc.s
	if _, ferr := s.cfg.Store.FailRun(context.WithoutCancel(ctx), rc.run.ID, s.cfg.Now(), err.Error()); ferr != nil {
		// The store cannot record it: a local fault; the run stays as it
		// is and the next attempt fails it again.
		rc.failed = errors.Join(rc.failed, ferr)
		s.setFault(&s.storeFault, ferr)
	}
	s.log.Error("digest run failed", slog.String("newsletter", rc.run.Newsletter), slog.Int64("run", rc.run.ID), slog.Any("err", err))
}

func (rc *runCtx) err() error {
	rc.errMu.Lock()
	defer rc.errMu.Unlock()
	return errors.Join(rc.failed, rc.fault)
}

// work sends every delivery of run that is claimable now. It returns the
// time more may become claimable (a retry, someone else's lease), or zero
// when the run is done.
func (s *Service) work(ctx context.Context, run *Run) (time.Time, error) {
	n, err := s.Newsletter(run.Newsletter)
	if err != nil {
		return time.Time{}, err
	}
	// Nothing is sent while outcomes of messages already sent are not
	// recorded: that is what bounds duplicates (README, "Crashes and the
	// duplicate bound").
	if err := s.recordHeld(context.WithoutCancel(ctx)); err != nil {
		return s.cfg.Now().Add(time.Second), fmt.Errorf("not sending until outcomes can be recorded: %w", err)
	}
	if run.Status == RunPlanned {
		if err := s.cfg.Store.StartRun(ctx, run.ID, s.cfg.Now()); err != nil {
			return time.Time{}, err
		}
		run.Status = RunSending
	}
	arts, err := s.cfg.Store.RunArticles(ctx, run.ID)
	if err != nil {
		return time.Time{}, err
	}
	rc := &runCtx{s: s, run: run, n: n, arts: arts, prepared: map[string]*mail.Prepared{}, idSuffix: s.messageIDSuffix(n)}
	defer s.track(rc)()

	claimN := claimSize(s.cfg.Rate, s.cfg.Lease, s.cfg.Workers)
	jobs := make(chan job, claimN)
	results := make(chan Outcome, s.cfg.Workers)
	var claimErr error

	// Claimer: leases batches while workers keep up.
	claimDone := make(chan struct{})
	go func() {
		defer close(claimDone)
		defer close(jobs)
		for ctx.Err() == nil && !rc.halted.Load() {
			cs, err := s.cfg.Store.ClaimDeliveries(ctx, run.ID, run.Newsletter, claimN, s.cfg.Now(), s.cfg.Lease)
			if err != nil {
				if ctx.Err() == nil {
					claimErr = err
					s.setFault(&s.storeFault, err)
				}
				return
			}
			s.clearFault(&s.storeFault)
			if len(cs) == 0 {
				return
			}
			for _, c := range cs {
				jobs <- job{c}
			}
		}
	}()

	// Workers: personalise, send, report. On shutdown the message in hand
	// is finished; the rest are given back.
	var wg sync.WaitGroup
	for i := 0; i < s.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 64<<10)
			vals := make(map[string]string, 12) // one recipient's values, refilled per message
			for j := range jobs {
				if ctx.Err() != nil || rc.halted.Load() || s.until(j.c.LeaseUntil) < s.cfg.Lease/2 {
					// Stopping, paused or cancelled, or the lease is half
					// gone: give it back rather than race another process.
					results <- Outcome{SubscriberID: j.c.SubscriberID, Status: DeliveryPending, Release: true, At: s.cfg.Now(), Lease: j.c.LeaseUntil}
					continue
				}
				var o Outcome
				buf, o = rc.deliver(ctx, buf[:0], vals, j.c)
				results <- o
			}
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	// Recorder: small batched transactions, committed even during shutdown.
	rec := context.WithoutCancel(ctx)
	batch := make([]Outcome, 0, recordBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := s.record(rec, run.ID, batch); err != nil {
			// Kept to retry (record); sending stops here now, so at most
			// the messages already in hand or queued go out unrecorded.
			rc.stop(err)
		} else if s.cfg.Progress != nil {
			s.cfg.Progress(run, batch)
		}
		batch = batch[:0]
	}
	tick := time.NewTicker(recordEvery)
	defer tick.Stop()
loop:
	for {
		select {
		case o, ok := <-results:
			if !ok {
				break loop
			}
			batch = append(batch, o)
			if len(batch) >= recordBatch {
				flush()
			}
		case <-tick.C:
			flush()
			rc.checkStatus(rec)
		}
	}
	flush()
	<-claimDone
	if err := errors.Join(claimErr, rc.err()); err != nil {
		return s.cfg.Now().Add(s.cfg.Lease), err
	}
	if ctx.Err() != nil {
		return time.Time{}, ctx.Err()
	}
	if rc.halted.Load() {
		return time.Time{}, nil // paused or cancelled: nothing more to do here
	}
	done, err := s.cfg.Store.FinishRun(ctx, run.ID, s.cfg.Now())
	if err != nil {
		return s.cfg.Now().Add(time.Second), err
	}
	if done {
		run.Status = RunDone
		s.log.Info("digest delivered", slog.String("newsletter", run.Newsletter), slog.Int64("run", run.ID))
		s.runFinished(context.WithoutCancel(ctx), run.ID)
		return time.Time{}, nil
	}
	next, ok, err := s.cfg.Store.NextDue(ctx, run.ID)
	if err != nil {
		return s.cfg.Now().Add(time.Second), err
	}
	if !ok {
		next = s.cfg.Now()
	}
	return next, nil
}

// runFinished tells Config.OnRunFinished about a run this process just
// finished, as stored (its start may have been another process's).
func (s *Service) runFinished(ctx context.Context, runID int64) {
	if s.cfg.OnRunFinished == nil {
		return
	}
	r, err := s.cfg.Store.GetRun(ctx, runID)
	if err != nil {
		s.log.Warn("reading a finished run failed", slog.Int64("run", runID), slog.Any("err", err))
		return
	}
	c, err := s.cfg.Store.RunCounts(ctx, runID)
	if err != nil {
		s.log.Warn("counting a finished run failed", slog.Int64("run", runID), slog.Any("err", err))
		return
	}
	s.cfg.OnRunFinished(*r, c)
}

// checkStatus halts rc when another process paused or cancelled its run
// (this process's own changes halt it at once).
func (rc *runCtx) checkStatus(ctx context.Context) {
	if rc.halted.Load() {
		return
	}
	r, err := rc.s.cfg.Store.GetRun(ctx, rc.run.ID)
	if err == nil && !active(r.Status) {
		rc.halted.Store(true)
	}
}

// deliver sends one claimed delivery and says what became of it. buf and
// vals are the worker's, reused from message to message.
func (rc *runCtx) deliver(ctx context.Context, buf []byte, vals map[string]string, c Claim) ([]byte, Outcome) {
	s := rc.s
	o := Outcome{SubscriberID: c.SubscriberID, Lease: c.LeaseUntil}
	arts, topics, key := topicArticles(rc.arts, c.Tags)
	if key == "" {
		o.Status, o.Reply, o.At = DeliverySkipped, "no article matches the subscriber's topics", s.cfg.Now()
		return buf, o
	}
	if s.comp != nil {
		// A variant is topics × language, composed once when first needed.
		key = variantKey(key, s.comp.langOf(rc.n, c.Language), s.comp.newsletterLang(rc.n))
	}
	release := func() Outcome {
		o.Status, o.Release, o.At = DeliveryPending, true, s.cfg.Now()
		return o
	}
	p, err := rc.prepare(ctx, key, arts, topics)
	if err != nil {
		if ctx.Err() != nil {
			return buf, release() // shutting down
		}
		if errors.Is(err, errStore) {
			rc.stop(err)
		} else {
			rc.fail(ctx, fmt.Errorf("compose: %w", err))
		}
		return buf, release()
	}
	o.MessageID = messageID(rc.run.ID, c.SubscriberID, rc.idSuffix)
	rc.fillValues(vals, c, o.MessageID)
	buf, err = p.Render(buf, vals)
	if err != nil {
		if !errors.Is(err, mail.ErrBadValue) {
			// The digest itself does not render: every recipient would fail.
			rc.fail(ctx, fmt.Errorf("render: %w", err))
			return buf, release()
		}
		// This recipient's own address or name is unusable.
		o.Status, o.Reply, o.At = DeliveryFailed, err.Error(), s.cfg.Now()
		return buf, o
	}
	if rc.halted.Load() {
		// Another worker just stopped or failed the run.
		return buf, release()
	}
	env := mail.Envelope{From: s.envelopeFrom(rc.n), To: []string{c.Email}}
	if s.cfg.Bounce != nil {
		// VERP: a bounce names this delivery exactly.
		if rp, err := s.cfg.Bounce.ReturnPath(rc.run.ID, c.SubscriberID, c.LinkSecret); err == nil {
			env.From = rp
		} else {
			s.log.Warn("no VERP return path; using the plain one", slog.Int64("run", rc.run.ID),
				slog.Int64("subscriber", c.SubscriberID), slog.Any("err", err))
		}
	}
	// The send is not cut short by shutdown: the message in hand finishes.
	err = s.cfg.Mailer.Send(context.WithoutCancel(ctx), env, buf)
	o.At = s.cfg.Now()
	var se *mail.SendError
	switch {
	case err == nil:
		o.Status, o.Reply = DeliverySent, "250 accepted"
		s.clearFault(&s.sendFault)
	case errors.Is(err, mail.ErrLocal):
		// This machine failed (a full disk), not the message: give the row
		// back unused and stop; every other message would fail alike.
		s.setFault(&s.sendFault, err)
		rc.stop(err)
		o.Status, o.Release = DeliveryPending, true
	case mail.IsPermanent(err):
		errors.As(err, &se)
		o.Status, o.Reply, o.Bounce = DeliveryFailed, reply(err), bounceOf(se)
	case mail.IsTemporary(err), errors.As(err, &se):
		// 4xx, a dropped connection, a timeout: retry later (go-mail's
		// code-0 EOF and broken pipe included).
		o = rc.retry(o, c, reply(err), BounceSoft)
	case errors.Is(err, mail.ErrClosed), errors.Is(err, context.Canceled):
		o.Status, o.Release = DeliveryPending, true
	default:
		// Not a reply from the server (a bad address): retrying won't help.
		o.Status, o.Reply = DeliveryFailed, err.Error()
	}
	if o.Status != DeliverySent && o.Status != DeliveryPending {
		s.log.Warn("delivery failed", slog.Int64("run", rc.run.ID), slog.Int64("subscriber", c.SubscriberID), slog.String("reply", o.Reply))
	}
	return buf, o
}

// retry schedules another attempt with exponential backoff and jitter, or
// settles the delivery failed once max_attempts are used.
func (rc *runCtx) retry(o Outcome, c Claim, why string, exhausted Bounce) Outcome {
	s := rc.s
	o.At, o.Reply = s.cfg.Now(), why
	if c.Attempts >= s.cfg.MaxAttempts {
		o.Status, o.Bounce = DeliveryFailed, exhausted
		o.Reply = fmt.Sprintf("gave up after %d attempts: %s", c.Attempts, why)
		return o
	}
	o.Status, o.NextAttempt = DeliveryPending, o.At.Add(Backoff(s.cfg.RetryBase, c.Attempts))
	return o
}

// Backoff is the delay before the attempt after attempt n (1-based):
// base·2^(n−1), at most an hour, scaled by a random factor in [0.5, 1).
func Backoff(base time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < time.Hour; i++ {
		d *= 2
	}
	d = min(d, time.Hour)
	return time.Duration(float64(d) * (0.5 + rand.Float64()/2))
}

func reply(err error) string {
	var se *mail.SendError
	if errors.As(err, &se) && se.Code != 0 {
		return strings.TrimSpace(fmt.Sprintf("%d %s", se.Code, se.Msg))
	}
	return err.Error()
}

// bounceOf applies the bounce rule: a 5xx saying the mailbox does not exist
// (550, 551, 553 or an enhanced 5.1.x status) bounces the address at once;
// any other 5xx counts one hard failure (HardBounceLimit of them bounce it).
func bounceOf(se *mail.SendError) Bounce {
	if se == nil {
		return BounceHard
	}
	if strings.HasPrefix(se.Enhanced, "5.1.") || se.Code == 550 || se.Code == 551 || se.Code == 553 {
		if se.Enhanced == "" || strings.HasPrefix(se.Enhanced, "5.1.") {
			return BounceUnknownUser
		}
	}
	return BounceHard
}

// messageID is stable per run and recipient, so a message sent twice after
// a crash carries one Message-ID and receivers can fold the copies:
// digest.RUN.SUBSCRIBER then the run's suffix (messageIDSuffix).
func messageID(runID, subscriberID int64, suffix string) string {
	b := make([]byte, 0, 48+len(suffix))
	b = append(b, "digest."...)
	b = strconv.AppendInt(b, runID, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, subscriberID, 10)
	return string(append(b, suffix...))
}

// messageIDSuffix is ".INSTALLATION@DOMAIN" (the From domain of n): the
// installation part keeps two installations sending from one domain apart.
func (s *Service) messageIDSuffix(n *Newsletter) string {
	from := s.from(n).Email
	domain := "localhost"
	if at := strings.LastIndexByte(from, '@'); at >= 0 {
		domain = from[at+1:]
	}
	if s.cfg.Installation == "" {
		return "@" + domain
	}
	return "." + s.cfg.Installation + "@" + domain
}

// feedbackID is Gmail's Feedback-ID (CampaignID:CustomerID:MailType:SenderId):
// its postmaster tools count complaints per newsletter and per run.
func feedbackID(n *Newsletter, run *Run) string {
	return fmt.Sprintf("run-%d:%s:digest:herald", run.ID, strings.ReplaceAll(n.ID, ":", "-"))
}

func (s *Service) from(n *Newsletter) mail.Address {
	a := n.From
	if a == nil {
		a = s.cfg.From
	}
	if a == nil {
		return mail.Address{Email: "news@localhost"}
	}
	return mail.Address{Name: a.Name, Email: a.Address}
}

func (s *Service) envelopeFrom(n *Newsletter) string {
	if s.cfg.ReturnPath != "" {
		return s.cfg.ReturnPath
	}
	return s.from(n).Email
}

// values are one recipient's personal values.
func (rc *runCtx) values(c Claim, msgID string) map[string]string {
	vals := make(map[string]string, 12)
	rc.fillValues(vals, c, msgID)
	return vals
}

// fillValues sets vals to one recipient's personal values (values): the
// workers reuse one map, not a new one per message.
func (rc *runCtx) fillValues(vals map[string]string, c Claim, msgID string) {
	greet := "Hello,"
	if comp := rc.s.comp; comp != nil {
		l := comp.lang.L(comp.langOf(rc.n, c.Language))
		greet = l.T("mail.hello")
		if c.Name != "" {
			greet = l.T("mail.hello_name", "Name", c.Name)
		}
	} else if c.Name != "" {
		greet = "Hello " + c.Name + ","
	}
	unsub, prefs := rc.s.links(c.SubscriberID, c.LinkSecret, rc.n.ID)
	unsubMail := ""
	if b := rc.s.cfg.Bounce; b != nil && c.SubscriberID > 0 {
		unsubMail, _ = b.UnsubscribeMailto(c.SubscriberID, rc.n.ID, c.LinkSecret) // "" when it cannot be made
	}
	// Every key is set each time, so nothing of the previous recipient stays.
	vals[SlotUnsubscribeMail] = unsubMail
	vals[SlotName], vals[SlotEmail], vals[SlotMessageID] = c.Name, c.Email, msgID
	vals[SlotGreeting], vals[SlotGreetingHTML] = greet, html.EscapeString(greet)
	vals[SlotUnsubscribe], vals[SlotUnsubscribeHTML] = unsub, html.EscapeString(unsub)
	vals[SlotPreferences], vals[SlotPreferencesHTML] = prefs, html.EscapeString(prefs)
}

func (s *Service) links(subscriberID int64, secret []byte, newsletter string) (unsub, prefs string) {
	if s.cfg.Links == nil {
		base := strings.TrimRight(s.cfg.Site.BaseURL, "/")
		return base + "/unsubscribe", base + "/preferences"
	}
	return s.cfg.Links.UnsubscribeURL(subscriberID, secret, newsletter), s.cfg.Links.PreferencesURL(subscriberID, secret)
}

// prepare returns the encoded variant, composing and keeping it with the
// run the first time any process needs it.
func (rc *runCtx) prepare(ctx context.Context, key string, arts []article.Article, topics []string) (*mail.Prepared, error) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if p := rc.prepared[key]; p != nil {
		return p, nil
	}
	s := rc.s
	v, found, err := s.cfg.Store.Variant(ctx, rc.run.ID, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStore, err)
	}
	if !found {
		if s.comp == nil {
			return nil, errors.New("digest: no templates configured")
		}
		v, err = s.comp.compose(rc.n, rc.run, arts, key, false, topics...)
		if err != nil {
			return nil, err
		}
		if v, err = s.cfg.Store.PutVariant(ctx, rc.run.ID, *v); err != nil {
			return nil, fmt.Errorf("%w: %w", errStore, err)
		}
	}
	p, err := mail.Prepare(s.message(rc.n, rc.run, v))
	if err != nil {
		return nil, err
	}
	rc.prepared[key] = p
	return p, nil
}

// message is a variant as a list mail with slots for personal values.
func (s *Service) message(n *Newsletter, run *Run, v *Variant) *mail.Message {
	base := strings.TrimRight(s.cfg.Site.BaseURL, "/")
	m := &mail.Message{
		From:            s.from(n),
		To:              mail.Address{Name: slot(SlotName), Email: slot(SlotEmail)},
		Subject:         v.Subject,
		Text:            v.Text,
		HTML:            v.HTML,
		ListID:          fmt.Sprintf("%s <%s.%s>", strings.ReplaceAll(n.Title, "\"", ""), n.ID, listHost(base)),
		ListUnsubscribe: slot(SlotUnsubscribe),
		OneClick:        strings.HasPrefix(base, "https://"),
		MessageID:       slot(SlotMessageID),
		Headers: [][2]string{
			{"X-Herald-Run", fmt.Sprintf("%d", run.ID)},
			{"Feedback-ID", feedbackID(n, run)},
		},
	}
	if s.cfg.Bounce != nil {
		m.ListUnsubscribeMailto = slot(SlotUnsubscribeMail)
	}
	if n.ReplyTo != nil {
		m.ReplyTo = &mail.Address{Name: n.ReplyTo.Name, Email: n.ReplyTo.Address}
	}
	if run.Kind == KindTest {
		m.Subject = "[Test] " + m.Subject
		m.Headers = append(m.Headers, [2]string{"X-Herald-Test", "yes"})
	}
	return m
}

func listHost(base string) string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "localhost"
	}
	h := u.Host
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return h
}

// until is how long from now (by the service's clock) to t.
func (s *Service) until(t time.Time) time.Duration { return t.Sub(s.cfg.Now()) }
