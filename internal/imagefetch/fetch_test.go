package imagefetch

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/imagefetch/imagefetchtest"
)

// pngBytes is a real PNG of w×h pixels.
func pngBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), uint8(x ^ y), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRefused(t *testing.T) {
	tests := []struct {
		ip, want string // want: a word of the reason; "" allowed
	}{
		{"127.0.0.1", "loopback"},
		{"127.8.9.10", "loopback"},
		{"::1", "loopback"},
		{"10.1.2.3", "private"},
		{"172.16.0.1", "private"},
		{"192.168.1.1", "private"},
		{"fd12:3456::1", "unique-local"},
		{"fc00::1", "unique-local"},
		{"169.254.169.254", "link-local"},
		{"fe80::1", "link-local"},
		{"0.0.0.0", "unspecified"},
		{"::", "unspecified"},
		{"::ffff:127.0.0.1", "loopback"},
		{"::ffff:10.0.0.1", "private"},
		{"64:ff9b::a00:1", "private"}, // NAT64 of 10.0.0.1
		{"100.64.1.1", "shared"},
		{"224.0.0.1", "link-local"},
		{"239.1.2.3", "multicast"},
		{"ff02::1", "link-local"},
		{"240.0.0.1", "reserved"},
		{"93.184.215.14", ""},
		{"8.8.8.8", ""},
		{"2606:4700:4700::1111", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			got := Refused(netip.MustParseAddr(tt.ip))
			if tt.want == "" && got != "" {
				t.Fatalf("Refused = %q, want allowed", got)
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("Refused = %q, want one naming %q", got, tt.want)
			}
		})
	}
}

// TestFetchRefusesInternal: with allow_private off, loopback, private and
// link-local addresses are refused when dialled, whether named by IP or
// by a host name that resolves to one, and no request reaches them.
func TestFetchRefusesInternal(t *testing.T) {
	srv := imagefetchtest.NewServer(t, pngBytes(t, 4, 4), "image/png")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	f := New(Options{Timeout: 5 * time.Second})
	defer f.Close()
	for _, u := range []string{
		srv.URL + "/a.png",
		"http://localhost:" + port + "/a.png",
		"http://[::1]:" + port + "/a.png",
		"http://10.0.0.1/a.png",
		"http://192.168.0.10:8080/a.png",
		"http://169.254.169.254/latest/meta-data/",
		"http://[fe80::1]/a.png",
		"http://0.0.0.0:" + port + "/a.png",
	} {
		t.Run(u, func(t *testing.T) {
			_, err := f.Fetch(context.Background(), u)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Fetch = %v, want ErrRefused", err)
			}
			if !strings.Contains(err.Error(), "content.images.allow_private") {
				t.Errorf("error %q does not name the setting", err)
			}
		})
	}
	if n := srv.Hits(); n != 0 {
		t.Fatalf("%d requests reached the loopback server", n)
	}
}

func TestFetchAllowPrivate(t *testing.T) {
	body := pngBytes(t, 40, 30)
	srv := imagefetchtest.NewServer(t, body, "application/octet-stream") // the type is sniffed, not believed
	f := New(Options{AllowPrivate: true})
	defer f.Close()
	img, err := f.Fetch(context.Background(), srv.URL+"/photo")
	if err != nil {
		t.Fatal(err)
	}
	if img.Type != "image/png" || !bytes.Equal(img.Data, body) || srv.Hits() != 1 {
		t.Fatalf("got %s, %d bytes, %d hits", img.Type, len(img.Data), srv.Hits())
	}
}

// TestFetchRedirectRechecked: a redirect to a refused address is refused
// when that hop is dialled. 127.0.0.2 stands for the refused address: the
// test narrows the rule so the first hop, on 127.0.0.1, is allowed.
func TestFetchRedirectRechecked(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 on this machine: %v", err)
	}
	var inner atomic.Int32
	target := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.Add(1)
		w.Write(pngBytes(t, 2, 2))
	}))
	target.Listener.Close()
	target.Listener = ln
	target.Start()
	defer target.Close()
	front := httptest.NewServer(http.RedirectHandler(target.URL+"/img.png", http.StatusFound))
	defer front.Close()

	f := New(Options{})
	defer f.Close()
	f.refused = func(ip netip.Addr) string {
		if ip == netip.MustParseAddr("127.0.0.2") {
			return "the test's refused address"
		}
		return ""
	}
	_, err = f.Fetch(context.Background(), front.URL+"/start")
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("Fetch = %v, want ErrRefused", err)
	}
	if inner.Load() != 0 {
		t.Fatal("the redirect target was reached")
	}
}

func TestFetchSizeCap(t *testing.T) {
	body := pngBytes(t, 64, 64)
	limit := int64(len(body) - 1)
	withLength := imagefetchtest.NewServer(t, body, "image/png")
	// Without Content-Length (streamed): the cap holds while reading.
	streamed := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		for i := 0; i < len(body); i += 100 {
			w.Write(body[i:min(i+100, len(body))])
			w.(http.Flusher).Flush()
		}
	}))
	defer streamed.Close()
	f := New(Options{AllowPrivate: true, MaxBytes: limit})
	defer f.Close()
	for _, u := range []string{withLength.URL, streamed.URL} {
		_, err := f.Fetch(context.Background(), u+"/big.png")
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "content.images.max_bytes") {
			t.Errorf("%s: Fetch = %v, want ErrTooLarge naming the setting", u, err)
		}
	}
	f = New(Options{AllowPrivate: true, MaxBytes: int64(len(body))})
	defer f.Close()
	if _, err := f.Fetch(context.Background(), streamed.URL+"/exact.png"); err != nil {
		t.Errorf("an image of exactly max_bytes: %v", err)
	}
}

func TestFetchErrors(t *testing.T) {
	html := imagefetchtest.NewServer(t, []byte("<!DOCTYPE html><html><body>Not found</body></html>"), "image/png")
	missing := httptest.NewServer(http.NotFoundHandler())
	defer missing.Close()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	f := New(Options{AllowPrivate: true, Timeout: 300 * time.Millisecond})
	defer f.Close()
	tests := []struct {
		name, url string
		is        error
		says      string
	}{
		{"NotImage", html.URL + "/a.png", ErrNotImage, "text/html"},
		{"Status", missing.URL + "/a.png", nil, "404 Not Found"},
		{"Timeout", slow.URL + "/a.png", context.DeadlineExceeded, "content.images.timeout"},
		{"Scheme", "ftp://example.org/a.png", nil, "http(s)"},
		{"Relative", "/images/a.png", nil, "http(s)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.Fetch(context.Background(), tt.url)
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Fetch = %v, want an error saying %q", err, tt.says)
			}
		})
	}
}
