package feed

import (
	"errors"
	"net/http"
	"strings"
	"time"
)

// Site serves the site feed in format f (GET, HEAD, OPTIONS).
func (h *Handler) Site(f Format) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, f, "") })
}

// Tag serves the feed of the tag named by the path value "slug", as in
// the pattern "/tags/{slug}/feed.atom".
func (h *Handler) Tag(f Format) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := r.PathValue("slug")
		if slug == "" {
			http.Error(w, "no tag in the URL", http.StatusNotFound)
			return
		}
		h.serve(w, r, f, slug)
	})
}

// headerValues are header value slices built once per handler and shared
// by every response (never modified), so the hot path does not allocate.
type headerValues struct {
	allow, gzip, nosniff, anyOrigin, expose, maxAge, varyPreflight, zero []string
}

func newHeaderValues() headerValues {
	return headerValues{
		allow:         one("GET, HEAD, OPTIONS"),
		gzip:          one("gzip"),
		nosniff:       one("nosniff"),
		anyOrigin:     one("*"),
		expose:        one("ETag, Link"),
		maxAge:        one("86400"),
		varyPreflight: one("Origin, Access-Control-Request-Method, Access-Control-Request-Headers"),
		zero:          one("0"),
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, f Format, tag string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h.options(w, r)
		return
	default:
		w.Header()["Allow"] = h.hv.allow
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var e *entry
	result := CacheHit
	if r.URL.RawQuery == "" {
		// Hot path: a main variant, one map lookup.
		if snap := h.main.Load(); snap != nil {
			e = snap.entries[mainKey{f, tag}]
		}
	}
	if e == nil {
		v, err := parseQuery(Variant{Format: f, Tag: tag}, r.URL.RawQuery)
		if err == nil {
			v, err = v.normalize(h.opts.Items, h.opts.MaxItems)
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		// One feed, one URL: the self link must match the URL served, so
		// other spellings (?limit=20 when 20 is the default, tags out of
		// order, unknown parameters) redirect to the canonical one.
		if v.Tag != tag || v.query(h.opts.Items, v.Page) != r.URL.RawQuery {
			loc := v.path()
			if q := v.query(h.opts.Items, v.Page); q != "" {
				loc += "?" + q
			}
			h.cors(w, r)
			http.Redirect(w, r, loc, http.StatusMovedPermanently)
			return
		}
		if e, result, err = h.lookup(r.Context(), v); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	if h.opts.OnServe != nil {
		h.opts.OnServe(result)
	}
	h.write(w, r, e)
}

// write sends a cached entry: precomputed headers, Content-Length (so
// net/http does not fall back to chunked encoding), no rendering.
func (h *Handler) write(w http.ResponseWriter, r *http.Request, e *entry) {
	enc := identity
	if acceptsGzip(r.Header["Accept-Encoding"]) {
		enc = gzipped
	}
	hdr := w.Header()
	hdr["Content-Type"] = e.ctype
	hdr["Etag"] = e.etag[enc]
	hdr["Last-Modified"] = e.lastMod
	hdr["Cache-Control"] = h.cacheControl
	hdr["Vary"] = h.vary
	hdr["X-Content-Type-Options"] = h.hv.nosniff
	if e.link != nil {
		hdr["Link"] = e.link
	}
	h.cors(w, r)
	if notModified(r, e, enc) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr["Content-Length"] = e.length[enc]
	if enc == gzipped {
		hdr["Content-Encoding"] = h.hv.gzip
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(e.body[enc]) //nolint:errcheck // the client went away; nothing to do
	}
}

// cors adds Access-Control-Allow-Origin per Options.AllowedOrigins.
func (h *Handler) cors(w http.ResponseWriter, r *http.Request) bool {
	hdr := w.Header()
	if h.anyOrigin {
		hdr["Access-Control-Allow-Origin"] = h.hv.anyOrigin
		hdr["Access-Control-Expose-Headers"] = h.hv.expose
		return true
	}
	if o := r.Header["Origin"]; len(o) == 1 && h.origins[o[0]] {
		hdr["Access-Control-Allow-Origin"] = o[:1:1]
		hdr["Access-Control-Expose-Headers"] = h.hv.expose
		return true
	}
	return false
}

// options answers OPTIONS, including CORS preflight requests (which a
// browser sends before a cross-origin GET with, say, If-None-Match).
func (h *Handler) options(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr["Allow"] = h.hv.allow
	if r.Header.Get("Access-Control-Request-Method") != "" {
		if !h.anyOrigin {
			hdr["Vary"] = h.hv.varyPreflight
		}
		if h.cors(w, r) {
			hdr["Access-Control-Allow-Methods"] = h.hv.allow
			if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
				hdr.Set("Access-Control-Allow-Headers", rh)
			}
			hdr["Access-Control-Max-Age"] = h.hv.maxAge
		}
	}
	hdr["Content-Length"] = h.hv.zero
	w.WriteHeader(http.StatusNoContent)
}

// status maps handler errors to HTTP status codes, in one place.
func status(err error) int {
	switch {
	case errors.Is(err, ErrUnknownTag), errors.Is(err, ErrNoSuchPage):
		return http.StatusNotFound
	case errors.Is(err, ErrBadVariant):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		h.opts.Logger.ErrorContext(r.Context(), "feed: render failed", "url", r.URL.String(), "err", err)
		msg = "internal error"
	}
	h.cors(w, r)
	http.Error(w, strings.TrimPrefix(msg, "feed: "), code)
}

// notModified evaluates the conditional headers of RFC 9110 §13.1:
// If-None-Match (weak comparison, lists, "*") and, only without it,
// If-Modified-Since.
func notModified(r *http.Request, e *entry, enc int) bool {
	if inm := r.Header["If-None-Match"]; len(inm) > 0 {
		etag := e.etag[enc][0]
		for _, line := range inm {
			for line != "" {
				var t string
				t, line, _ = strings.Cut(line, ",")
				t = strings.TrimSpace(t)
				if t == "*" || strings.TrimPrefix(t, "W/") == etag {
					return true
				}
			}
		}
		return false
	}
	ims := r.Header["If-Modified-Since"]
	if len(ims) == 0 {
		return false
	}
	if ims[0] == e.lastMod[0] {
		return true
	}
	t, err := http.ParseTime(ims[0])
	return err == nil && !e.modTime.After(t.Truncate(time.Second))
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip:
// listed (or x-gzip, or *) with a q-value above zero.
func acceptsGzip(values []string) bool {
	star := false
	for _, line := range values {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ",")
			coding, params, _ := strings.Cut(part, ";")
			coding = strings.TrimSpace(coding)
			ok := qPositive(params)
			switch {
			case strings.EqualFold(coding, "gzip"), strings.EqualFold(coding, "x-gzip"):
				return ok
			case coding == "*":
				star = ok
			}
		}
	}
	return star
}

// qPositive reports whether the parameters of one Accept-Encoding element
// leave its q-value above zero ("q=0", "q=0.0", "q=0.000" are zero).
func qPositive(params string) bool {
	for params != "" {
		var p string
		p, params, _ = strings.Cut(params, ";")
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		v = strings.TrimSpace(v)
		if v == "" {
			return true
		}
		if v[0] != '0' {
			return true
		}
		return strings.Trim(v[1:], ".0") != ""
	}
	return true
}
