package web

import (
	"context"
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/internal/subscribe"
)

// Subscriptions is what the subscriber pages need (subscribe.Service).
type Subscriptions interface {
	Newsletters() []subscribe.Newsletter
	ConsentText() string
	Subscribe(ctx context.Context, req subscribe.Request) error
	CheckConfirm(ctx context.Context, token string) (*subscribe.Subscriber, error)
	Confirm(ctx context.Context, token string) (*subscribe.Subscriber, error)
	CheckUnsubscribe(ctx context.Context, token string) (*subscribe.Unsubscription, error)
	Unsubscribe(ctx context.Context, token string, all bool) (*subscribe.Subscriber, error)
	Preferences(ctx context.Context, token string) (*subscribe.Subscriber, error)
	UpdatePreferences(ctx context.Context, token string, u subscribe.PreferencesUpdate) (*subscribe.Subscriber, bool, error)
	PreferencesURL(sub *subscribe.Subscriber) string
}

// SubscribeConfig wires the subscriber surface (docs/ARCHITECTURE.md,
// "HTTP surfaces").
type SubscribeConfig struct {
	Service       Subscriptions
	RatePerMinute int // subscribe.rate_per_minute per client IP; 0: no limit
	// Rates keeps the counts where every instance sees them; nil counts
	// in this process only.
	Rates          subscribe.RateStore
	AllowedOrigins []string // embed.allowed_origins: CORS for JSON subscribe requests
}

// maxSubscribeBody bounds every subscriber form and JSON body.
const maxSubscribeBody = 16 << 10

// subscribePages are the page templates of this surface; pageExtras lists
// files parsed along with a page (the subscribe block for the index).
var (
	subscribePages = []string{"subscribe", "notice", "confirm", "unsubscribe", "preferences"}
	pageExtras     = map[string][]string{
		"index":     {"pages/subscribe_form.html"},
		"subscribe": {"pages/subscribe_form.html"},
	}
)

// subscribeRoutes lists every route of the subscriber surface.
func (s *Server) subscribeRoutes(mux *http.ServeMux) {
	s.cfg.HasNewsletters = true
	s.limiter = subscribe.NewLimiter(s.cfg.Subscribe.RatePerMinute)
	if s.cfg.Subscribe.Rates != nil {
		s.limiter = subscribe.NewSharedLimiter(s.cfg.Subscribe.RatePerMinute, s.cfg.Subscribe.Rates, s.log)
	}
	mux.HandleFunc("GET /subscribe", s.handleSubscribeForm)
	mux.HandleFunc("POST /subscribe", s.handleSubscribe)
	mux.HandleFunc("OPTIONS /subscribe", s.handleSubscribePreflight)
	mux.HandleFunc("GET /subscribe/confirm", s.handleConfirmPage)
	mux.HandleFunc("POST /subscribe/confirm", s.handleConfirm)
	mux.HandleFunc("GET /unsubscribe", s.handleUnsubscribePage)
	mux.HandleFunc("POST /unsubscribe", s.handleUnsubscribe)
	mux.HandleFunc("GET /preferences", s.handlePreferencesPage)
	mux.HandleFunc("POST /preferences", s.handlePreferences)
}

type option struct {
	ID, Slug, Title, Name string
	Checked               bool
}

// subscribeForm is the data of the subscribe block.
type subscribeForm struct {
	Newsletters []option
	Multiple    bool
	Tags        []option
	Languages   []option // site.languages, the reader's preselected
	ConsentText string
	Email, Name string
	Error       string
}

func (s *Server) newSubscribeForm(ctx context.Context, l *lang.Localizer, chosenNL, chosenTags []string) *subscribeForm {
	svc := s.cfg.Subscribe.Service
	f := &subscribeForm{ConsentText: svc.ConsentText(), Languages: s.languageOptions(l.Lang())}
	nls := svc.Newsletters()
	f.Multiple = len(nls) > 1
	for _, n := range nls {
		checked := n.Default
		if len(chosenNL) > 0 {
			checked = slices.Contains(chosenNL, n.ID)
		}
		f.Newsletters = append(f.Newsletters, option{ID: n.ID, Title: n.Title, Checked: checked})
	}
	f.Tags = s.tagOptions(ctx, chosenTags)
	return f
}

