// Package websub publishes WebSub (W3C Recommendation) notifications: when
// a feed's bytes change, each configured hub is told to fetch it again.
// Pings are queued without blocking the caller, coalesced per hub and
// topic, and retried with exponential backoff and jitter, because a hub
// that is down for a minute must not lose an update nor hold up serving.
package websub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Retry policy: attempts about 1s, 2s, 4s … apart (jittered down by up to
// half), never more than MaxBackoff apart, at most MaxAttempts in all.
const (
	DefaultMaxAttempts = 8
	DefaultBaseBackoff = time.Second
	DefaultMaxBackoff  = 10 * time.Minute
	requestTimeout     = 30 * time.Second
)

// Publisher sends publish pings to hubs. Create it with NewPublisher,
// start Run in a goroutine, and call Publish whenever feeds change.
type Publisher struct {
	hubs   []string
	client *http.Client
	log    *slog.Logger

	// MaxAttempts, BaseBackoff and MaxBackoff tune retries; set them
	// before Run (tests shorten the backoff).
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration

	mu      sync.Mutex
	pending map[job]*state // queued or waiting for a retry
	wake    chan struct{}  // buffered(1): new work arrived
}

// job is one (hub, topic) notification.
type job struct{ hub, topic string }

type state struct {
	attempts int
	due      time.Time
	running  bool // a POST is in flight
	again    bool // published again while in flight: send once more
}

// NewPublisher returns a publisher for hubs. A nil client means a client
// with a 30 s timeout; a nil logger discards.
func NewPublisher(hubs []string, client *http.Client, log *slog.Logger) *Publisher {
	if client == nil {
		client = &http.Client{Timeout: requestTimeout}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{
		hubs:        append([]string(nil), hubs...),
		client:      client,
		log:         log,
		MaxAttempts: DefaultMaxAttempts,
		BaseBackoff: DefaultBaseBackoff,
		MaxBackoff:  DefaultMaxBackoff,
		pending:     map[job]*state{},
		wake:        make(chan struct{}, 1),
	}
}

// Publish queues a ping for every topic at every hub and returns at once.
// A topic already waiting is not queued twice; one whose ping is in
// flight is sent once more afterwards (the hub may have fetched the
// feed before this change). Safe for concurrent use.
func (p *Publisher) Publish(topics []string) {
	if len(p.hubs) == 0 || len(topics) == 0 {
		return
	}
	p.mu.Lock()
	for _, h := range p.hubs {
		for _, t := range topics {
			j := job{h, t}
			switch s := p.pending[j]; {
			case s == nil:
				p.pending[j] = &state{}
			case s.running:
				s.again = true
			default:
				// Waiting for a retry: a fresh change is worth trying now.
				s.due = time.Time{}
			}
		}
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run sends queued pings until ctx is done, then waits for POSTs in
// flight (cancelled with ctx) and drops pending retries: the next start
// refreshes its feeds and pings again.
func (p *Publisher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := p.startDue(ctx, &wg)
		wait := time.Hour
		if !next.IsZero() {
			wait = max(time.Until(next), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-timer.C:
		}
	}
}

// startDue starts a POST for every due job and returns when the next
// waiting job is due (zero: none waiting).
func (p *Publisher) startDue(ctx context.Context, wg *sync.WaitGroup) time.Time {
	now := time.Now()
	var next time.Time
	p.mu.Lock()
	defer p.mu.Unlock()
	for j, s := range p.pending {
		if s.running {
			continue
		}
		if s.due.After(now) {
			if next.IsZero() || s.due.Before(next) {
				next = s.due
			}
			continue
		}
		s.running = true
		s.attempts++
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.finish(ctx, j, p.post(ctx, j))
		}()
	}
	return next
}

// finish records the outcome of one POST and schedules a retry if needed.
func (p *Publisher) finish(ctx context.Context, j job, err error) {
	p.mu.Lock()
	s := p.pending[j]
	s.running = false
	switch {
	case ctx.Err() != nil:
		delete(p.pending, j)
	case err == nil:
		p.log.Debug("websub: hub notified", slog.String("hub", j.hub), slog.String("topic", j.topic), slog.Int("attempt", s.attempts))
		if s.again {
			*s = state{}
		} else {
			delete(p.pending, j)
		}
	case s.attempts >= p.MaxAttempts:
		p.log.Error("websub: giving up on hub", slog.String("hub", j.hub), slog.String("topic", j.topic),
			slog.Int("attempts", s.attempts), slog.Any("err", err))
		if s.again {
			*s = state{}
		} else {
			delete(p.pending, j)
		}
	default:
		d := p.backoff(s.attempts)
		s.due = time.Now().Add(d)
		s.again = false
		p.log.Warn("websub: hub ping failed, will retry", slog.String("hub", j.hub), slog.String("topic", j.topic),
			slog.Int("attempt", s.attempts), slog.Duration("retry_in", d), slog.Any("err", err))
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// backoff is the wait after the n-th failed attempt: BaseBackoff·2^(n-1)
// capped at MaxBackoff, less a random part of up to half, so instances
// that failed together do not retry in step.
func (p *Publisher) backoff(n int) time.Duration {
	d := p.BaseBackoff
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, p.MaxBackoff)
	return d - rand.N(d/2+1)
}

// errStatus is a non-2xx answer from a hub.
var errStatus = errors.New("websub: hub refused")

// post sends one publish notification. It sets both hub.url and
// hub.topic: hubs differ in which one they read.
func (p *Publisher) post(ctx context.Context, j job) error {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	form := url.Values{"hub.mode": {"publish"}, "hub.url": {j.topic}, "hub.topic": {j.topic}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.hub, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("websub: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "Herald (WebSub publisher)")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("websub: post %s: %w", j.hub, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%w: %s answered %s: %s", errStatus, j.hub, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}
