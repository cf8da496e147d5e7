package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/media"
	"github.com/herald-news/herald/internal/newsroom"
	"github.com/herald-news/herald/internal/store"
)

// APIStore is what the admin API needs of the article store: what the
// newsroom writes with, and the admin list.
type APIStore interface {
	newsroom.Store
	ListAllArticles(ctx context.Context, f article.ListFilter) ([]article.Article, error)
	CountAllArticles(ctx context.Context, f article.ListFilter) (int, error)
}

// APIToken is one bearer token of the admin API; Name says who used it
// in the log. Several may be valid at once, so a token can be rotated.
type APIToken struct {
	Name, Token string
}

// APIConfig wires the admin API (/api/v1). Without a non-empty token the
// API is off: every /api/v1 URL answers 404, never open.
type APIConfig struct {
	Tokens  []APIToken
	Store   APIStore
	Parser  *article.Parser // the content folder's parser: API articles are validated and sanitised as files are
	MaxBody int64           // largest request body in bytes (default 1 MiB)
	// Subscribers enables /api/v1/subscribers…; nil: those answer 404.
	Subscribers APISubscribers
	// Digest enables /api/v1/newsletters/… and /api/v1/runs/…; nil: 404.
	Digest APIDigest
	// Suppressions enables /api/v1/suppressions…; nil: 404.
	Suppressions APISuppressions
	// Images keeps the remote image of an article written through the
	// API at once; nil: the content sync fetches it.
	Images newsroom.Images
	// Media enables /api/v1/media…; nil: 404. MaxUpload is
	// admin.max_upload, in bytes.
	Media     APIMedia
	MaxUpload int64
	// Audit keeps every successful write in the audit log; nil: only the
	// log line.
	Audit APIAudit
}

// APIAudit is the audit log the API writes to (the one internal/admin
// writes its users' actions to).
type APIAudit interface {
	AddAudit(ctx context.Context, e store.AuditEntry) (int64, error)
}

const defaultAPIMaxBody = 1 << 20

// api serves /api/v1: its routes are the table apiRoutes, which the
// OpenAPI document is built from and checked against.
type api struct {
	cfg    APIConfig
	log    *slog.Logger
	now    func() time.Time
	site   Site
	tokens []apiToken
	doc    []byte // the OpenAPI document, built once
	news   *newsroom.Service
	ip     func(*http.Request) string // the client's address (http.trusted_proxies applied)
}

// actor is who makes an API write, for the media service's audit entries:
// named as the newsroom names it ("token NAME"), so one token's uploads
// and article writes read alike in the audit log.
func (a *api) actor(r *http.Request) media.Actor {
	who := actorOf(r)
	return media.Actor{Email: who.Who(), IP: who.IP}
}

type apiToken struct {
	name string
	sum  [sha256.Size]byte
}

func newAPI(cfg APIConfig, site Site, log *slog.Logger, now func() time.Time, ip func(*http.Request) string) *api {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = defaultAPIMaxBody
	}
	if cfg.Parser == nil {
		cfg.Parser = article.NewParser(site.Location, nil)
	}
	a := &api{cfg: cfg, log: log, now: now, site: site, ip: ip,
		news: &newsroom.Service{Store: cfg.Store, Parser: cfg.Parser, Images: cfg.Images, Now: now, Log: log}}
	for _, t := range cfg.Tokens {
		if t.Token != "" {
			a.tokens = append(a.tokens, apiToken{name: t.Name, sum: sha256.Sum256([]byte(t.Token))})
		}
	}
	a.doc = openAPIDocument(site)
	return a
}

// apiHandler serves one API operation; the error it returns becomes the
// JSON error response (apiFail).
type apiHandler func(a *api, w http.ResponseWriter, r *http.Request) error

// handleFunc is how the API registers a pattern; tests record it.
type handleFunc func(pattern string, h http.Handler)