// languageOptions lists site.languages for a chooser, each in its own
// language, chosen checked.
func (s *Server) languageOptions(chosen string) []option {
	var out []option
	for _, code := range s.catalog().Offered() {
		out = append(out, option{ID: code, Name: lang.Name(code), Checked: code == chosen})
	}
	return out
}

// tagOptions lists the site's tags (and any chosen tag no longer used) as
// checkboxes.
func (s *Server) tagOptions(ctx context.Context, chosen []string) []option {
	var out []option
	seen := map[string]bool{}
	tags, err := s.cfg.Store.ListTags(ctx, s.cfg.Now())
	if err != nil {
		s.log.WarnContext(ctx, "subscribe form: tags", "err", err)
	}
	for _, t := range tags {
		seen[t.Slug] = true
		out = append(out, option{Slug: t.Slug, Name: t.Name, Checked: slices.Contains(chosen, t.Slug)})
	}
	for _, c := range chosen {
		if !seen[c] {
			out = append(out, option{Slug: c, Name: c, Checked: true})
		}
	}
	return out
}

// addSubscribeForm gives the index page its subscribe block.
func (s *Server) addSubscribeForm(r *http.Request, name string, d *pageData) {
	if s.cfg.Subscribe == nil || d.Subscribe != nil || name != "index" {
		return
	}
	d.Subscribe = s.newSubscribeForm(r.Context(), d.L, nil, nil)
}

func (s *Server) handleSubscribeForm(w http.ResponseWriter, r *http.Request) {
	l := s.localizer(r)
	d := &pageData{L: l, Title: l.T("subscribe.title"), Canonical: s.abs("/subscribe"), Subscribe: s.newSubscribeForm(r.Context(), l, nil, nil)}
	s.render(w, r, http.StatusOK, "subscribe", d)
}

// wantsJSON: the client asked for a JSON answer or sent JSON.
func wantsJSON(r *http.Request) bool {
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/json" {
		return true
	}
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part)); mt == "application/json" {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}

// originAllowed reports whether origin may read JSON answers.
func (s *Server) originAllowed(origin string) (allow string, ok bool) {
	if origin == "" {
		return "", false
	}
	for _, o := range s.cfg.Subscribe.AllowedOrigins {
		if o == "*" {
			return "*", true
		}
		if strings.EqualFold(strings.TrimRight(o, "/"), origin) {
			return origin, true
		}
	}
	return "", false
}

func (s *Server) corsHeaders(w http.ResponseWriter, r *http.Request) bool {
	w.Header().Add("Vary", "Origin")
	allow, ok := s.originAllowed(r.Header.Get("Origin"))
	if ok {
		w.Header().Set("Access-Control-Allow-Origin", allow)
	}
	return ok
}

