// Package subscribe is Herald's subscriber management: double opt-in,
// signed tokens for confirm, unsubscribe and preferences links, address
// normalisation, rate limits, CSV import and export, and the GDPR
// operations. It declares the Store and Mailer it needs; the SQLite store
// and the mail package satisfy them.
package subscribe

import (
	"errors"
	"fmt"
	"time"

	"github.com/herald-news/herald/internal/store"
)

// Status is where a subscriber stands.
type Status string

const (
	StatusPending      Status = "pending"
	StatusActive       Status = "active"
	StatusUnsubscribed Status = "unsubscribed"
	StatusBounced      Status = "bounced"
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusActive, StatusUnsubscribed, StatusBounced:
		return true
	}
	return false
}

// Consent records how a subscriber agreed: when, from which IP (only with
// subscribe.store_ip), from which form or import file, and the text shown.
type Consent struct {
	At     time.Time `json:"at,omitzero"`
	IP     string    `json:"ip,omitempty"`
	Source string    `json:"source,omitempty"`
	Text   string    `json:"text,omitempty"`
}

// Subscriber is one address and what it receives.
type Subscriber struct {
	ID          int64    `json:"id"`
	Email       string   `json:"email"`
	Name        string   `json:"name"`
	Status      Status   `json:"status"`
	Newsletters []string `json:"newsletters"`
	Tags        []string `json:"tags"`
	// Language of pages and mails ("sv"); "": the newsletter's language.
	Language       string    `json:"language"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
	ConfirmedAt    time.Time `json:"confirmed_at,omitzero"`
	UnsubscribedAt time.Time `json:"unsubscribed_at,omitzero"`
	ConfirmSentAt  time.Time `json:"confirm_sent_at,omitzero"`
	Consent        Consent   `json:"consent"`
	HardFailures   int       `json:"hard_failures"`
	SoftFailures   int       `json:"soft_failures"`
	// Pending is a re-subscription waiting for confirmation (an address
	// that had unsubscribed or bounced asked again); nil when none.
	Pending *Choice `json:"pending_choice,omitempty"`
	// LinkSecret is random per row and in the MAC of every link made for
	// it, so a link never fits another row, even one with the same id.
	// It is no personal datum and never leaves the store but in a MAC.
	LinkSecret []byte `json:"-"`
	// LegacyLinks: the row predates bound links, so the old-format links
	// mailed to it (id only) still verify.
	LegacyLinks bool `json:"-"`
}

// Has reports whether the subscriber receives newsletter id.
func (s *Subscriber) Has(id string) bool {
	for _, n := range s.Newsletters {
		if n == id {
			return true
		}
	}
	return false
}

// ConfirmLanguage is the language of what a confirmation link leads to:
// the one chosen with the request waiting for confirmation, else the
// stored one.
func (s *Subscriber) ConfirmLanguage() string {
	if s.Pending != nil && s.Pending.Language != "" {
		return s.Pending.Language
	}
	return s.Language
}

// Choice is what a subscriber asks for: a name, newsletters and topic tags,
// with the consent given when asking.
type Choice struct {
	Name        string   `json:"name"`
	Newsletters []string `json:"newsletters"`
	Tags        []string `json:"tags"`
	Language    string   `json:"language,omitempty"` // "": keep the stored one
	Consent     Consent  `json:"consent"`
}

// Newsletter is what subscribe needs to know of a configured newsletter.
type Newsletter struct {
	ID      string
	Title   string
	Default bool
	Tags    []string // its tags: topic tags a subscriber may choose
	// Location is its schedule's zone (nil: site.timezone).
	Location *time.Location
}

// ConfirmLimits are the guards on confirmation mails: at most one per
// Resend for an address and for its Mailbox, and at most DomainPerHour
// an hour for the mailbox's domain (0: no budget).
type ConfirmLimits struct {
	Resend        time.Duration
	DomainPerHour int
}

// Errors the web surface maps to statuses (web.statusOf).
var (
	// ErrInvalidEmail: the address is malformed or could inject a header.
	ErrInvalidEmail = errors.New("invalid email address")
	// ErrInvalidInput: some other field is unacceptable.
	ErrInvalidInput = errors.New("invalid input")
	// ErrInvalidToken: the link is malformed or its signature is wrong.
	ErrInvalidToken = errors.New("invalid or damaged link")
	// ErrExpiredToken: the confirmation link is past its time.
	ErrExpiredToken = errors.New("link expired")
	// ErrRateLimited: too many requests from one client.
	ErrRateLimited = errors.New("too many requests")
	// ErrUnknownNewsletter: no configured newsletter has the id.
	ErrUnknownNewsletter = errors.New("unknown newsletter")
	// ErrUnknownTag: no stored article and no newsletter has the tag.
	ErrUnknownTag = errors.New("unknown topic tag")
	// ErrUnknownLanguage: the language is not in site.languages. It comes
	// wrapped with ErrInvalidInput, so it maps as other bad input does.
	ErrUnknownLanguage = errors.New("unknown language")
)

// Filter selects subscribers to list, search or export; zero fields
// match all.
type Filter struct {
	Status     Status
	Newsletter string
	Tag        string // a topic tag's slug
	// Query is a substring of the address or the name, folded (Fold):
	// Service.CheckFilter folds what a person typed.
	Query string
}

// NotFound is a store's answer for a missing subscriber (email "" when
// asked by id), written here so every backend says the same.
func NotFound(email string) error {
	if email == "" {
		return fmt.Errorf("subscriber: %w", store.ErrNotFound)
	}
	return fmt.Errorf("subscriber %s: %w", email, store.ErrNotFound)
}

// RequestAction is what a subscribe request does to the subscriber its
// address already has; the rule lives here so every backend applies it
// alike (docs/ARCHITECTURE.md, "Subscribers").
type RequestAction int

const (
	// RequestNoMail: an active subscriber is left alone.
	RequestNoMail RequestAction = iota
	// RequestResend: a pending subscriber, or one whose earlier choice
	// already waits aside, keeps what it asked first (a repeated request
	// may not change what the first link confirms); the mail goes again.
	RequestResend
	// RequestSetAside: an unsubscribed or bounced subscriber keeps its
	// status, and the new choice waits aside until confirmed.
	RequestSetAside
)

// OnRequest is the action a request takes on old.
func OnRequest(old *Subscriber) RequestAction {
	switch {
	case old.Status == StatusActive:
		return RequestNoMail
	case old.Status == StatusPending, old.Pending != nil:
		return RequestResend
	default:
		return RequestSetAside
	}
}
