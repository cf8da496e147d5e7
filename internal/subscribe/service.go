package subscribe

import (
	"context"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/templates"
)

// Store is what subscribe needs from the store (the SQLite store has it).
type Store interface {
	QueueSubscription(ctx context.Context, email string, c Choice, now time.Time) error
	TakeConfirmations(ctx context.Context, email string, lim ConfirmLimits, now time.Time) ([]*Subscriber, error)
	ConfirmMailFailed(ctx context.Context, id int64, now time.Time) error
	UnknownTags(ctx context.Context, tags []string) ([]string, error)
	MarkConfirmSent(ctx context.Context, id int64, now time.Time) error
	ConfirmSubscriber(ctx context.Context, id int64, now time.Time) (*Subscriber, bool, error)
	Unsubscribe(ctx context.Context, id int64, newsletter string, now time.Time) (*Subscriber, error)
	UpdatePreferences(ctx context.Context, id int64, name string, newsletters, tags []string, now time.Time) (*Subscriber, error)
	UpsertActive(ctx context.Context, email string, c Choice, now time.Time) (*Subscriber, bool, error)
	GetSubscriber(ctx context.Context, id int64) (*Subscriber, error)
	SubscriberByEmail(ctx context.Context, email string) (*Subscriber, error)
	DeleteUnconfirmed(ctx context.Context, cutoff time.Time) (int64, error)
	ListSubscribers(ctx context.Context, f Filter) ([]*Subscriber, error)
	EraseSubscriber(ctx context.Context, email string, now time.Time) error
	ImportSubscribers(ctx context.Context, subs []*Subscriber, now time.Time) ([]bool, error)
	SubscriberDeliveries(ctx context.Context, id int64) ([]Delivery, error)
	SetLanguage(ctx context.Context, id int64, language string, now time.Time) error
	// SubscribersExist reports, for each address, whether a subscriber
	// has it (ignoring case): an import plan's "already present".
	SubscribersExist(ctx context.Context, emails []string) ([]bool, error)
	SearchStore
}

// Mail is one message subscribe sends: a confirmation or a welcome. The
// Mailer turns it into bytes (From, Date and Message-ID are its business)
// and must encode every field for its header; subscribe guarantees none
// holds CR, LF or NUL.
type Mail struct {
	Kind    string // "confirm" or "welcome"
	To      string // normalised address
	ToName  string
	Subject string
	Text    string
	HTML    string
	// List mail (the welcome): List-Id, List-Unsubscribe and, with an
	// https URL, List-Unsubscribe-Post (RFC 8058).
	ListID          string
	ListUnsubscribe string
	OneClick        bool
	Newsletter      string // the newsletter the mail is about, if one
}

// Mailer sends one Mail.
type Mailer interface {
	Send(ctx context.Context, m *Mail) error
}

// Config wires a Service.
type Config struct {
	BaseURL     string // site.base_url
	SiteTitle   string
	SiteAddress string // postal address for the mail footer
	SiteLogo    string // site.logo: absolute URL or site path; "": the title
	SiteAccent  string // site.accent: colour of links and buttons
	// SiteLocation is site.timezone: the confirmation mail's expiry is
	// told in the first chosen newsletter's zone, else in this one.
	SiteLocation   *time.Location
	Newsletters    []Newsletter
	ConfirmTTL     time.Duration
	ResendInterval time.Duration
	DomainPerHour  int // confirmation mails per recipient domain an hour; 0: no budget
	StoreIP        bool
	ConsentText    string
	Welcome        bool
	Templates      fs.FS // holds email/confirm.txt, .html, email/welcome.txt, .html
	// Languages (site.languages) and Language (site.language, the
	// default) pick the catalogue of each subscriber's mails.
	Languages []string
	Language  string
	Tokens    *Tokens
	Store     Store
	Mailer    Mailer
	Logger    *slog.Logger
	Now       func() time.Time
	// MailAfterAnswer records the request and sends the confirmation mail
	// of Subscribe after it has returned: before the answer there is only
	// the same queue write for every address, so how long the answer takes
	// says nothing about whether it was new, pending or active. Wait drains
	// those sends; serve calls it on shutdown.
	MailAfterAnswer bool
	// Suppression, if set, is the suppression list of bounced and
	// complained addresses: an import or a confirmed add does not
	// reactivate one; a confirmation by the person lifts it.
	Suppression Suppression
}