func (s *Server) handleSubscribePreflight(w http.ResponseWriter, r *http.Request) {
	if !s.corsHeaders(w, r) {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Accept")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// formPostAllowed: a cross-site subscribe post (a form on another site
// mailing confirmations in our name) is accepted only from an origin in
// embed.allowed_origins, unless that list holds "*". The browser says
// where a post comes from in Origin, or in Sec-Fetch-Site; a request with
// neither (curl, a server-side form) is not a browser's and passes.
func (s *Server) formPostAllowed(r *http.Request) bool {
	if slices.Contains(s.cfg.Subscribe.AllowedOrigins, "*") {
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		switch r.Header.Get("Sec-Fetch-Site") {
		case "", "same-origin", "none":
			return true
		}
		return false // cross-site or same-site, and no Origin to check
	}
	if u, err := url.Parse(origin); err == nil && u.Host != "" {
		if strings.EqualFold(u.Host, r.Host) || strings.EqualFold(origin, strings.TrimRight(s.siteOrigin(), "/")) {
			return true // our own form
		}
	}
	_, ok := s.originAllowed(origin)
	return ok
}

// siteOrigin is scheme://host of site.base_url.
func (s *Server) siteOrigin() string {
	u, err := url.Parse(s.cfg.Site.BaseURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// subscribeJSON is the JSON request body of POST /subscribe.
type subscribeJSON struct {
	Email       string   `json:"email"`
	Name        string   `json:"name"`
	Newsletters []string `json:"newsletters"`
	Tags        []string `json:"tags"`
	Language    string   `json:"language"`
	Website     string   `json:"website"` // the honeypot
}

// readSubscribeRequest reads a form (urlencoded or multipart) or JSON body.
func readSubscribeRequest(w http.ResponseWriter, r *http.Request) (subscribe.Request, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxSubscribeBody)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var j subscribeJSON
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&j); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return subscribe.Request{}, err
			}
			return subscribe.Request{}, Errorf(http.StatusBadRequest, "The request is not valid JSON: want {\"email\": \"…\"}.")
		}
		return subscribe.Request{Email: j.Email, Name: j.Name, Newsletters: j.Newsletters, Tags: j.Tags, Honeypot: j.Website, Language: j.Language}, nil
	}
	if err := parseForm(r); err != nil {
		return subscribe.Request{}, err
	}
	f := r.PostForm
	return subscribe.Request{Email: f.Get("email"), Name: f.Get("name"), Newsletters: f["newsletter"], Tags: f["tag"], Honeypot: f.Get("website"),
		Language: f.Get("language")}, nil
}

// parseForm parses an urlencoded or multipart body (within the size limit
// the caller set).
func parseForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	if ct == "multipart/form-data" {
		err = r.ParseMultipartForm(maxSubscribeBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return keyErr(http.StatusBadRequest, "error.form")
	}
	return nil
}

// consentSource names the form a request came from: its Referer (the page
// URL), else its Origin, else our own subscribe page.
func (s *Server) consentSource(r *http.Request) string {
	if ref := r.Header.Get("Referer"); ref != "" {
		return ref
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		return o
	}
	if wantsJSON(r) {
		return "api"
	}
	return s.abs("/subscribe")
}

func (s *Server) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	s.corsHeaders(w, r)
	w.Header().Set("Cache-Control", "no-store")
	if !s.formPostAllowed(r) {
		s.fail(w, r, keyErr(http.StatusForbidden, "error.cross_site"))
		return
	}
	ip := s.clientIP(r)
	if ok, retry := s.limiter.Allow(r.Context(), ip, s.cfg.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
		s.fail(w, r, keyErr(http.StatusTooManyRequests, "error.too_many"))
		return
	}
	req, err := readSubscribeRequest(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	req.IP = ip
	req.Source = s.consentSource(r)
	l := s.subscriberLocalizer(r, req.Language) // a language the form chose (a chooser, the form snippet's) answers in it
	if req.Language == "" && r.Header.Get("Accept-Language") != "" {
		req.Language = l.Lang() // a form without a chooser (the widget's): the browser's language
	}
	if req.Language == lang.Pseudo {
		req.Language = "" // the test pseudo-language is never stored
	}
	if err := s.cfg.Subscribe.Service.Subscribe(r.Context(), req); err != nil {
		if !wantsJSON(r) && statusOf(err) == http.StatusBadRequest {
			f := s.newSubscribeForm(r.Context(), l, req.Newsletters, req.Tags)
			f.Email, f.Name, f.Error = clipField(req.Email), clipField(req.Name), l.T(publicKey(err))
			if l.Lang() == "en" {
				f.Error = publicMessage(err) // the source language keeps the detail (which tag, which field)
			}
			s.render(w, r, http.StatusBadRequest, "subscribe", &pageData{L: l, Title: l.T("subscribe.title"), Subscribe: f})
			return
		}
		s.fail(w, r, err)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "message": l.T("subscribe.check")})
		return
	}
	s.render(w, r, http.StatusOK, "notice", &pageData{L: l, Title: l.T("subscribe.check_title"), Message: l.T("subscribe.check")})
}

// clipField bounds a value echoed back into the form.
func clipField(v string) string {
	if len(v) > 300 {
		v = strings.ToValidUTF8(v[:300], "")
	}
	return v
}

