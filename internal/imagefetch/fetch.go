// Package imagefetch fetches remote article images for keeping
// (docs/ARCHITECTURE.md, "Remote images"): one GET with a time limit and
// a size cap, refusing private, loopback, link-local and other internal
// addresses when it dials, and accepting only image bytes.
package imagefetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Options configure a Fetcher (the config's content.images).
type Options struct {
	Timeout      time.Duration // the whole fetch, redirects and body included; 0: DefaultTimeout
	MaxBytes     int64         // the largest image accepted; 0: DefaultMaxBytes
	AllowPrivate bool          // fetch from internal addresses too (tests serve images over loopback)
}

// The defaults of content.images.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxBytes = 10 << 20
)

// maxRedirects bounds a redirect chain, each hop dialled and checked anew.
const maxRedirects = 5

// Errors a fetch can end in, for errors.Is; the messages say more.
var (
	ErrRefused  = errors.New("address refused")
	ErrTooLarge = errors.New("image too large")
	ErrNotImage = errors.New("not an image")
)

// Types are the content types a fetch accepts: what the media store can
// process.
var Types = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// Image is a fetched image.
type Image struct {
	Data []byte
	Type string // sniffed from the bytes, one of Types
}

// Fetcher fetches images. It is safe for concurrent use.
type Fetcher struct {
	opts   Options
	client *http.Client
	// refused decides which dialled addresses are refused; tests in this
	// package narrow it to prove the check runs on every redirect hop.
	refused func(netip.Addr) string
}

// New returns a Fetcher with its own HTTP client: no proxy from the
// environment (a proxy would dial for us, unchecked), the address check
// at dial time. The request's context bounds the whole exchange.
func New(o Options) *Fetcher {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	f := &Fetcher{opts: o, refused: Refused}
	if o.AllowPrivate {
		f.refused = func(netip.Addr) string { return "" }
	}
	d := &net.Dialer{Timeout: o.Timeout, Control: f.control}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 2,
		IdleConnTimeout:     30 * time.Second,
	}
	f.client = &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	return f
}

// Close drops the fetcher's idle connections.
func (f *Fetcher) Close() { f.client.CloseIdleConnections() }

// control runs after DNS resolution, before each connection: address is
// the IP actually dialled, so a name that resolves to an internal
// address (or starts to, DNS rebinding) is refused, on every redirect.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefused, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefused, address)
	}
	if why := f.refused(ip.WithZone("")); why != "" {
		return &refusedError{ip: ip.WithZone("").Unmap(), why: why}
	}
	return nil
}

type refusedError struct {
	ip  netip.Addr
	why string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("refused to fetch from %s, %s (content.images.allow_private permits it)", e.ip, e.why)
}

func (e *refusedError) Is(target error) bool { return target == ErrRefused }

// special are the IPv4 ranges outside the standard library's predicates
// that no public image lives at.
var special = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
}

// nat64 embeds an IPv4 address in IPv6 (RFC 6052): checked as that IPv4.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Refused says why ip is not to be fetched from ("" when it may be):
// loopback, private (RFC 1918, IPv6 unique-local), link-local,
// unspecified, multicast and the special ranges above. IPv4-mapped and
// NAT64 IPv6 addresses are judged as the IPv4 address they carry.
func Refused(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is6() && nat64.Contains(ip) {
		b := ip.As16()
		return Refused(netip.AddrFrom4([4]byte(b[12:])))
	}
	switch {
	case !ip.IsValid():
		return "an invalid address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		if ip.Is6() {
			return "a unique-local address"
		}
		return "a private address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsMulticast():
		return "a multicast address"
	}
	for _, s := range special {
		if s.p.Contains(ip) {
			return s.why
		}
	}
	return ""
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("more than %d redirects", maxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("redirected to a %s: URL", req.URL.Scheme)
	}
	return nil
}

// Fetch GETs rawURL (http or https) and returns its bytes if they are an
// image of one of Types no larger than MaxBytes, within Timeout.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Image, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("not an absolute http(s) URL")
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", strings.Join(Types, ", "))
	req.Header.Set("User-Agent", "Herald image fetcher")
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.explain(ctx, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the server answered %s", resp.Status)
	}
	if resp.ContentLength > f.opts.MaxBytes {
		return nil, f.tooLarge(fmt.Sprintf("%d bytes", resp.ContentLength))
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err != nil {
		return nil, f.explain(ctx, err)
	}
	if int64(len(data)) > f.opts.MaxBytes {
		return nil, f.tooLarge("more")
	}
	typ := http.DetectContentType(data)
	for _, t := range Types {
		if typ == t {
			return &Image{Data: data, Type: typ}, nil
		}
	}
	return nil, fmt.Errorf("%w: the bytes are %s (Content-Type %q); accepted are %s", ErrNotImage, typ,
		resp.Header.Get("Content-Type"), strings.Join(Types, ", "))
}

func (f *Fetcher) tooLarge(size string) error {
	return fmt.Errorf("%w: %s, the limit is %d bytes (content.images.max_bytes)", ErrTooLarge, size, f.opts.MaxBytes)
}

// explain turns a client error into one clear reason, without Go's
// "Get URL: dial tcp …" wrapping.
func (f *Fetcher) explain(ctx context.Context, err error) error {
	var re *refusedError
	var ne net.Error
	switch {
	case errors.As(err, &re):
		return re
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("no answer within %s (content.images.timeout): %w", f.opts.Timeout, context.DeadlineExceeded)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
