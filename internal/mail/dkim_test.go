package mail

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/herald-news/herald/internal/mail/mailtest"
)

// verifyDKIM checks every signature on raw against d's public key.
func verifyDKIM(t *testing.T, d *DKIM, raw []byte) *dkim.Verification {
	t.Helper()
	txt, err := d.TXTRecord()
	if err != nil {
		t.Fatal(err)
	}
	want := d.cfg.Selector + "._domainkey." + d.cfg.Domain
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT: func(domain string) ([]string, error) {
			if domain != want {
				return nil, fmt.Errorf("lookup of %s, want %s", domain, want)
			}
			return []string{txt}, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 {
		t.Fatalf("%d signatures", len(vs))
	}
	if vs[0].Err != nil {
		t.Fatalf("verification failed: %v\n%s", vs[0].Err, raw)
	}
	return vs[0]
}

func testKeys(t *testing.T) map[string]crypto.Signer {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]crypto.Signer{"rsa": rk, "ed25519": ek}
}

func TestDKIMSignsRenderedMessages(t *testing.T) {
	p, err := Prepare(digestMessage(8 << 10))
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			d, err := NewDKIM(DKIMConfig{Domain: "news.example.org", Selector: "herald", Key: key})
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range renderCases {
				raw, err := p.Render(nil, tt.values)
				if err != nil {
					t.Fatal(err)
				}
				signed, err := d.Sign(raw)
				if err != nil {
					t.Fatal(err)
				}
				v := verifyDKIM(t, d, signed)
				for _, h := range []string{"from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post", "mime-version", "content-type"} {
					if !slices.Contains(lower(v.HeaderKeys), h) {
						t.Errorf("%s not signed (h=%v)", h, v.HeaderKeys)
					}
				}
				if slices.Contains(lower(v.HeaderKeys), "reply-to") {
					t.Error("absent Reply-To listed in h=")
				}
				mustParse(t, signed)
			}
		})
	}
}

// TestDKIMOverSigns: From, Subject and the unsubscribe headers are listed
// twice in h=, so personalised mail verifies and a copy with one of them
// added does not.
func TestDKIMOverSigns(t *testing.T) {
	m := digestMessage(2 << 10)
	m.ReplyTo = &Address{Name: "Editors", Email: "editors@example.org"}
	m.Headers = append(m.Headers, [2]string{"Feedback-ID", "run-1:monthly:digest:herald"})
	p, err := Prepare(m)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range testKeys(t) {
		t.Run(name, func(t *testing.T) {
			d, err := NewDKIM(DKIMConfig{Domain: "news.example.org", Selector: "herald", Key: key})
			if err != nil {
				t.Fatal(err)
			}
			raw, err := p.Render(nil, renderCases[0].values)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := d.Sign(raw)
			if err != nil {
				t.Fatal(err)
			}
			v := verifyDKIM(t, d, signed)
			count := map[string]int{}
			for _, h := range lower(v.HeaderKeys) {
				count[h]++
			}
			for h, want := range map[string]int{"from": 2, "subject": 2, "list-unsubscribe": 2, "list-unsubscribe-post": 2,
				"reply-to": 1, "feedback-id": 1, "to": 1, "message-id": 1} {
				if count[h] != want {
					t.Errorf("%s listed %d times in h=, want %d (h=%v)", h, count[h], want, v.HeaderKeys)
				}
			}
			for _, added := range []string{"From: Bank <bank@example.com>", "Subject: You won", "List-Unsubscribe: <https://evil.example/u>",
				"List-Unsubscribe-Post: List-Unsubscribe=One-Click"} {
				// On top, where a verifier without over-signing would not look.
				tampered := slices.Concat([]byte(added+"\r\n"), signed)
				vs, err := dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{
					LookupTXT: func(string) ([]string, error) { txt, err := d.TXTRecord(); return []string{txt}, err },
				})
				if err != nil || len(vs) != 1 || vs[0].Err == nil {
					t.Errorf("mail with %q added still verifies (%v)", added, err)
				}
			}
		})
	}
}

func TestDKIMThroughSMTP(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.Options{})
	d, err := NewDKIM(DKIMConfig{Domain: "news.example.org", Selector: "s1", Key: testKeys(t)["ed25519"]})
	if err != nil {
		t.Fatal(err)
	}
	s := d.Wrap(newTestSMTP(t, srv, nil))
	defer s.Close()
	p, err := Prepare(digestMessage(2 << 10))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Render(nil, renderCases[2].values)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), Envelope{From: "b@news.example.org", To: []string{renderCases[2].values["email"]}}, raw); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("%d messages", len(got))
	}
	verifyDKIM(t, d, got[0].Data)
	// A relay rewriting the recipient's name must break the signature.
	tampered := bytes.Replace(got[0].Data, []byte("Zo=C3=AB"), []byte("Eve"), 1)
	if bytes.Equal(tampered, got[0].Data) {
		tampered = bytes.Replace(got[0].Data, []byte("\r\nTo: "), []byte("\r\nTo: x"), 1)
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(tampered), &dkim.VerifyOptions{LookupTXT: func(string) ([]string, error) {
		txt, err := d.TXTRecord()
		return []string{txt}, err
	}})
	if err != nil || len(vs) != 1 || vs[0].Err == nil {
		t.Errorf("tampered message verified: %v %v", vs, err)
	}
}

func TestLoadDKIMKey(t *testing.T) {
	dir := t.TempDir()
	keys := testKeys(t)
	rk := keys["rsa"].(*rsa.PrivateKey)
	pk8, err := x509.MarshalPKCS8PrivateKey(keys["ed25519"])
	if err != nil {
		t.Fatal(err)
	}
	rk8, err := x509.MarshalPKCS8PrivateKey(rk)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*pem.Block{
		"rsa1.pem":    {Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)},
		"rsa8.pem":    {Type: "PRIVATE KEY", Bytes: rk8},
		"ed25519.pem": {Type: "PRIVATE KEY", Bytes: pk8},
		"cert.pem":    {Type: "CERTIFICATE", Bytes: []byte{1}},
	}
	for name, block := range files {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"rsa1.pem", "rsa8.pem", "ed25519.pem"} {
		k, err := LoadDKIMKey(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, err := NewDKIM(DKIMConfig{Domain: "d", Selector: "s", Key: k}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"cert.pem", "missing.pem"} {
		if _, err := LoadDKIMKey(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s loaded", name)
		}
	}
}

func lower(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.ToLower(v)
	}
	return out
}