// token is the token of a link: from the query, else from the form.
func token(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	return r.PostFormValue("token")
}

func (s *Server) handleConfirmPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	tok := r.URL.Query().Get("token")
	sub, err := s.cfg.Subscribe.Service.CheckConfirm(r.Context(), tok)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.subscriberLocalizer(r, sub.ConfirmLanguage())
	s.render(w, r, http.StatusOK, "confirm", &pageData{L: l, Title: l.T("confirm.title"), Extra: struct{ Token string }{tok}})
}

func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxSubscribeBody)
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	sub, err := s.cfg.Subscribe.Service.Confirm(r.Context(), token(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.subscriberLocalizer(r, sub.Language)
	title, msg := l.T("confirm.done_title"), l.T("confirm.done")
	if sub.Status != subscribe.StatusActive {
		title, msg = l.T("confirm.gone_title"), l.T("confirm.gone")
	}
	s.render(w, r, http.StatusOK, "notice", &pageData{L: l, Title: title, Message: msg,
		Extra: noticeExtra{Link: &noticeLink{URL: s.cfg.Subscribe.Service.PreferencesURL(sub), Text: l.T("preferences.link")}}})
}

type noticeLink struct{ URL, Text string }

type noticeExtra struct{ Link *noticeLink }

type unsubscribePage struct {
	Email, Token, PreferencesURL string
	Newsletter                   *subscribe.Newsletter
}

func (s *Server) handleUnsubscribePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	tok := r.URL.Query().Get("token")
	u, err := s.cfg.Subscribe.Service.CheckUnsubscribe(r.Context(), tok)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.subscriberLocalizer(r, u.Subscriber.Language)
	s.render(w, r, http.StatusOK, "unsubscribe", &pageData{L: l, Title: l.T("unsubscribe.title"), Extra: unsubscribePage{
		Email: u.Subscriber.Email, Token: tok, Newsletter: u.Newsletter, PreferencesURL: s.cfg.Subscribe.Service.PreferencesURL(u.Subscriber)}})
}

// handleUnsubscribe takes the page's buttons and RFC 8058 one-click
// (body List-Unsubscribe=One-Click, urlencoded or multipart, no cookie, no
// CSRF token): 200 with a page, never a redirect.
func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxSubscribeBody)
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	all := r.PostFormValue("scope") == "all" && r.PostFormValue("List-Unsubscribe") != "One-Click"
	sub, err := s.cfg.Subscribe.Service.Unsubscribe(r.Context(), token(r), all)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.subscriberLocalizer(r, sub.Language)
	msg := l.T("unsubscribe.done_all")
	if len(sub.Newsletters) > 0 {
		msg = l.T("unsubscribe.done_one")
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"status": sub.Status, "newsletters": sub.Newsletters})
		return
	}
	s.render(w, r, http.StatusOK, "notice", &pageData{L: l, Title: l.T("unsubscribe.done_title"), Message: msg,
		Extra: noticeExtra{Link: &noticeLink{URL: s.cfg.Subscribe.Service.PreferencesURL(sub), Text: l.T("unsubscribe.changed_mind")}}})
}

type preferencesPage struct {
	Email, Name, Token string
	Status             subscribe.Status
	Newsletters        []option
	Tags               []option
	Languages          []option
}

func (s *Server) preferencesPage(ctx context.Context, l *lang.Localizer, sub *subscribe.Subscriber, tok string) preferencesPage {
	p := preferencesPage{Email: sub.Email, Name: sub.Name, Token: tok, Status: sub.Status, Tags: s.tagOptions(ctx, sub.Tags),
		Languages: s.languageOptions(l.Lang())}
	for _, n := range s.cfg.Subscribe.Service.Newsletters() {
		p.Newsletters = append(p.Newsletters, option{ID: n.ID, Title: n.Title, Checked: sub.Has(n.ID)})
	}
	return p
}

func (s *Server) handlePreferencesPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	tok := r.URL.Query().Get("token")
	sub, err := s.cfg.Subscribe.Service.Preferences(r.Context(), tok)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.subscriberLocalizer(r, sub.Language)
	s.render(w, r, http.StatusOK, "preferences", &pageData{L: l, Title: l.T("preferences.title"), Extra: s.preferencesPage(r.Context(), l, sub, tok)})
}

