package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
)

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestState is what the middleware keeps for one request, in one
// allocation: the context carrying the request id, the status capture,
// the id's bytes and the header value. The cached feed path is the
// busiest route; each allocation showed in its throughput.
type requestState struct {
	requestCtx
	sw  statusWriter
	hdr [1]string
	buf [40]byte
}

// requestCtx carries the request id (RequestID) without the allocation
// of context.WithValue.
type requestCtx struct {
	context.Context
	id string
}

func (c *requestCtx) Value(key any) any {
	if _, ok := key.(requestIDKey); ok {
		return c.id
	}
	return c.Context.Value(key)
}

// middleware adds the headers every response carries, recovers panics and
// logs at debug level (feed traffic is too heavy to log at info).
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{}
		st.Context = r.Context()
		// The id's bytes live in st, which is never reused, so the string
		// may point at them.
		b := s.ids.append(st.buf[:0])
		st.id = unsafe.String(unsafe.SliceData(b), len(b))
		id := st.id
		st.hdr[0] = id
		r = r.WithContext(&st.requestCtx)
		st.sw.ResponseWriter = w
		sw := &st.sw
		h := w.Header()
		h["X-Request-Id"] = st.hdr[:]
		h["X-Content-Type-Options"] = nosniff // shared: net/http never mutates header values
		h["Referrer-Policy"] = referrerPolicy
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", slog.Any("panic", p), slog.String("path", r.URL.Path))
				if sw.status == 0 {
					http.Error(sw, "internal error", http.StatusInternalServerError)
				}
			}
			took := time.Since(start)
			if s.cfg.AccessLog != nil {
				s.logAccess(r, sw, start, took, id)
			}
			if s.cfg.Observer != nil {
				// The mux set r.Pattern on this very request when it matched.
				s.cfg.Observer.ObserveRequest(r.Pattern, sw.status, took)
			}
			// Guarded: building the attributes allocates even when debug is off.
			if s.log.Enabled(r.Context(), slog.LevelDebug) {
				s.log.DebugContext(r.Context(), "http", slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.Int("status", sw.status), slog.Int("bytes", sw.bytes), slog.Duration("took", took))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// logAccess writes the request's access log line; it does not allocate.
func (s *Server) logAccess(r *http.Request, sw *statusWriter, start time.Time, took time.Duration, id string) {
	e := accessEntry{at: start.Add(took), method: r.Method, route: r.Pattern, status: sw.status,
		bytes: sw.bytes, took: took, id: id}
	if e.status == 0 {
		e.status = http.StatusOK // the handler wrote nothing: net/http sends 200
	}
	e.ip, e.rawIP = s.clientAddr(r)
	s.cfg.AccessLog.write(&e)
}

var (
	nosniff        = []string{"nosniff"}
	referrerPolicy = []string{"strict-origin-when-cross-origin"}
)

type requestIDKey struct{}

// requestIDs makes ids from a random per-process prefix and a counter:
// unique across restarts, and no system call on the hot path.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs {
	var b [4]byte
	rand.Read(b[:])
	return &requestIDs{prefix: hex.EncodeToString(b[:]) + "-"}
}

// append appends the next id to b.
func (g *requestIDs) append(b []byte) []byte {
	b = append(b, g.prefix...)
	return strconv.AppendUint(b, g.n.Add(1), 36)
}

// RequestID is the id the middleware gave the request ("" outside one).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// LogHandler adds the request id to every record logged with a request's
// context, so one request's lines can be found together.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return l.Handler.Handle(ctx, r)
}

func (l logHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return logHandler{l.Handler.WithAttrs(as)}
}

func (l logHandler) WithGroup(name string) slog.Handler { return logHandler{l.Handler.WithGroup(name)} }

// clientIP is the client's address as text (see clientAddr): what rate
// limits, consent records and the loopback check of /metrics go by.
func (s *Server) clientIP(r *http.Request) string {
	a, raw := s.clientAddr(r)
	if !a.IsValid() {
		return raw
	}
	return a.String()
}

// clientAddr is the peer's address, or, when the peer is a trusted proxy,
// the last address in X-Forwarded-For that is not itself a trusted proxy;
// raw is the peer as given when it is not an IP address. It does not
// allocate: the access log asks it for every request.
func (s *Server) clientAddr(r *http.Request) (addr netip.Addr, raw string) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, host
	}
	peer = peer.Unmap()
	if !s.trusted(peer) {
		return peer, ""
	}
	// Hops from the nearest back, across repeated headers.
	values := r.Header["X-Forwarded-For"]
	for i := len(values) - 1; i >= 0; i-- {
		v := values[i]
		if v == "" {
			return peer, "" // an empty hop ends the trusted chain
		}
		for v != "" {
			hop := v
			if j := strings.LastIndexByte(v, ','); j >= 0 {
				hop, v = v[j+1:], v[:j]
			} else {
				v = ""
			}
			a, err := netip.ParseAddr(strings.TrimSpace(hop))
			if err != nil {
				return peer, ""
			}
			a = a.Unmap()
			if !s.trusted(a) {
				return a, ""
			}
			peer = a
		}
	}
	return peer, ""
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// loopbackOnly serves h to clients on this machine only (clientIP), and
// answers everyone else as if the route did not exist.
func (s *Server) loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, err := netip.ParseAddr(s.clientIP(r)); err != nil || !a.IsLoopback() {
			s.fail(w, r, keyErr(http.StatusNotFound, "error.not_found"))
			return
		}
		h.ServeHTTP(w, r)
	})
}
