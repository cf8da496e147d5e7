package digest

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/mail"
)

// PlanSlot plans the scheduled run of a newsletter's slot. A slot already
// planned (by a restart, another process, a daylight-saving repeat) is
// ErrAlreadyPlanned. A digest that cannot be composed is recorded failed
// and returned with an error wrapping ErrRunFailed.
func (s *Service) PlanSlot(ctx context.Context, newsletter string, slot time.Time) (*Run, error) {
	n, err := s.Newsletter(newsletter)
	if err != nil {
		return nil, err
	}
	return s.plan(ctx, n, slot, SlotKey(slot, n.Location), KindScheduled)
}

// PlanNow plans a manual run (`digest send --now`): slot = now; it carries
// articles like any run and moves the window, but is no schedule slot.
func (s *Service) PlanNow(ctx context.Context, newsletter string) (*Run, error) {
	n, err := s.Newsletter(newsletter)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	return s.plan(ctx, n, now, "manual-"+now.UTC().Format("20060102T150405.000000Z"), KindManual)
}

func (s *Service) plan(ctx context.Context, n *Newsletter, slot time.Time, key string, kind Kind) (*Run, error) {
	if s.comp == nil {
		return nil, fmt.Errorf("digest: no templates configured")
	}
	req := PlanRequest{
		Selection: Selection{Newsletter: n.ID, Tags: n.Tags, SlotAt: slot, FirstWindow: n.FirstWindow, MaxArticles: n.MaxArticles},
		Slot:      key, Kind: kind, SendIfEmpty: n.SendIfEmpty, Now: s.cfg.Now(),
	}
	run, err := s.cfg.Store.PlanRun(ctx, req, func(run *Run, arts []article.Article) ([]Variant, error) {
		all, err := s.comp.compose(n, run, arts, VariantAll, false)
		if err != nil {
			return nil, err
		}
		// A digest that cannot be encoded fails here, as a whole, before
		// anyone is due it.
		if err := s.checkPreparable(n, run, all); err != nil {
			return nil, err
		}
		web, err := s.comp.compose(n, run, arts, VariantWeb, true)
		if err != nil {
			return nil, err
		}
		return []Variant{*all, *web}, nil
	})
	if err != nil {
		return run, err // a failed run is returned with the reason
	}
	s.log.Info("digest planned", slog.String("newsletter", n.ID), slog.Int64("run", run.ID), slog.String("slot", key),
		slog.String("kind", string(kind)), slog.String("status", string(run.Status)),
		slog.Int("articles", run.Articles), slog.Int("recipients", run.Recipients))
	return run, nil
}

// checkPreparable encodes v as the workers will and checks that it needs
// no personal value they do not have.
func (s *Service) checkPreparable(n *Newsletter, run *Run, v *Variant) error {
	p, err := mail.Prepare(s.message(n, run, v))
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	have := (&runCtx{s: s, run: run, n: n}).values(Claim{}, "")
	for _, name := range p.Slots() {
		if _, ok := have[name]; !ok {
			return fmt.Errorf("prepare: %w %q", mail.ErrMissingValue, name)
		}
	}
	return nil
}

// Preview renders the digest the newsletter's next run would send now,
// changing nothing: as the subscriber with the address as (their topics,
// name and links) when given. format is "html" or "text".
func (s *Service) Preview(ctx context.Context, newsletter, as, format string) (subject, body string, err error) {
	n, arts, now, err := s.nextArticles(ctx, newsletter)
	if err != nil {
		return "", "", err
	}
	c := Claim{Email: as}
	if as != "" {
		found, ok, err := s.cfg.Store.LookupSubscriber(ctx, as)
		if err != nil {
			return "", "", err
		}
		if ok {
			c = found
		}
	}
	return s.preview(n, arts, now, c, format)
}

// PreviewTopics is Preview as a subscriber who chose the topic tags
// (slugs; none: every article), without naming one.
func (s *Service) PreviewTopics(ctx context.Context, newsletter string, topics []string, format string) (subject, body string, err error) {
	n, arts, now, err := s.nextArticles(ctx, newsletter)
	if err != nil {
		return "", "", err
	}
	return s.preview(n, arts, now, Claim{Tags: topics}, format)
}