// register adds every route of apiRoutes, a 405 for other methods on
// their paths, and a JSON 404 for every other /api/v1 URL.
func (a *api) register(handle handleFunc) {
	allowed := map[string][]string{}
	var paths []string
	for _, rt := range apiRoutes() {
		handle(rt.Method+" "+rt.Path, a.wrap(rt))
		if _, ok := allowed[rt.Path]; !ok {
			paths = append(paths, rt.Path)
		}
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
		if rt.Method == http.MethodGet {
			allowed[rt.Path] = append(allowed[rt.Path], http.MethodHead)
		}
	}
	for _, p := range paths {
		allow := strings.Join(allowed[p], ", ")
		// A pattern without a method is less specific than those with one:
		// it only sees the methods the table does not list for the path.
		handle(p, a.guard("", func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return &HTTPError{Status: http.StatusMethodNotAllowed, Msg: fmt.Sprintf("%s is not allowed here; use %s", r.Method, allow)}
		}))
	}
	handle(apiPrefix+"/", a.guard("", func(w http.ResponseWriter, r *http.Request) error {
		return &HTTPError{Status: http.StatusNotFound, Msg: "no such API endpoint; see " + apiPrefix + "/openapi.json"}
	}))
}

const apiPrefix = "/api/v1"

// guard authenticates a request and turns a handler error into a JSON
// error response. Every write (any method but GET and HEAD) is logged
// with the name of the token that made it, refused ones too; a write that
// succeeded (2xx) of operation op is also kept in the audit log.
func (a *api) guard(op string, h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, err := a.authenticate(w, r)
		if err == nil {
			r = r.WithContext(context.WithValue(r.Context(), actorKey{}, newsroom.Actor{Token: name, IP: a.ip(r)}))
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			sw := &statusWriter{ResponseWriter: w}
			w = sw
			defer func() {
				if name == "" {
					name = "(none)"
				}
				a.log.InfoContext(r.Context(), "api write", slog.String("token", name), slog.String("method", r.Method),
					slog.String("path", r.URL.Path), slog.Int("status", sw.status))
				if op != "" && sw.status >= 200 && sw.status < 300 {
					a.audit(r, op)
				}
			}()
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			a.fail(w, r, err)
		}
	})
}

// actorKey keys the request's newsroom.Actor (the token's name and the
// client's address), set by guard once the token is known.
type actorKey struct{}

// actorOf is who makes the request, for revisions and the audit log.
func actorOf(r *http.Request) newsroom.Actor {
	a, _ := r.Context().Value(actorKey{}).(newsroom.Actor)
	return a
}

// audit records a successful write of operation op: who (the token), what
// (the operation and the path), when and from where. The write is done,
// so a failure here is logged, not answered.
func (a *api) audit(r *http.Request, op string) {
	if a.cfg.Audit == nil {
		return
	}
	by := actorOf(r)
	e := store.AuditEntry{At: a.now(), Email: by.Who(), Action: "api." + op, Detail: r.Method + " " + r.URL.Path, IP: by.IP}
	if _, err := a.cfg.Audit.AddAudit(context.WithoutCancel(r.Context()), e); err != nil {
		a.log.ErrorContext(r.Context(), "audit log write failed", slog.String("action", e.Action), slog.String("path", r.URL.Path), slog.Any("err", err))
	}
}

// wrap guards a route's handler.
func (a *api) wrap(rt apiRoute) http.Handler {
	h := rt.Handler
	return a.guard(rt.Doc.ID, func(w http.ResponseWriter, r *http.Request) error { return h(a, w, r) })
}

// errUnauthorized is a missing or wrong token; Msg says which.
func errUnauthorized(msg string) error {
	return &HTTPError{Status: http.StatusUnauthorized, Msg: msg}
}

