package web

import (
	"bufio"
	"context"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// AccessLog writes one line per request (log.access): time, method, the
// route pattern the mux matched, status, body bytes, duration, request id
// and the client IP (X-Forwarded-For only from http.trusted_proxies), in
// the shape of the other log lines (text or JSON). Lines are formatted
// into a reused buffer and written through a bufio.Writer, so a request
// costs no allocation and no system call; Run flushes it every interval
// and once more when it stops. Safe for concurrent use.
type AccessLog struct {
	mu   sync.Mutex
	out  io.Writer
	w    *bufio.Writer
	line []byte
	json bool
}

// NewAccessLog writes to out, as JSON objects if json is set, else as
// key=value text.
func NewAccessLog(out io.Writer, json bool) *AccessLog {
	return &AccessLog{out: out, w: bufio.NewWriterSize(out, 64<<10), line: make([]byte, 0, 256), json: json}
}

// accessEntry is what the middleware knows of a finished request.
type accessEntry struct {
	at            time.Time
	method, route string
	status, bytes int
	took          time.Duration
	id            string
	ip            netip.Addr
	rawIP         string // the peer as given, when it is not an IP address
}

// Run flushes the buffer every interval until ctx ends, then once more.
func (l *AccessLog) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.Flush()
			return
		case <-t.C:
			l.Flush()
		}
	}
}

// Flush writes out what is buffered. After a failed write the buffer is
// dropped, so logging resumes when the output recovers.
func (l *AccessLog) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.w.Flush()
	if err != nil {
		l.w.Reset(l.out)
	}
	return err
}

func (l *AccessLog) write(e *accessEntry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.line[:0]
	if l.json {
		b = l.appendJSON(b, e)
	} else {
		b = l.appendText(b, e)
	}
	l.line = b
	// Whole lines per write: other log lines go to the same output.
	if len(b) > l.w.Available() && l.w.Buffered() > 0 {
		if err := l.w.Flush(); err != nil {
			l.w.Reset(l.out)
		}
	}
	l.w.Write(b) //nolint:errcheck // a failed write surfaces at Flush
}

const accessTime = "2006-01-02T15:04:05.000Z07:00"

func (l *AccessLog) appendText(b []byte, e *accessEntry) []byte {
	b = append(b, "time="...)
	b = e.at.UTC().AppendFormat(b, accessTime)
	b = append(b, " level=INFO msg=access method="...)
	b = appendTextValue(b, e.method)
	b = append(b, " route="...)
	b = appendTextValue(b, e.route)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, int64(e.bytes), 10)
	b = append(b, " duration_ms="...)
	b = strconv.AppendFloat(b, float64(e.took)/float64(time.Millisecond), 'f', 3, 64)
	b = append(b, " request_id="...)
	b = appendTextValue(b, e.id)
	b = append(b, " ip="...)
	if e.ip.IsValid() {
		b = e.ip.AppendTo(b)
	} else {
		b = appendTextValue(b, e.rawIP)
	}
	return append(b, '\n')
}

func (l *AccessLog) appendJSON(b []byte, e *accessEntry) []byte {
	b = append(b, `{"time":"`...)
	b = e.at.UTC().AppendFormat(b, accessTime)
	b = append(b, `","level":"INFO","msg":"access","method":`...)
	b = appendJSONString(b, e.method)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, e.route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(e.bytes), 10)
	b = append(b, `,"duration_ms":`...)
	b = strconv.AppendFloat(b, float64(e.took)/float64(time.Millisecond), 'f', 3, 64)
	b = append(b, `,"request_id":`...)
	b = appendJSONString(b, e.id)
	b = append(b, `,"ip":"`...)
	if e.ip.IsValid() {
		b = e.ip.AppendTo(b)
		b = append(b, '"')
	} else {
		b = appendJSONString(b[:len(b)-1], e.rawIP)
	}
	return append(b, "}\n"...)
}

// appendTextValue quotes s as slog's text handler does: when it is empty
// or holds a space, '=', '"' or a byte that is not printable ASCII.
func appendTextValue(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '=' || c == '"' || c >= 0x7f {
			return strconv.AppendQuote(b, s)
		}
	}
	if s == "" {
		return append(b, `""`...)
	}
	return append(b, s...)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