// nextArticles is what a run of the newsletter would carry now.
func (s *Service) nextArticles(ctx context.Context, newsletter string) (*Newsletter, []article.Article, time.Time, error) {
	n, err := s.Newsletter(newsletter)
	if err != nil {
		return nil, nil, time.Time{}, err
	}
	if s.comp == nil {
		return nil, nil, time.Time{}, fmt.Errorf("digest: no templates configured")
	}
	now := s.cfg.Now()
	arts, err := s.cfg.Store.SelectArticles(ctx, Selection{Newsletter: n.ID, Tags: n.Tags, SlotAt: now,
		FirstWindow: n.FirstWindow, MaxArticles: n.MaxArticles})
	return n, arts, now, err
}

// preview composes arts as the recipient c would get them.
func (s *Service) preview(n *Newsletter, arts []article.Article, now time.Time, c Claim, format string) (subject, body string, err error) {
	sel, topics, key := topicArticles(arts, c.Tags)
	if key == "" {
		return "", "", fmt.Errorf("%w: %s (%s) would be skipped", ErrNoMatch, c.Email, strings.Join(c.Tags, ", "))
	}
	run := &Run{Newsletter: n.ID, SlotAt: now, Kind: KindTest}
	v, err := s.comp.compose(n, run, sel, key, false, topics...)
	if err != nil {
		return "", "", err
	}
	rc := &runCtx{s: s, run: run, n: n}
	vals := rc.values(c, "")
	var pairs []string
	for k, val := range vals {
		pairs = append(pairs, slot(k), val)
	}
	r := strings.NewReplacer(pairs...)
	switch format {
	case "", "html":
		return v.Subject, r.Replace(v.HTML), nil
	case "text":
		return v.Subject, r.Replace(v.Text), nil
	}
	return "", "", fmt.Errorf("unknown format %q (html or text)", format)
}

// SendTest sends the digest the next run would carry to one address,
// marked as a test; it changes no window and is kept as a test run.
func (s *Service) SendTest(ctx context.Context, newsletter, to string) (*Run, error) {
	n, err := s.Newsletter(newsletter)
	if err != nil {
		return nil, err
	}
	if s.cfg.Mailer == nil {
		return nil, fmt.Errorf("digest: no mail transport")
	}
	now := s.cfg.Now()
	n2 := *n
	n2.SendIfEmpty = true // a test shows what would go, even nothing
	run, err := s.plan(ctx, &n2, now, "test-"+now.UTC().Format("20060102T150405.000000Z"), KindTest)
	if err != nil {
		return nil, err
	}
	v, _, err := s.cfg.Store.Variant(ctx, run.ID, VariantAll)
	if err != nil || v == nil {
		return nil, fmt.Errorf("digest: test run %d has no variant: %v", run.ID, err)
	}
	p, err := mail.Prepare(s.message(n, run, v))
	if err != nil {
		return nil, err
	}
	c := Claim{Email: to}
	if found, ok, err := s.cfg.Store.LookupSubscriber(ctx, to); err == nil && ok {
		c = found
	}
	rc := &runCtx{s: s, run: run, n: n}
	vals := rc.values(c, messageID(run.ID, 0, s.messageIDSuffix(n)))
	if c.SubscriberID == 0 {
		// No subscription to manage: the links lead to the test page, not
		// to a token the site would refuse.
		tp := TestPageURL(s.cfg.Site.BaseURL, n.ID)
		for _, k := range []string{SlotUnsubscribe, SlotUnsubscribeHTML, SlotPreferences, SlotPreferencesHTML} {
			vals[k] = tp
		}
	}
	raw, err := p.Render(nil, vals)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Mailer.Send(ctx, mail.Envelope{From: s.envelopeFrom(n), To: []string{to}}, raw); err != nil {
		return nil, fmt.Errorf("test send to %s: %w: %w", to, ErrSendFailed, err)
	}
	s.log.Info("test digest sent", slog.String("newsletter", n.ID), slog.Int64("run", run.ID), slog.String("to", to))
	return run, nil
}
