// Package web is Herald's HTTP surface: every route in routes.go, the
// page handlers grouped by surface, middleware, and the one place where
// errors become HTTP responses.
package web

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/subscribe"
)

// Store is what the pages read.
type Store interface {
	ListArticles(ctx context.Context, q article.Query) ([]article.Article, error)
	CountArticles(ctx context.Context, q article.Query) (int, error)
	GetArticle(ctx context.Context, slug string) (*article.Article, error)
	ListTags(ctx context.Context, now time.Time) ([]article.TagCount, error)
	GetTag(ctx context.Context, slug string) (article.Tag, error)
}

// Feeds serves the feed URLs (the feed package's cached handler).
type Feeds interface {
	SiteFeed(format string) http.Handler
	TagFeed(format string) http.Handler
}

// Site is what pages say about the site.
type Site struct {
	Title, Description, BaseURL, Language, Address string
	Location                                       *time.Location
}

// Config wires a Server.
type Config struct {
	Site      Site
	Store     Store
	Feeds     Feeds
	Templates fs.FS // templates.FS(dir)
	// Languages are the languages the subscriber pages offer
	// (site.languages; empty: every catalogue); Site.Language is the default.
	Languages  []string
	ContentDir string // served under /media/
	// Media serves uploads under /media/u/ (media.go); nil: none, and
	// /media/u/ still answers 404, never the content folder's u/.
	Media    MediaFiles
	PageSize int
	MaxItems int
	Logger   *slog.Logger
	Now      func() time.Time

	// MediaExclude are files and folders /media never serves even when
	// the content folder holds them: the store, its folder, the outbox.
	MediaExclude []string

	// Newsletters: whether to link /subscribe (the subscribe surface adds it).
	HasNewsletters bool
	// Archive, when set, serves /newsletters: every sent digest (archive.go).
	Archive Archive
	// NewsletterTitles names the newsletters by id for the archive.
	NewsletterTitles map[string]string
	// Embed configures the partner-site embed (/embed, /embed.js,
	// /embed/frame).
	Embed EmbedConfig
	// Extra registers routes of other surfaces (subscribe, embed, api) on
	// the mux; each surface lists its own routes in one function.
	Extra []func(*http.ServeMux)
	// ReadyChecks are what /readyz runs: name → check (nil error = ready).
	ReadyChecks map[string]func(context.Context) error
	// API enables the admin API under /api/v1 (api.go); nil: none.
	API *APIConfig
	// Admin enables the admin web UI under /admin/ (admin.go); nil: none.
	Admin *AdminConfig
	// Observer hears every request's route pattern, status and duration
	// (the metrics); nil: none.
	Observer RequestObserver
	// Metrics, if set, is served at GET /metrics on this listener: to
	// loopback clients only (clientIP) unless MetricsPublic.
	Metrics       http.Handler
	MetricsPublic bool // metrics.public
	// TrustedProxies (http.trusted_proxies) are the peers whose
	// X-Forwarded-For names the client (clientIP).
	TrustedProxies []netip.Prefix
	// Subscribe enables the subscriber pages (subscribe.go); nil: none.
	Subscribe *SubscribeConfig
	// AccessLog, if set, gets one line per request (log.access).
	AccessLog *AccessLog
	// ReadyWarnings, if set, are shown by /readyz under "warnings"
	// without making it fail (a run's bounce rate, say).
	ReadyWarnings func() map[string]string
	// BounceWebhook is the handler of POST /webhooks/bounces/{provider}
	// (bounces.webhooks), nil for a provider not configured; nil: no
	// webhooks.
	BounceWebhook func(provider string) http.Handler
}

// RequestObserver receives each request once it is served: the pattern
// the mux matched ("" when none did), the status and the time it took.
type RequestObserver interface {
	ObserveRequest(pattern string, status int, took time.Duration)
}

// Server is the HTTP handler for the whole site.
type Server struct {
	cfg   Config
	log   *slog.Logger
	pages atomic.Pointer[pageSet] // swapped by ReloadTemplates
	mux   *http.ServeMux
	ids   *requestIDs
	h     http.Handler // mux behind the middleware, built once
	// limiter limits subscribe requests per client IP.
	limiter *subscribe.Limiter
	embed   atomic.Pointer[embedAssets] // built with the templates
	admin   *adminUI                    // nil: no admin web UI
}

