package subscribe

import (
	"context"
	"fmt"
	"time"
)

// Add subscribes email from the command line: with confirmed, the
// address becomes active at once (the operator vouches for consent);
// without, it goes through opt-in like the form (sent reports whether a
// confirmation mail went out now; one a guard holds back goes out later).
// Unknown topic tags are refused.
func (s *Service) Add(ctx context.Context, email, name string, newsletters, tags []string, confirmed bool) (sub *Subscriber, sent bool, err error) {
	return s.AddIn(ctx, "", email, name, newsletters, tags, confirmed)
}

// AddIn is Add with the subscriber's language ("": keep, or the default).
func (s *Service) AddIn(ctx context.Context, language, email, name string, newsletters, tags []string, confirmed bool) (sub *Subscriber, sent bool, err error) {
	if language, err = s.checkLanguage(language); err != nil {
		return nil, false, err
	}
	email, err = NormalizeEmail(email)
	if err != nil {
		return nil, false, err
	}
	if name, err = CleanName(name); err != nil {
		return nil, false, err
	}
	nls, err := s.checkNewsletters(newsletters)
	if err != nil {
		return nil, false, err
	}
	if tags, err = s.checkTags(ctx, tags, nil); err != nil {
		return nil, false, err
	}
	now := s.cfg.Now().UTC()
	c := Choice{Name: name, Newsletters: nls, Tags: tags, Language: language, Consent: Consent{At: now, Source: "cli"}}
	if confirmed {
		if err := s.checkSuppressed(ctx, email); err != nil {
			return nil, false, err
		}
		sub, _, err = s.cfg.Store.UpsertActive(ctx, email, c, now)
		return sub, false, err
	}
	c.Consent.Text = s.cfg.ConsentText
	if err := s.cfg.Store.QueueSubscription(ctx, email, c, now); err != nil {
		return nil, false, err
	}
	subs, err := s.cfg.Store.TakeConfirmations(ctx, email, s.limits(), now)
	if err != nil {
		return nil, false, err
	}
	if len(subs) == 0 {
		sub, err = s.cfg.Store.SubscriberByEmail(ctx, email)
		return sub, false, err
	}
	if err := s.confirmOrReset(ctx, subs[0], now); err != nil {
		return subs[0], false, err
	}
	return subs[0], true, nil
}

// Remove unsubscribes email from everything; the record stays.
func (s *Service) Remove(ctx context.Context, email string) (*Subscriber, error) {
	sub, err := s.byEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.Unsubscribe(ctx, sub.ID, "", s.cfg.Now().UTC())
}

// Erase deletes everything stored about email, keeping only a count.
func (s *Service) Erase(ctx context.Context, email string) error {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	return s.cfg.Store.EraseSubscriber(ctx, norm, s.cfg.Now().UTC())
}

// Get returns the subscriber with the address (normalised first).
func (s *Service) Get(ctx context.Context, email string) (*Subscriber, error) {
	return s.byEmail(ctx, email)
}

func (s *Service) byEmail(ctx context.Context, email string) (*Subscriber, error) {
	norm, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	return s.cfg.Store.SubscriberByEmail(ctx, norm)
}

// DataExport is everything stored about one subscriber (GDPR art. 15/20):
// the record with its consent, and every digest delivery to them.
type DataExport struct {
	ExportedAt time.Time   `json:"exported_at"`
	Subscriber *Subscriber `json:"subscriber"`
	Deliveries []Delivery  `json:"deliveries"`
}

// Delivery is one digest sent (or not) to a subscriber, newest first.
type Delivery struct {
	Run        int64      `json:"run"`
	Newsletter string     `json:"newsletter"`
	Subject    string     `json:"subject"`
	Status     string     `json:"status"` // pending, sending, sent, failed, skipped
	Attempts   int        `json:"attempts"`
	Reply      string     `json:"reply,omitempty"`
	MessageID  string     `json:"message_id,omitempty"`
	SentAt     *time.Time `json:"sent_at,omitempty"`
}

// ExportData returns everything stored about email.
func (s *Service) ExportData(ctx context.Context, email string) (*DataExport, error) {
	sub, err := s.byEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	ds, err := s.cfg.Store.SubscriberDeliveries(ctx, sub.ID)
	if err != nil {
		return nil, err
	}
	if ds == nil {
		ds = []Delivery{}
	}
	return &DataExport{ExportedAt: s.cfg.Now().UTC(), Subscriber: sub, Deliveries: ds}, nil
}

// List returns the subscribers matching f.
func (s *Service) List(ctx context.Context, f Filter) ([]*Subscriber, error) {
	if f.Newsletter != "" {
		if _, ok := s.Newsletter(f.Newsletter); !ok {
			return nil, ErrUnknownNewsletter
		}
	}
	return s.cfg.Store.ListSubscribers(ctx, f)
}

// checkSuppressed is ErrSuppressed for an address on the suppression list.
func (s *Service) checkSuppressed(ctx context.Context, email string) error {
	if s.cfg.Suppression == nil {
		return nil
	}
	on, err := s.cfg.Suppression.IsSuppressed(ctx, email)
	if err != nil {
		return err
	}
	if on {
		return fmt.Errorf("%s: %w", email, ErrSuppressed)
	}
	return nil
}

// SetLanguage sets the language of the subscriber with the address ("":
// none, the newsletter's), as an operator does on the admin subscriber
// page; allowed in any status, as it is also the language of the pages
// their links open.
func (s *Service) SetLanguage(ctx context.Context, email, language string) (*Subscriber, error) {
	code, err := s.checkLanguage(language)
	if err != nil {
		return nil, err
	}
	cur, err := s.byEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if code == cur.Language {
		return cur, nil
	}
	if err := s.cfg.Store.SetLanguage(ctx, cur.ID, code, s.cfg.Now().UTC()); err != nil {
		return nil, err
	}
	return s.cfg.Store.GetSubscriber(ctx, cur.ID)
}

// SetChoice sets the newsletters (none: the defaults) and topic tags of
// the subscriber with the address, as an operator does on the admin
// subscriber page; the name, status and consent stay. An unsubscribed or
// bounced subscriber is reactivated first (AddIn, confirmed), never here.
func (s *Service) SetChoice(ctx context.Context, email string, newsletters, tags []string) (*Subscriber, error) {
	cur, err := s.byEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	if cur.Status == StatusUnsubscribed || cur.Status == StatusBounced {
		return nil, fmt.Errorf("%w: %s is %s: reactivate it first", ErrInvalidInput, cur.Email, cur.Status)
	}
	nls, err := s.checkNewsletters(newsletters)
	if err != nil {
		return nil, err
	}
	if tags, err = s.checkTags(ctx, tags, cur.Tags); err != nil {
		return nil, err
	}
	return s.cfg.Store.UpdatePreferences(ctx, cur.ID, cur.Name, nls, tags, s.cfg.Now().UTC())
}