// Suppression is the suppression list as subscribe sees it, by address.
type Suppression interface {
	IsSuppressed(ctx context.Context, email string) (bool, error)
	Lift(ctx context.Context, email string) (bool, error)
}

// ErrSuppressed: the address bounced or complained and is on the
// suppression list; `herald suppressions remove` lifts it deliberately.
var ErrSuppressed = errors.New("the address is on the suppression list (it bounced or complained); lift it with herald suppressions remove")

// Service runs the subscriber flows for the web surface and the CLI.
type Service struct {
	cfg   Config
	mail  sync.WaitGroup // confirmation mails sent after answering
	log   *slog.Logger
	text  map[string]*texttemplate.Template
	html  map[string]*htmltemplate.Template
	lang  *lang.Catalog
	https bool
	host  string
}

// New checks cfg and parses the mail templates.
func New(cfg Config) (*Service, error) {
	if cfg.Tokens == nil || cfg.Store == nil || cfg.Mailer == nil {
		return nil, errors.New("subscribe: Tokens, Store and Mailer are required")
	}
	if len(cfg.Newsletters) == 0 {
		return nil, errors.New("subscribe: no newsletters configured")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ConfirmTTL <= 0 {
		cfg.ConfirmTTL = 7 * 24 * time.Hour
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("subscribe: base URL %q is not absolute", cfg.BaseURL)
	}
	s := &Service{cfg: cfg, log: cfg.Logger, https: u.Scheme == "https", host: u.Hostname(),
		text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	if s.lang, err = lang.Load(cfg.Templates, cfg.Languages, cfg.Language); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	for _, name := range []string{"confirm", "welcome"} {
		tt, err := texttemplate.ParseFS(cfg.Templates, "email/"+name+".txt")
		if err != nil {
			return nil, fmt.Errorf("templates: email/%s.txt: %w", name, err)
		}
		ht, err := htmltemplate.ParseFS(cfg.Templates, "email/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("templates: email/%s.html: %w", name, err)
		}
		// The partials the digest shares (masthead, button, footer).
		if layout, err := fs.ReadFile(cfg.Templates, "email/layout.html"); err == nil {
			if _, err := ht.New("layout.html").Parse(string(layout)); err != nil {
				return nil, fmt.Errorf("templates: email/layout.html: %w", err)
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("templates: email/layout.html: %w", err)
		}
		if tt.Lookup("subject") == nil {
			return nil, fmt.Errorf("templates: email/%s.txt must define \"subject\"", name)
		}
		s.text[name], s.html[name] = tt, ht
	}
	return s, nil
}

// Tokens returns the token signer.
func (s *Service) Tokens() *Tokens { return s.cfg.Tokens }

// PreferencesURL is the preferences link of sub.
func (s *Service) PreferencesURL(sub *Subscriber) string {
	return s.cfg.Tokens.PreferencesURL(s.cfg.BaseURL, sub.ID, sub.LinkSecret)
}

// Newsletters returns the configured newsletters.
func (s *Service) Newsletters() []Newsletter { return s.cfg.Newsletters }

// ConsentText is the text shown beside every subscribe form.
func (s *Service) ConsentText() string { return s.cfg.ConsentText }

// OneClick reports whether list mail carries List-Unsubscribe-Post: only
// with an https base URL (RFC 8058).
func (s *Service) OneClick() bool { return s.https }

// Newsletter returns the newsletter with id.
func (s *Service) Newsletter(id string) (Newsletter, bool) {
	for _, n := range s.cfg.Newsletters {
		if n.ID == id {
			return n, true
		}
	}
	return Newsletter{}, false
}

// Defaults are the ids of the newsletters marked default (the first
// newsletter when none is).
func (s *Service) Defaults() []string {
	var out []string
	for _, n := range s.cfg.Newsletters {
		if n.Default {
			out = append(out, n.ID)
		}
	}
	if len(out) == 0 {
		out = []string{s.cfg.Newsletters[0].ID}
	}
	return out
}

// checkNewsletters validates ids (empty: the defaults), sorted and unique.
func (s *Service) checkNewsletters(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return s.Defaults(), nil
	}
	var out []string
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if _, ok := s.Newsletter(id); !ok {
			if len(id) > 64 || !utf8.ValidString(id) {
				id = "?"
			}
			return nil, fmt.Errorf("%w %q", ErrUnknownNewsletter, id)
		}
		out = append(out, id)
	}
	if len(out) == 0 {
		return s.Defaults(), nil
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// cleanTags slugifies tags, dropping empty ones, within the
// bounds of every client tag list (article.TagSlugs), sorted.
func cleanTags(tags []string) ([]string, error) {
	out, err := article.TagSlugs(tags)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// checkTags cleans tags and refuses any that is not known: the slug of a
// tag of a stored article (any state) or a tag of a newsletter. An
// unknown tag would match no article, so every digest to the subscriber
// would be skipped. Tags in keep (those a subscriber already has) pass.
func (s *Service) checkTags(ctx context.Context, tags, keep []string) ([]string, error) {
	out, err := cleanTags(tags)
	if err != nil {
		return nil, err
	}
	var ask []string
	for _, t := range out {
		if !slices.Contains(keep, t) && !s.newsletterTag(t) {
			ask = append(ask, t)
		}
	}
	if len(ask) == 0 {
		return out, nil
	}
	unknown, err := s.cfg.Store.UnknownTags(ctx, ask)
	if err != nil {
		return nil, err
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w %q: choose among the topics the site offers", ErrUnknownTag, unknown[0])
	}
	return out, nil
}

func (s *Service) newsletterTag(slug string) bool {
	for _, n := range s.cfg.Newsletters {
		for _, t := range n.Tags {
			if article.Slugify(t) == slug {
				return true
			}
		}
	}
	return false
}

// Request is one subscribe request from a form, JSON or the CLI.
type Request struct {
	Email       string
	Name        string
	Newsletters []string // empty: the default ones
	Tags        []string
	IP          string // the client IP (kept only with store_ip)
	Source      string // the form's page URL, Origin or Referer; "cli"
	Honeypot    string // a field people leave empty; filled: pretend success
	Language    string // the language chosen on the form ("": keep, or the default)
}

// Languages returns the catalogues subscribers may choose from.
func (s *Service) Languages() *lang.Catalog { return s.lang }

// Subscribe handles a request: validate, record, and mail a confirmation
// link when one is due. Its result is the same whatever the address's
// state (no enumeration): nil, or a validation error about the input.
func (s *Service) Subscribe(ctx context.Context, req Request) error {
	email, err := NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	name, err := CleanName(req.Name)
	if err != nil {
		return err
	}
	nls, err := s.checkNewsletters(req.Newsletters)
	if err != nil {
		return err
	}
	tags, err := s.checkTags(ctx, req.Tags, nil)
	if err != nil {
		return err
	}
	if strings.TrimSpace(req.Honeypot) != "" {
		s.log.InfoContext(ctx, "subscribe: honeypot filled; ignored")
		return nil
	}
	now := s.cfg.Now().UTC()
	c := Choice{Name: name, Newsletters: nls, Tags: tags, Consent: Consent{At: now, Source: cleanSource(req.Source), Text: s.cfg.ConsentText}}
	if s.cfg.StoreIP {
		c.Consent.IP = req.IP
	}
	if c.Language, err = s.checkLanguage(req.Language); err != nil {
		return err
	}
	// The same single write for every address: what the address's state
	// means is worked out after the answer (MailAfterAnswer).
	if err := s.cfg.Store.QueueSubscription(ctx, email, c, now); err != nil {
		return err
	}
	if s.cfg.MailAfterAnswer {
		// The request may end before the mail is out; the send must not.
		bg := context.WithoutCancel(ctx)
		s.mail.Go(func() { s.SendConfirmations(bg, email) })
		return nil
	}
	s.SendConfirmations(ctx, email)
	return nil
}

// limits are the confirmation guards of the config.
func (s *Service) limits() ConfirmLimits {
	return ConfirmLimits{Resend: s.cfg.ResendInterval, DomainPerHour: s.cfg.DomainPerHour}
}

// SendConfirmations records the queued subscribe requests (of email, or
// all with "") and sends the confirmation mails the guards allow now;
// the rest stay queued for a later call (serve's background loop). It
// returns how many went out.
func (s *Service) SendConfirmations(ctx context.Context, email string) int {
	now := s.cfg.Now().UTC()
	subs, err := s.cfg.Store.TakeConfirmations(ctx, email, s.limits(), now)
	if err != nil {
		if ctx.Err() == nil {
			s.log.ErrorContext(ctx, "confirmation queue", slog.Any("err", err))
		}
		return 0
	}
	n := 0
	for _, sub := range subs {
		if s.confirmOrReset(ctx, sub, now) == nil {
			n++
		}
	}
	return n
}

// confirmOrReset sends the confirmation mail; when it fails, the guards
// are reset so the person can try again at once.
func (s *Service) confirmOrReset(ctx context.Context, sub *Subscriber, now time.Time) error {
	err := s.sendConfirm(ctx, sub, now)
	if err != nil {
		s.log.ErrorContext(ctx, "confirmation mail failed", slog.Int64("subscriber", sub.ID), slog.Any("err", err))
		if rerr := s.cfg.Store.ConfirmMailFailed(ctx, sub.ID, now); rerr != nil {
			s.log.ErrorContext(ctx, "reset confirmation guards", slog.Any("err", rerr))
		}
	}
	return err
}

// Wait returns when every confirmation mail sent after answering is out.
func (s *Service) Wait() { s.mail.Wait() }

// cleanSource keeps a consent source printable and short.
func cleanSource(src string) string {
	src = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(src, ""))
	if len(src) > 500 {
		src = src[:500]
		for !utf8.ValidString(src) {
			src = src[:len(src)-1]
		}
	}
	return src
}

// mailData is what the mail templates get.
type mailData struct {
	L                               *lang.Localizer // the subscriber's language
	NewsletterList                  string          // the titles, joined the language's way
	NewslettersHTML                 htmltemplate.HTML
	SiteTitle, SiteAddress, BaseURL string
	Name, Email                     string // Name: never in the confirmation mail (anyone can type it)
	ConfirmURL                      string
	Expires                         time.Time
	Newsletters                     []Newsletter
	PreferencesURL, UnsubscribeURL  string
	Brand                           templates.Brand // for email/layout.html's partials
}

// brand is the site's look for the shared mail partials.
func (s *Service) brand() templates.Brand {
	base := strings.TrimRight(s.cfg.BaseURL, "/")
	b := templates.Brand{Title: s.cfg.SiteTitle, URL: base + "/", Accent: s.cfg.SiteAccent, Address: s.cfg.SiteAddress}
	if b.Accent == "" {
		b.Accent = "#1a5fb4"
	}
	if l := s.cfg.SiteLogo; strings.HasPrefix(l, "/") && !strings.HasPrefix(l, "//") {
		b.LogoURL = base + l
	} else {
		b.LogoURL = l
	}
	return b
}

// expiryZone is where the confirmation mail tells the expiry: the zone of
// the first newsletter chosen, else site.timezone, else UTC.
func (s *Service) expiryZone(nls []string) *time.Location {
	if len(nls) > 0 {
		if n, ok := s.Newsletter(nls[0]); ok && n.Location != nil {
			return n.Location
		}
	}
	if s.cfg.SiteLocation != nil {
		return s.cfg.SiteLocation
	}
	return time.UTC
}

func (s *Service) newslettersOf(ids []string) []Newsletter {
	var out []Newsletter
	for _, id := range ids {
		if n, ok := s.Newsletter(id); ok {
			out = append(out, n)
		}
	}
	return out
}

// checkLanguage accepts an offered language ("de-AT" becomes "de"); ""
// stays "".
func (s *Service) checkLanguage(code string) (string, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return "", nil
	}
	if !s.lang.Has(code) {
		return "", fmt.Errorf("%w: %w %q is not offered (site.languages)", ErrInvalidInput, ErrUnknownLanguage, code)
	}
	return s.lang.Resolve(code), nil
}

// localize fills d's language fields for sub's language.
func (s *Service) localize(d *mailData, code string) {
	d.L = s.lang.L(code)
	var titles, strong []string
	for _, n := range d.Newsletters {
		titles = append(titles, n.Title)
		strong = append(strong, "<strong>"+htmltemplate.HTMLEscapeString(n.Title)+"</strong>")
	}
	d.NewsletterList = d.L.List(titles)
	d.NewslettersHTML = htmltemplate.HTML(d.L.List(strong))
}

func (s *Service) compose(kind string, d *mailData) (subject, text, html string, err error) {
	var b strings.Builder
	if err := s.text[kind].ExecuteTemplate(&b, "subject", d); err != nil {
		return "", "", "", fmt.Errorf("email/%s.txt subject: %w", kind, err)
	}
	subject = strings.Join(strings.Fields(b.String()), " ")
	b.Reset()
	if err := s.text[kind].Execute(&b, d); err != nil {
		return "", "", "", fmt.Errorf("email/%s.txt: %w", kind, err)
	}
	text = strings.TrimLeft(b.String(), "\r\n")
	b.Reset()
	if err := s.html[kind].Execute(&b, d); err != nil {
		return "", "", "", fmt.Errorf("email/%s.html: %w", kind, err)
	}
	return subject, text, b.String(), nil
}

// sendConfirm mails sub the confirmation link. The name is left out of
// the mail and its To header: it is whatever the requester typed, and the
// address has not agreed to anything yet (it is used once confirmed).
func (s *Service) sendConfirm(ctx context.Context, sub *Subscriber, now time.Time) error {
	nls := sub.Newsletters
	if sub.Pending != nil {
		nls = sub.Pending.Newsletters
	}
	expires := now.Add(s.cfg.ConfirmTTL)
	d := &mailData{SiteTitle: s.cfg.SiteTitle, SiteAddress: s.cfg.SiteAddress, BaseURL: s.cfg.BaseURL, Brand: s.brand(),
		Email: sub.Email, Expires: expires.In(s.expiryZone(nls)), Newsletters: s.newslettersOf(nls),
		ConfirmURL: s.cfg.Tokens.ConfirmURL(s.cfg.BaseURL, sub.ID, sub.LinkSecret, expires)}
	s.localize(d, sub.ConfirmLanguage())
	subject, text, html, err := s.compose("confirm", d)
	if err != nil {
		return err
	}
	return s.cfg.Mailer.Send(ctx, &Mail{Kind: "confirm", To: sub.Email, Subject: subject, Text: text, HTML: html})
}

// ListID is the List-Id value of newsletter n: its title (when plain
// ASCII) and <id.host>.
func (s *Service) ListID(n Newsletter) string {
	id := "<" + n.ID + "." + s.host + ">"
	for i := 0; i < len(n.Title); i++ {
		if c := n.Title[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return id
		}
	}
	if n.Title == "" {
		return id
	}
	return `"` + n.Title + `" ` + id
}

// sendWelcome mails an active subscriber the welcome: list mail with the
// List-Unsubscribe headers, so the one-click path works before any digest.
func (s *Service) sendWelcome(ctx context.Context, sub *Subscriber) error {
	nl := ""
	listNL := s.cfg.Newsletters[0]
	if len(sub.Newsletters) == 1 {
		nl = sub.Newsletters[0]
	}
	if len(sub.Newsletters) > 0 {
		if n, ok := s.Newsletter(sub.Newsletters[0]); ok {
			listNL = n
		}
	}
	unsub := s.cfg.Tokens.UnsubscribeURL(s.cfg.BaseURL, sub.ID, sub.LinkSecret, nl)
	d := &mailData{SiteTitle: s.cfg.SiteTitle, SiteAddress: s.cfg.SiteAddress, BaseURL: s.cfg.BaseURL, Brand: s.brand(),
		Name: sub.Name, Email: sub.Email, Newsletters: s.newslettersOf(sub.Newsletters),
		PreferencesURL: s.cfg.Tokens.PreferencesURL(s.cfg.BaseURL, sub.ID, sub.LinkSecret), UnsubscribeURL: unsub}
	s.localize(d, sub.Language)
	subject, text, html, err := s.compose("welcome", d)
	if err != nil {
		return err
	}
	return s.cfg.Mailer.Send(ctx, &Mail{Kind: "welcome", To: sub.Email, ToName: sub.Name, Subject: subject, Text: text, HTML: html,
		ListID: s.ListID(listNL), ListUnsubscribe: unsub, OneClick: s.https, Newsletter: nl})
}

// row looks subscribers up for token verification.
func (s *Service) row(ctx context.Context) RowFunc {
	return func(id int64) (*Subscriber, error) { return s.cfg.Store.GetSubscriber(ctx, id) }
}

// CheckConfirm verifies a confirmation token without changing anything
// (GET shows a button; mail scanners prefetch links) and returns the
// subscriber it names, whose language the page speaks.
func (s *Service) CheckConfirm(ctx context.Context, token string) (*Subscriber, error) {
	return s.cfg.Tokens.VerifyConfirm(token, s.cfg.Now(), s.row(ctx))
}

// Confirm confirms the subscriber the token names and, when that changed
// something and subscribe.welcome is on, sends the welcome mail. An
// address already active, or a link used twice, is not an error.
func (s *Service) Confirm(ctx context.Context, token string) (*Subscriber, error) {
	cur, err := s.cfg.Tokens.VerifyConfirm(token, s.cfg.Now(), s.row(ctx))
	if err != nil {
		return nil, err
	}
	sub, changed, err := s.cfg.Store.ConfirmSubscriber(ctx, cur.ID, s.cfg.Now().UTC())
	if err != nil {
		return nil, err
	}
	if changed && s.cfg.Suppression != nil {
		// The person asked again and confirmed: that lifts a suppression.
		if lifted, err := s.cfg.Suppression.Lift(ctx, sub.Email); err != nil {
			return nil, err
		} else if lifted {
			s.log.InfoContext(ctx, "suppression lifted by a confirmed subscription", slog.Int64("subscriber", sub.ID))
		}
	}
	if changed && s.cfg.Welcome {
		if err := s.sendWelcome(ctx, sub); err != nil {
			s.log.ErrorContext(ctx, "welcome mail failed", slog.Int64("subscriber", sub.ID), slog.Any("err", err))
		}
	}
	return sub, nil
}

// Unsubscription is what an unsubscribe link names.
type Unsubscription struct {
	Subscriber *Subscriber
	Newsletter *Newsletter // nil: every newsletter
}

// CheckUnsubscribe reads an unsubscribe token for the page GET shows.
func (s *Service) CheckUnsubscribe(ctx context.Context, token string) (*Unsubscription, error) {
	sub, nl, err := s.cfg.Tokens.VerifyUnsubscribe(token, s.row(ctx))
	if err != nil {
		return nil, err
	}
	u := &Unsubscription{Subscriber: sub}
	if n, ok := s.Newsletter(nl); ok {
		u.Newsletter = &n
	}
	return u, nil
}

// Unsubscribe acts on an unsubscribe token: from the newsletter it names,
// or from everything when all is set (or the token names none).
func (s *Service) Unsubscribe(ctx context.Context, token string, all bool) (*Subscriber, error) {
	cur, nl, err := s.cfg.Tokens.VerifyUnsubscribe(token, s.row(ctx))
	if err != nil {
		return nil, err
	}
	if all {
		nl = ""
	}
	return s.cfg.Store.Unsubscribe(ctx, cur.ID, nl, s.cfg.Now().UTC())
}

// Preferences returns the subscriber a preferences token names.
func (s *Service) Preferences(ctx context.Context, token string) (*Subscriber, error) {
	return s.cfg.Tokens.VerifyPreferences(token, s.row(ctx))
}

// PreferencesUpdate is a change from the preferences page.
type PreferencesUpdate struct {
	Name        string
	Newsletters []string // none: unsubscribe from everything
	Tags        []string
	IP, Source  string
	Language    string // "": unchanged
}

// UpdatePreferences applies u for the subscriber the token names. An
// unsubscribed (or bounced) subscriber choosing newsletters goes through
// opt-in again: nothing changes until they confirm, and confirm is true.
func (s *Service) UpdatePreferences(ctx context.Context, token string, u PreferencesUpdate) (sub *Subscriber, confirm bool, err error) {
	cur, err := s.cfg.Tokens.VerifyPreferences(token, s.row(ctx))
	if err != nil {
		return nil, false, err
	}
	name, err := CleanName(u.Name)
	if err != nil {
		return nil, false, err
	}
	var nls []string
	if len(u.Newsletters) > 0 {
		if nls, err = s.checkNewsletters(u.Newsletters); err != nil {
			return nil, false, err
		}
	}
	tags, err := s.checkTags(ctx, u.Tags, cur.Tags)
	if err != nil {
		return nil, false, err
	}
	code, err := s.checkLanguage(u.Language)
	if err != nil {
		return nil, false, err
	}
	now := s.cfg.Now().UTC()
	if code != "" && code != cur.Language {
		if err := s.cfg.Store.SetLanguage(ctx, cur.ID, code, now); err != nil {
			return nil, false, err
		}
	}
	if (cur.Status == StatusUnsubscribed || cur.Status == StatusBounced) && len(nls) > 0 {
		c := Choice{Name: name, Newsletters: nls, Tags: tags, Language: code, Consent: Consent{At: now, Source: cleanSource(u.Source), Text: s.cfg.ConsentText}}
		if s.cfg.StoreIP {
			c.Consent.IP = u.IP
		}
		if err := s.cfg.Store.QueueSubscription(ctx, cur.Email, c, now); err != nil {
			return nil, false, err
		}
		s.SendConfirmations(ctx, cur.Email)
		sub, err := s.cfg.Store.GetSubscriber(ctx, cur.ID)
		return sub, true, err
	}
	if cur.Status == StatusUnsubscribed || cur.Status == StatusBounced {
		return cur, false, nil
	}
	sub, err = s.cfg.Store.UpdatePreferences(ctx, cur.ID, name, nls, tags, now)
	return sub, false, err
}

// Cleanup deletes pending subscribers who did not confirm within twice
// subscribe.confirm_ttl of their last confirmation mail.
func (s *Service) Cleanup(ctx context.Context) (int64, error) {
	return s.cfg.Store.DeleteUnconfirmed(ctx, s.cfg.Now().Add(-2*s.cfg.ConfirmTTL))
}

// RunCleanup runs Cleanup now and then every interval, and sends the
// confirmation mails a guard held back (SendConfirmations) every queue
// interval, until ctx ends.
func (s *Service) RunCleanup(ctx context.Context, every, queue time.Duration) {
	t := time.NewTicker(min(every, queue))
	defer t.Stop()
	var last time.Time
	for {
		if now := time.Now(); now.Sub(last) >= every {
			last = now
			n, err := s.Cleanup(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				s.log.ErrorContext(ctx, "cleanup of unconfirmed subscribers failed", slog.Any("err", err))
			case n > 0:
				s.log.InfoContext(ctx, "deleted unconfirmed subscribers", slog.Int64("count", n))
			}
		}
		if n := s.SendConfirmations(ctx, ""); n > 0 {
			s.log.InfoContext(ctx, "sent deferred confirmation mails", slog.Int("count", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
