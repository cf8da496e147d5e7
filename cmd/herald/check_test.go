package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckEveryProblem: check lists every problem of a file at once,
// unknown keys, bad values and failed checks, each with key and line.
func TestCheckEveryProblem(t *testing.T) {
	p := writeConfig(t, `site:
  colour: red
http:
  listen: nonsense
feed:
  items: 0
digest:
  lease: soon
newsletters:
  - id: weekly
    schedule: "0 9 * * 1"
  - title: No id
metrics:
  listen: "localhost:99999"
`)
	code, _, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		p + ":2: site.colour: unknown key",
		p + ":4: http.listen:",
		p + ":6: feed.items:",
		p + ":8: digest.lease:",
		p + ":10: newsletters[0].title: is required",
		p + ":12: newsletters[1].id: is required",
		p + ":14: metrics.listen:",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if n := len(strings.Split(strings.TrimSpace(stderr), "\n")); n != 7 {
		t.Errorf("%d lines, want 7 (one a problem):\n%s", n, stderr)
	}
}

func TestValidListen(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{":8080", true}, {"127.0.0.1:8080", true}, {"[::1]:8080", true}, {"localhost:8080", true}, {"news.example.org:443", true},
		{"nonsense", false}, {"localhost:99999", false}, {"127.0.0.1", false}, {"bad host!:80", false}, {":", false}, {"", false},
	} {
		if err := validListen(tt.addr); (err == nil) != tt.ok {
			t.Errorf("validListen(%q) = %v, want ok %v", tt.addr, err, tt.ok)
		}
	}
	_, err := LoadConfig("", map[string]string{"HERALD_HTTP_LISTEN": "nonsense"})
	if err == nil || !strings.Contains(err.Error(), "http.listen") || !strings.Contains(err.Error(), "HERALD_HTTP_LISTEN") {
		t.Errorf("from the environment: %v", err)
	}
}