// authenticate checks the bearer token against every configured token in
// constant time (digests, so lengths do not leak) and returns its name.
func (a *api) authenticate(w http.ResponseWriter, r *http.Request) (string, error) {
	if len(a.tokens) == 0 {
		return "", &HTTPError{Status: http.StatusNotFound, Msg: "the admin API is off: no admin.tokens configured"}
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
		return "", errUnauthorized("missing bearer token: send Authorization: Bearer TOKEN")
	}
	scheme, tok, _ := strings.Cut(h, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="herald"`)
		return "", errUnauthorized("wrong authorization scheme: send Authorization: Bearer TOKEN")
	}
	sum := sha256.Sum256([]byte(tok))
	match := -1
	for i := range a.tokens {
		if subtle.ConstantTimeCompare(sum[:], a.tokens[i].sum[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		w.Header().Set("WWW-Authenticate", `Bearer realm="herald", error="invalid_token"`)
		return "", errUnauthorized("invalid token")
	}
	return a.tokens[match].name, nil
}

// apiErrorBody is the JSON of every API error.
type apiErrorBody struct {
	Error apiErrorDetail `json:"error"`
}

type apiErrorDetail struct {
	Field     string `json:"field,omitempty"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// fail writes err as a JSON error; its status comes from statusOf, the
// one place errors become statuses.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	if he, ok := newsroomError(err); ok {
		err = he
	}
	status := statusOf(err)
	if status == 499 {
		return
	}
	d := apiErrorDetail{Message: http.StatusText(status), RequestID: RequestID(r.Context())}
	var he *HTTPError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		d.Message, d.Field = he.Msg, he.Field
	case errors.As(err, &mbe):
		d.Message = fmt.Sprintf("request body larger than %d bytes", mbe.Limit)
	case status == http.StatusBadGateway:
		// An upstream (the mail server) failed: its reply is the answer.
		a.log.WarnContext(r.Context(), "api request failed upstream", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		d.Message = err.Error()
	case status >= 500:
		a.log.ErrorContext(r.Context(), "api request failed", slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("err", err))
		d.Message = "internal error; the log has the details under this request_id"
	default:
		d.Message = err.Error()
	}
	writeAPIJSON(w, r, status, apiErrorBody{Error: d})
}

// writeAPIJSON sends v as JSON with its length; API answers are never cached.
func writeAPIJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"error":{"message":"internal error: response not encodable"}}`), http.StatusInternalServerError
	}
	b = append(b, '\n')
	writeAPIBytes(w, r, status, b)
}

func writeAPIBytes(w http.ResponseWriter, r *http.Request, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(b) //nolint:errcheck // the client went away
	}
}

// decodeAPIJSON reads one JSON object from a size-limited body into v:
// unknown fields, trailing data, a body over the limit and a non-JSON
// content type are errors with the status they deserve.
func (a *api) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return &HTTPError{Status: http.StatusUnsupportedMediaType, Msg: "send the body as application/json"}
		}
	}
	body := http.MaxBytesReader(w, r.Body, a.cfg.MaxBody)
	data, err := io.ReadAll(body)
	if err != nil {
		return err // *http.MaxBytesError: 413; else the client went away
	}
	return decodeStrict(data, v)
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields and anything after the value but white space. Its errors are
// 400 HTTPErrors naming the field when there is one.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	bad := func(field, format string, args ...any) error {
		return &HTTPError{Status: http.StatusBadRequest, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return bad("", "empty body: send a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return bad("", "malformed JSON: the body ends too early")
		case errors.As(err, &se):
			return bad("", "malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
		case errors.As(err, &te):
			if te.Field == "" {
				return bad("", "the body must be a JSON object, not %s", te.Value)
			}
			return bad(te.Field, "%s must be %s, not %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			return bad(f, "unknown field %q", f)
		default:
			return bad("", "malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad("", "trailing data after the JSON value")
	}
	return nil
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "int", "int64", "float64":
		return "a number"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "of another type"
}

// apiRoute is one operation of the admin API: registered on the mux and
// described in the OpenAPI document from this one entry.
type apiRoute struct {
	Method, Path string
	Handler      apiHandler
	Doc          apiOperation
}
