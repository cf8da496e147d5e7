package web

import (
	"context"
	"io"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// AccessLog writes one line per request (log.access): time, method, the
// route pattern the mux matched, status, body bytes, duration, request id
// and the client IP (X-Forwarded-For only from http.trusted_proxies), in
// the shape of the other log lines (text or JSON). Lines are formatted
// into a reused buffer and appended to a pending buffer, so a request
// costs no allocation and no system call; Run writes the pending lines
// out every interval, sooner when the buffer is half full, and once more
// when it stops. A request never waits for the output: when the pending
// buffer is full because the output is slow or stuck, the line is dropped
// and counted (Dropped). Safe for concurrent use.
type AccessLog struct {
	out  io.Writer
	json bool
	max  int           // pending bytes beyond which lines are dropped
	kick chan struct{} // wakes Run when the buffer is half full

	mu      sync.Mutex // guards pending, line and the stamp; never held while writing out
	pending []byte
	line    []byte
	dropped atomic.Uint64
	// stamp is the time up to the second ("2006-01-02T15:04:05") of
	// stampSec: formatting a time was most of a line's cost, and a busy
	// second has thousands of lines.
	stampSec int64
	stamp    []byte

	outMu sync.Mutex // serialises writes to out
	spare []byte     // the buffer being written out, swapped with pending
}

// accessLogBuffer is how many bytes of lines wait for the output: about
// a second of lines at 10,000 requests per second.
const accessLogBuffer = 1 << 20

// NewAccessLog writes to out, as JSON objects if json is set, else as
// key=value text.
func NewAccessLog(out io.Writer, json bool) *AccessLog {
	return newAccessLog(out, json, accessLogBuffer)
}

func newAccessLog(out io.Writer, json bool, max int) *AccessLog {
	return &AccessLog{out: out, json: json, max: max, kick: make(chan struct{}, 1),
		pending: make([]byte, 0, max), spare: make([]byte, 0, max), line: make([]byte, 0, 256),
		stampSec: -1 << 63, stamp: make([]byte, 0, len(accessTime))}
}

// Dropped is how many lines were dropped because the output could not
// keep up (herald_access_log_dropped_total).
func (l *AccessLog) Dropped() uint64 { return l.dropped.Load() }

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

// Run writes the pending lines out every interval, and when the buffer
// is half full, until ctx ends, then once more.
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
		case <-l.kick:
			l.Flush()
		}
	}
}

// Flush writes out the pending lines. Requests keep appending to the
// other buffer meanwhile. Lines whose write failed are not retried, so
// logging resumes when the output recovers.
func (l *AccessLog) Flush() error {
	l.outMu.Lock()
	defer l.outMu.Unlock()
	l.mu.Lock()
	l.pending, l.spare = l.spare[:0], l.pending
	l.mu.Unlock()
	if len(l.spare) == 0 {
		return nil
	}
	_, err := l.out.Write(l.spare) // whole lines: other log lines go to the same output
	l.spare = l.spare[:0]
	return err
}

func (l *AccessLog) write(e *accessEntry) {
	l.mu.Lock()
	b := l.line[:0]
	if l.json {
		b = l.appendJSON(b, e)
	} else {
		b = l.appendText(b, e)
	}
	l.line = b
	if len(l.pending)+len(b) > l.max {
		l.mu.Unlock()
		l.dropped.Add(1)
		l.wake()
		return
	}
	l.pending = append(l.pending, b...)
	half := len(l.pending) >= l.max/2
	l.mu.Unlock()
	if half {
		l.wake()
	}
}

func (l *AccessLog) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

const accessTime = "2006-01-02T15:04:05.000Z07:00"

// appendTime appends t in UTC as accessTime formats it, from the cached
// stamp of its second; l.mu is held.
func (l *AccessLog) appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	if sec := t.Unix(); sec != l.stampSec {
		l.stampSec = sec
		l.stamp = t.Truncate(time.Second).AppendFormat(l.stamp[:0], "2006-01-02T15:04:05")
	}
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, l.stamp...)
	return append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z')
}

// appendMillis appends d in milliseconds with three decimals, as
// strconv.AppendFloat(b, ms, 'f', 3, 64) does but in integers.
func appendMillis(b []byte, d time.Duration) []byte {
	if d < 0 {
		b, d = append(b, '-'), -d
	}
	us := (d + time.Microsecond/2) / time.Microsecond
	b = strconv.AppendInt(b, int64(us/1000), 10)
	f := us % 1000
	return append(b, '.', byte('0'+f/100), byte('0'+f/10%10), byte('0'+f%10))
}

func (l *AccessLog) appendText(b []byte, e *accessEntry) []byte {
	b = append(b, "time="...)
	b = l.appendTime(b, e.at)
	b = append(b, " level=INFO msg=access method="...)
	b = appendTextValue(b, e.method)
	b = append(b, " route="...)
	b = appendTextValue(b, e.route)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, int64(e.bytes), 10)
	b = append(b, " duration_ms="...)
	b = appendMillis(b, e.took)
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
	b = l.appendTime(b, e.at)
	b = append(b, `","level":"INFO","msg":"access","method":`...)
	b = appendJSONString(b, e.method)
	b = append(b, `,"route":`...)
	b = appendJSONString(b, e.route)
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, `,"bytes":`...)
	b = strconv.AppendInt(b, int64(e.bytes), 10)
	b = append(b, `,"duration_ms":`...)
	b = appendMillis(b, e.took)
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