// New parses the page templates and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Site.Location == nil {
		cfg.Site.Location = time.UTC
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 20
	}
	s := &Server{cfg: cfg, log: cfg.Logger, ids: newRequestIDs()}
	if cfg.Admin != nil {
		s.admin = newAdminUI(s, *cfg.Admin)
	}
	if err := s.loadTemplates(); err != nil {
		return nil, err
	}
	s.mux = http.NewServeMux()
	s.routes(s.mux)
	for _, extra := range cfg.Extra {
		extra(s.mux)
	}
	s.h = s.middleware(s.mux)
	return s, nil
}

// ServeHTTP serves every route behind the common middleware.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.h.ServeHTTP(w, r)
}

// Error statuses: the one place errors become HTTP responses.
func statusOf(err error) int {
	if st := subscribeStatus(err); st != 0 {
		return st
	}
	if st := digestStatus(err); st != 0 {
		return st
	}
	if st := adminStatus(err); st != 0 {
		return st
	}
	if he, ok := newsroomError(err); ok {
		return he.Status
	}
	if st := mediaStatus(err); st != 0 {
		return st
	}
	var he *HTTPError
	switch {
	case errors.As(err, &he):
		return he.Status
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, context.Canceled):
		return 499 // client went away; nothing is written
	default:
		return http.StatusInternalServerError
	}
}

// HTTPError carries a status and a message safe to show; Field names the
// input field at fault, if any (the admin API reports it).
type HTTPError struct {
	Status int
	Msg    string
	Field  string
	Key    string // catalogue message for pages, when set (keyErr)
	Args   []any  // the message's arguments, name, value pairs
}

// keyErr is an HTTPError whose page text is the catalogue message key,
// in the reader's language; JSON answers carry it in English.
func keyErr(status int, key string, args ...any) error {
	return &HTTPError{Status: status, Msg: key, Key: key, Args: args}
}

func (e *HTTPError) Error() string { return fmt.Sprintf("%d %s", e.Status, e.Msg) }

// Errorf makes an HTTPError.
func Errorf(status int, format string, args ...any) error {
	return &HTTPError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// fail writes an error page for err in the reader's language.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.failIn(w, r, s.localizer(r), err)
}

// failIn writes an error page for err in l's language: a page whose
// address names its language (an archive issue's variant) keeps it.
func (s *Server) failIn(w http.ResponseWriter, r *http.Request, l *lang.Localizer, err error) {
	status := statusOf(err)
	if status == 499 {
		return
	}
	msg, key, args := http.StatusText(status), "", []any(nil)
	var he *HTTPError
	switch {
	case errors.As(err, &he):
		msg, key, args = he.Msg, he.Key, he.Args
	case publicMessage(err) != "":
		msg, key = publicMessage(err), publicKey(err)
	case status == http.StatusRequestEntityTooLarge:
		key = "error.too_large"
	case status == http.StatusNotFound:
		key = "error.not_found"
	case status >= 500:
		s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		key = "error.internal"
	}
	if wantsJSON(r) {
		if key != "" && publicMessage(err) == "" {
			msg = l.T(key, args...) // subscriber errors keep their English detail
		}
		writeJSON(w, status, map[string]any{"error": msg, "status": status, "request_id": RequestID(r.Context())})
		return
	}
	title := l.T("error.title")
	if t := l.T("status." + strconv.Itoa(status)); !strings.HasPrefix(t, "status.") {
		title = t
	}
	switch {
	case key != "":
		msg = l.T(key, args...)
	case he == nil:
		msg = title // no message of its own: the status says it
	}
	s.render(w, r, status, "error", &pageData{L: l, Title: title, Message: msg, RequestID: RequestID(r.Context())})
}

// failText is err's status and the message safe to show for it: an
// HTTPError's own, else public's (a surface's wording of its errors),
// else a generic one (notFound for 404). A 5xx is logged here.
func (s *Server) failText(r *http.Request, err error, public func(error) string, notFound string) (int, string) {
	status := statusOf(err)
	var he *HTTPError
	switch {
	case status == 499:
		return status, ""
	case errors.As(err, &he):
		return status, he.Msg
	case public(err) != "":
		return status, public(err)
	case status == http.StatusRequestEntityTooLarge:
		return status, "The request is too large."
	case status == http.StatusNotFound:
		return status, notFound
	case status >= 500:
		s.log.ErrorContext(r.Context(), "request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		return status, "Something went wrong on our side. Please try again in a moment."
	}
	return status, http.StatusText(status)
}
