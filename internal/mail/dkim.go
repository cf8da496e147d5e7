package mail

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
)

// DKIMConfig is the mail.dkim section with the key loaded.
type DKIMConfig struct {
	Domain, Selector string
	Key              crypto.Signer // *rsa.PrivateKey or ed25519.PrivateKey
}

// DKIM signs messages with relaxed/relaxed canonicalisation (go-mail's own
// signer fails verification with relaxed canonicalisation and a long header
// list, so Herald signs with emersion/go-msgauth). Sign after Render: the
// signature covers the personalised To and List-Unsubscribe.
type DKIM struct {
	cfg DKIMConfig
}

// dkimHeaders are signed when present. RFC 8058 requires List-Unsubscribe
// and List-Unsubscribe-Post in h= for one-click to be trusted.
var dkimHeaders = []string{
	"From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Id",
	"List-Unsubscribe", "List-Unsubscribe-Post", "Feedback-ID", "MIME-Version", "Content-Type",
}

// overSigned are listed in h= once more than the message has them (RFC
// 6376 section 8.15): a copy of the mail with a second From, Subject or
// unsubscribe header added on the way no longer verifies.
var overSigned = map[string]bool{
	"From": true, "Subject": true, "List-Unsubscribe": true, "List-Unsubscribe-Post": true,
}

// NewDKIM checks cfg.
func NewDKIM(cfg DKIMConfig) (*DKIM, error) {
	if cfg.Domain == "" || cfg.Selector == "" || cfg.Key == nil {
		return nil, errors.New("mail: dkim: domain, selector and key are required")
	}
	switch cfg.Key.Public().(type) {
	case *rsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("mail: dkim: unsupported key type %T", cfg.Key)
	}
	return &DKIM{cfg: cfg}, nil
}

// LoadDKIMKey reads a PEM private key: PKCS #1 RSA ("RSA PRIVATE KEY") or
// PKCS #8 RSA or Ed25519 ("PRIVATE KEY").
func LoadDKIMKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mail: dkim key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("mail: dkim key %s: no PEM block", path)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("mail: dkim key %s: %w", path, err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("mail: dkim key %s: %w", path, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case ed25519.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("mail: dkim key %s: unsupported key type %T", path, k)
	}
	return nil, fmt.Errorf("mail: dkim key %s: unsupported PEM type %q", path, block.Type)
}

// Sign returns raw with a DKIM-Signature header field prepended.
func (d *DKIM) Sign(raw []byte) ([]byte, error) {
	present := headerNames(raw)
	keys := make([]string, 0, len(dkimHeaders))
	for _, h := range dkimHeaders {
		switch {
		case overSigned[h]:
			// Also when absent: nobody may add one later.
			keys = append(keys, h, h)
		case present[strings.ToLower(h)]:
			keys = append(keys, h)
		}
	}
	if !present["from"] {
		return nil, errors.New("mail: dkim: message has no From")
	}
	opts := &dkim.SignOptions{
		Domain: d.cfg.Domain, Selector: d.cfg.Selector, Signer: d.cfg.Key, Hash: crypto.SHA256,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed, BodyCanonicalization: dkim.CanonicalizationRelaxed,
		HeaderKeys: keys,
	}
	var out bytes.Buffer
	out.Grow(len(raw) + 1024)
	if err := dkim.Sign(&out, bytes.NewReader(raw), opts); err != nil {
		return nil, fmt.Errorf("mail: dkim: %w", err)
	}
	return out.Bytes(), nil
}

// TXTRecord returns the DNS TXT value to publish at
// <selector>._domainkey.<domain>.
func (d *DKIM) TXTRecord() (string, error) {
	switch pub := d.cfg.Key.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			return "", fmt.Errorf("mail: dkim: %w", err)
		}
		return "v=DKIM1; k=rsa; p=" + base64.StdEncoding.EncodeToString(der), nil
	case ed25519.PublicKey:
		return "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub), nil
	}
	return "", fmt.Errorf("mail: dkim: unsupported key type %T", d.cfg.Key)
}

// headerNames returns the lower-cased names of the header fields of raw.
func headerNames(raw []byte) map[string]bool {
	names := map[string]bool{}
	for len(raw) > 0 {
		line, rest, _ := bytes.Cut(raw, []byte("\n"))
		raw = rest
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if name, _, ok := bytes.Cut(line, []byte(":")); ok {
			names[strings.ToLower(string(bytes.TrimSpace(name)))] = true
		}
	}
	return names
}

// Wrap returns a Sender that signs every message before passing it to s.
func (d *DKIM) Wrap(s Sender) Sender { return &signingSender{d: d, next: s} }

type signingSender struct {
	d    *DKIM
	next Sender
}

func (s *signingSender) Send(ctx context.Context, env Envelope, raw []byte) error {
	signed, err := s.d.Sign(raw)
	if err != nil {
		return err
	}
	return s.next.Send(ctx, env, signed)
}

func (s *signingSender) Close() error { return s.next.Close() }

// The transports satisfy Sender.
var (
	_ Sender = (*SMTP)(nil)
	_ Sender = (*Outbox)(nil)
)