func (s *Server) handlePreferences(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxSubscribeBody)
	if err := parseForm(r); err != nil {
		s.fail(w, r, err)
		return
	}
	tok := token(r)
	u := subscribe.PreferencesUpdate{Name: r.PostFormValue("name"), Newsletters: r.PostForm["newsletter"], Tags: r.PostForm["tag"],
		IP: s.clientIP(r), Source: s.abs("/preferences"), Language: r.PostFormValue("language")}
	if r.PostFormValue("action") == "unsubscribe" {
		u.Newsletters = nil
	}
	sub, confirm, err := s.cfg.Subscribe.Service.UpdatePreferences(r.Context(), tok, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	l := s.subscriberLocalizer(r, sub.Language)
	if confirm {
		s.render(w, r, http.StatusOK, "notice", &pageData{L: l, Title: l.T("subscribe.check_title"), Message: l.T("subscribe.check")})
		return
	}
	msg := l.T("preferences.saved")
	if sub.Status == subscribe.StatusUnsubscribed {
		msg = l.T("preferences.saved_unsubscribed")
	}
	s.render(w, r, http.StatusOK, "preferences", &pageData{L: l, Title: l.T("preferences.title"), Message: msg, Extra: s.preferencesPage(r.Context(), l, sub, tok)})
}

// publicMessage is the text shown for a subscriber error: what the
// client got wrong, never internals.
func publicMessage(err error) string {
	switch {
	case errors.Is(err, subscribe.ErrExpiredToken):
		return "This confirmation link has expired. Please subscribe again to get a new one."
	case errors.Is(err, subscribe.ErrInvalidToken):
		return "This link is not valid. It may have been cut short: try copying the whole link from the mail."
	case errors.Is(err, subscribe.ErrInvalidEmail), errors.Is(err, subscribe.ErrInvalidInput), errors.Is(err, subscribe.ErrUnknownNewsletter),
		errors.Is(err, subscribe.ErrUnknownTag):
		msg := err.Error()
		return strings.ToUpper(msg[:1]) + msg[1:] + "."
	}
	return ""
}

// publicKey is the catalogue message shown on a page for a subscriber
// error (publicMessage's text in the reader's language).
func publicKey(err error) string {
	switch {
	case errors.Is(err, subscribe.ErrExpiredToken):
		return "error.expired"
	case errors.Is(err, subscribe.ErrInvalidToken):
		return "error.invalid_token"
	case errors.Is(err, subscribe.ErrInvalidEmail):
		return "error.invalid_email"
	case errors.Is(err, subscribe.ErrInvalidInput), errors.Is(err, subscribe.ErrUnknownNewsletter), errors.Is(err, subscribe.ErrUnknownTag):
		return "error.invalid_input"
	}
	return ""
}

// subscriberLocalizer speaks code, a language chosen for the reader (the
// one stored with the subscriber a link names, or a form's) if the site
// offers it, else the one the reader's browser asks
// for (and the pseudo-language whenever a test asks for it).
func (s *Server) subscriberLocalizer(r *http.Request, code string) *lang.Localizer {
	if s.catalog().Has(code) && r.Header.Get("Accept-Language") != lang.Pseudo {
		return s.catalog().L(code)
	}
	return s.localizer(r)
}

// subscribeStatus maps the subscriber errors for statusOf.
func subscribeStatus(err error) int {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, subscribe.ErrExpiredToken):
		return http.StatusGone
	case errors.Is(err, subscribe.ErrInvalidToken), errors.Is(err, subscribe.ErrInvalidEmail),
		errors.Is(err, subscribe.ErrInvalidInput), errors.Is(err, subscribe.ErrUnknownNewsletter),
		errors.Is(err, subscribe.ErrUnknownTag):
		return http.StatusBadRequest
	case errors.Is(err, subscribe.ErrRateLimited):
		return http.StatusTooManyRequests
	case errors.Is(err, subscribe.ErrSuppressed):
		return http.StatusConflict
	}
	return 0
}