// TestNewsletterDefaults: an entry needs id and title; default is false,
// timezone site.timezone, every other key the shipped value.
func TestNewsletterDefaults(t *testing.T) {
	p := writeConfig(t, "site:\n  timezone: Europe/Oslo\n  base_url: https://news.example.org\nnewsletters:\n  - id: weekly\n    title: Weekly\n")
	code, out, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
	if code != 0 || !strings.Contains(out, filepath.Base(p)+": ok\n") || stderr != "" {
		t.Fatalf("check: %d %q %q", code, out, stderr)
	}
	cfg, err := LoadConfig(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Newsletters[0]
	shipped := DefaultConfig().Newsletters[0]
	if got.Default || got.Timezone != "Europe/Oslo" || got.Schedule != shipped.Schedule || got.MaxArticles != shipped.MaxArticles ||
		got.FirstWindow.D() != 30*24*time.Hour || got.CatchUp.D() != 72*time.Hour || got.Subject != shipped.Subject || got.Tags == nil {
		t.Errorf("entry = %+v", got)
	}
}

// TestCheckWarnings: an http:// base URL with newsletters works but turns
// one-click unsubscribe off: check says so and still passes.
func TestCheckWarnings(t *testing.T) {
	p := writeConfig(t, "site:\n  base_url: http://news.example.org\n")
	code, out, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
	if code != 0 || !strings.Contains(out, "ok") || !strings.Contains(stderr, "warning: "+p+":2: site.base_url:") || !strings.Contains(stderr, "one-click") {
		t.Errorf("check: %d %q %q", code, out, stderr)
	}
	p = writeConfig(t, "site:\n  base_url: http://news.example.org\nnewsletters: []\n")
	if code, _, stderr := runCLI(t, map[string]string{}, "check", "--config", p); code != 0 || stderr != "" {
		t.Errorf("no newsletters, no warning: %d %q", code, stderr)
	}
}

// TestCheckDeliverability: check prints the checklist and the DNS records,
// the DKIM one computed from the key file exactly.
func TestCheckDeliverability(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	edDER, err := x509.MarshalPKCS8PrivateKey(ek)
	if err != nil {
		t.Fatal(err)
	}
	rsaTXT := "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(rsaPub)
	tests := []struct {
		name, pem, want string
	}{
		{"RSA", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER})),
			`herald._domainkey.example.org. TXT "` + rsaTXT[:255] + `" "` + rsaTXT[255:] + `"`},
		{"Ed25519", string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edDER})),
			`herald._domainkey.example.org. TXT "v=DKIM1; k=ed25519; p=` + base64.StdEncoding.EncodeToString(ek.Public().(ed25519.PublicKey)) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "dkim.pem")
			if err := os.WriteFile(key, []byte(tt.pem), 0o600); err != nil {
				t.Fatal(err)
			}
			p := writeConfig(t, "site:\n  base_url: https://news.example.org\nmail:\n  from: News <news@example.org>\n"+
				"  dkim:\n    domain: example.org\n    selector: herald\n    key_file: "+key+"\n"+
				"newsletters:\n  - id: monthly\n    title: Monthly\n    from: Other <x@other.example>\n    schedule: \"@monthly\"\n    timezone: UTC\n")
			code, out, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			for _, want := range []string{
				"  [ok]   DKIM signs as d=example.org, selector herald\n",
				"  [ok]   From domain example.org aligned with DKIM domain example.org",
				"  [todo] From domain other.example aligned with DKIM domain example.org",
				"  [ok]   site.base_url is https",
				"  [todo] bounce domain (mail.bounce.domain) set",
				"\n  " + tt.want + "\n",
				"\n  _dmarc.example.org. TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@example.org\"\n",
				"\n  example.org. TXT \"v=spf1 include:<your relay's SPF include> ~all\"\n",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	t.Run("ErrKey", func(t *testing.T) {
		p := writeConfig(t, "mail:\n  dkim:\n    domain: example.org\n    selector: herald\n    key_file: /nonexistent/dkim.pem\n")
		code, out, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
		if code != 1 || !strings.Contains(out, "[todo] DKIM key:") || !strings.Contains(stderr, "dkim.pem") {
			t.Errorf("unreadable key: %d %q %q", code, out, stderr)
		}
	})
	t.Run("OKBounceDomain", func(t *testing.T) {
		p := writeConfig(t, "site:\n  base_url: https://news.example.org\nmail:\n  from: News <news@example.org>\n  bounce:\n    domain: bounces.example.org\n")
		code, out, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		for _, want := range []string{
			"  [ok]   bounce domain (mail.bounce.domain) set",
			"\n  bounces.example.org. MX 10 <your MX host, which relays to mail.bounce.listen>.\n",
			"\n  bounces.example.org. TXT \"v=spf1 include:<your relay's SPF include> ~all\"\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("DKIMOff", func(t *testing.T) {
		p := writeConfig(t, "site:\n  base_url: http://news.example.org\n")
		code, out, _ := runCLI(t, map[string]string{}, "check", "--config", p)
		if code != 0 || !strings.Contains(out, "[todo] DKIM signing is off") || !strings.Contains(out, "[todo] site.base_url is https") ||
			strings.Contains(out, "_domainkey") {
			t.Errorf("DKIM off: %d %q", code, out)
		}
	})
}

// TestCheckLanguages: check names a message an offered language lacks,
// also one a templates.dir catalogue leaves out, and passes when the
// catalogues are complete.
func TestCheckLanguages(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "locales"), 0o755)
	// A new language with one message, and a Swedish fix of one word.
	os.WriteFile(filepath.Join(dir, "locales", "it.yaml"), []byte("subscribe.button: \"Iscriviti\"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "locales", "sv.yaml"), []byte("subscribe.button: \"Prenumerera nu\"\n"), 0o644)
	p := writeConfig(t, "site:\n  languages: [en, sv, it]\ntemplates:\n  dir: "+dir+"\n")
	code, _, stderr := runCLI(t, map[string]string{}, "check", "--config", p)
	if code != 1 || !strings.Contains(stderr, "locales/it.yaml: subscribe.email: missing") || strings.Contains(stderr, "locales/it.yaml: subscribe.button") ||
		strings.Contains(stderr, "locales/sv.yaml") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	p = writeConfig(t, "site:\n  languages: [en, sv]\ntemplates:\n  dir: "+dir+"\n")
	if code, _, stderr := runCLI(t, map[string]string{}, "check", "--config", p); code != 0 {
		t.Fatalf("complete catalogues: exit %d:\n%s", code, stderr)
	}
	p = writeConfig(t, "site:\n  languages: [en, pt]\n")
	if code, _, stderr := runCLI(t, map[string]string{}, "check", "--config", p); code != 1 || !strings.Contains(stderr, `"pt": no catalogue`) {
		t.Fatalf("unknown language: exit %d:\n%s", code, stderr)
	}
}
