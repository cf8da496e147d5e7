package bounce

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// post sends body to the provider's handler over real HTTP.
func post(t *testing.T, srv *httptest.Server, provider string, body []byte, hdr map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/bounces/"+provider, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func serveWebhooks(t *testing.T, cfg WebhookConfig, h EventHandler) *httptest.Server {
	t.Helper()
	w, err := NewWebhooks(cfg, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, p := range Providers {
		if hh := w.Handler(p); hh != nil {
			mux.Handle("POST /webhooks/bounces/"+p, hh)
		}
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func genericSign(secret []byte, ts int64, body []byte) map[string]string {
	m := hmac.New(sha256.New, secret)
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return map[string]string{"X-Herald-Timestamp": strconv.FormatInt(ts, 10), "X-Herald-Signature": "sha256=" + hex.EncodeToString(m.Sum(nil))}
}

func TestWebhookGeneric(t *testing.T) {
	secret := []byte("generic secret")
	body := []byte(`{"events": [
		{"id": "e1", "type": "bounce", "bounce_type": "hard", "email": "Gone@Example.net", "message_id": "<run7.sub42@news.example.com>", "time": "2026-12-05T10:00:00Z"},
		{"id": "e2", "type": "bounce", "bounce_type": "soft", "email": "full@example.net", "message_id": "run7.sub43@news.example.com", "time": "2026-12-05T10:00:01Z"},
		{"id": "e3", "type": "complaint", "email": "angry@example.org", "message_id": "", "time": "2026-12-05T10:00:02Z"}]}`)
	now := time.Now().Unix()
	t.Run("OK", func(t *testing.T) {
		h := &recorder{}
		srv := serveWebhooks(t, WebhookConfig{Generic: secret}, h)
		for range 2 {
			if code := post(t, srv, "generic", body, genericSign(secret, now, body)); code != 200 {
				t.Fatalf("status %d", code)
			}
		}
		ev, _ := h.snapshot()
		if len(ev) != 6 || ev[0].ID != "generic:e1" || ev[3].ID != ev[0].ID {
			t.Fatalf("events %+v; want 3 per post, same ids", ev)
		}
		want := []Event{
			{ID: "generic:e1", Source: "generic", Class: Hard, Email: "gone@example.net", MessageID: "run7.sub42@news.example.com", Time: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)},
			{ID: "generic:e2", Source: "generic", Class: Soft, Email: "full@example.net", MessageID: "run7.sub43@news.example.com", Time: time.Date(2026, 12, 5, 10, 0, 1, 0, time.UTC)},
			{ID: "generic:e3", Source: "generic", Class: Complaint, Email: "angry@example.org", Time: time.Date(2026, 12, 5, 10, 0, 2, 0, time.UTC)},
		}
		for i := range want {
			if !ev[i].Time.Equal(want[i].Time) {
				t.Fatalf("event %d time %v", i, ev[i].Time)
			}
			ev[i].Time = want[i].Time
			if fmt.Sprint(ev[i]) != fmt.Sprint(want[i]) {
				t.Fatalf("event %d = %+v\nwant %+v", i, ev[i], want[i])
			}
		}
	})
	for name, hdr := range map[string]map[string]string{
		"ErrSignature":   genericSign([]byte("wrong"), now, body),
		"ErrStale":       genericSign(secret, now-6*60, body),
		"ErrFuture":      genericSign(secret, now+6*60, body),
		"ErrNoSignature": {"X-Herald-Timestamp": strconv.FormatInt(now, 10)},
		"ErrOtherBody":   genericSign(secret, now, []byte(`{"events": []}`)),
		"ErrNoTimestamp": {"X-Herald-Signature": genericSign(secret, now, body)["X-Herald-Signature"]},
	} {
		t.Run(name, func(t *testing.T) {
			h := &recorder{}
			srv := serveWebhooks(t, WebhookConfig{Generic: secret}, h)
			if code := post(t, srv, "generic", body, hdr); code != 401 {
				t.Fatalf("status %d, want 401", code)
			}
			if ev, _ := h.snapshot(); len(ev) != 0 {
				t.Fatalf("events %+v", ev)
			}
		})
	}
	t.Run("ErrBadEvent", func(t *testing.T) {
		srv := serveWebhooks(t, WebhookConfig{Generic: secret}, &recorder{})
		b := []byte(`{"events": [{"id": "x", "type": "bounce", "bounce_type": "medium", "email": "a@b.example"}]}`)
		if code := post(t, srv, "generic", b, genericSign(secret, now, b)); code != 400 {
			t.Fatalf("status %d", code)
		}
	})
	t.Run("ErrHandler500", func(t *testing.T) {
		srv := serveWebhooks(t, WebhookConfig{Generic: secret}, &recorder{fail: errors.New("store down")})
		if code := post(t, srv, "generic", body, genericSign(secret, now, body)); code != 500 {
			t.Fatalf("status %d, want 500 so the relay retries", code)
		}
	})
	t.Run("ErrNotConfigured", func(t *testing.T) {
		srv := serveWebhooks(t, WebhookConfig{}, &recorder{})
		if code := post(t, srv, "generic", body, genericSign(nil, now, body)); code != 404 {
			t.Fatalf("status %d", code)
		}
	})
}

func TestWebhookPostmark(t *testing.T) {
	cfg := WebhookConfig{PostmarkUser: "pm", PostmarkPassword: "hunter22"}
	hard := []byte(`{"RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807, "Type": "HardBounce", "TypeCode": 1,
		"Name": "Hard bounce", "Tag": "", "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "ServerID": 23, "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
		"Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.", "Email": "gone@example.net", "From": "news@news.example.com",
		"BouncedAt": "2026-12-05T10:00:00Z", "DumpAvailable": false, "Inactive": true, "CanActivate": true, "Subject": "Weekly digest"}`)
	spam := []byte(`{"RecordType": "SpamComplaint", "ID": 42, "Type": "SpamComplaint", "TypeCode": 512, "Email": "angry@example.org", "BouncedAt": "2026-12-05T10:00:00Z"}`)
	auto := []byte(`{"RecordType": "Bounce", "ID": 43, "Type": "AutoResponder", "Email": "away@example.org"}`)
	auth := func(u, p string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))}
	}
	t.Run("OK", func(t *testing.T) {
		h := &recorder{}
		srv := serveWebhooks(t, cfg, h)
		for _, b := range [][]byte{hard, spam, auto, hard} {
			if code := post(t, srv, "postmark", b, auth("pm", "hunter22")); code != 200 {
				t.Fatalf("status %d", code)
			}
		}
		ev, _ := h.snapshot()
		if len(ev) != 3 || ev[0].Class != Hard || ev[0].ID != "postmark:4323372036854775807" || ev[0].Email != "gone@example.net" || ev[1].Class != Complaint || ev[2].ID != ev[0].ID {
			t.Fatalf("events %+v", ev)
		}
	})
	for name, hdr := range map[string]map[string]string{
		"ErrPassword": auth("pm", "wrong"),
		"ErrUser":     auth("other", "hunter22"),
		"ErrNoAuth":   nil,
	} {
		t.Run(name, func(t *testing.T) {
			h := &recorder{}
			srv := serveWebhooks(t, cfg, h)
			if code := post(t, srv, "postmark", hard, hdr); code != 401 {
				t.Fatalf("status %d", code)
			}
			if ev, _ := h.snapshot(); len(ev) != 0 {
				t.Fatalf("events %+v", ev)
			}
		})
	}
}

func TestWebhookSendGrid(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	cfg := WebhookConfig{SendGridKey: base64.StdEncoding.EncodeToString(der)}
	body := []byte(`[
		{"email": "gone@example.net", "timestamp": 1764928800, "smtp-id": "<run7.sub42@news.example.com>", "event": "bounce", "category": [], "sg_event_id": "ZHVtbXkgZXZlbnQgaWQx", "sg_message_id": "abc.filter001.1.0", "reason": "550 5.1.1 The email account that you tried to reach does not exist.", "status": "5.1.1", "type": "bounce", "bounce_classification": "Invalid Address"},
		{"email": "blocked@example.net", "timestamp": 1764928801, "event": "bounce", "sg_event_id": "ZHVtbXkgZXZlbnQgaWQy", "reason": "550 5.7.1 rejected for policy reasons", "status": "5.7.1", "type": "blocked"},
		{"email": "angry@example.org", "timestamp": 1764928802, "event": "spamreport", "sg_event_id": "ZHVtbXkgZXZlbnQgaWQz"},
		{"email": "fine@example.org", "timestamp": 1764928803, "event": "delivered", "sg_event_id": "ZHVtbXkgZXZlbnQgaWQ0"}]`)
	sign := func(k *ecdsa.PrivateKey, ts string, b []byte) map[string]string {
		d := sha256.Sum256(append([]byte(ts), b...))
		sig, err := ecdsa.SignASN1(rand.Reader, k, d[:])
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{sgSigHeader: base64.StdEncoding.EncodeToString(sig), sgTSHeader: ts}
	}
	t.Run("OK", func(t *testing.T) {
		h := &recorder{}
		srv := serveWebhooks(t, cfg, h)
		if code := post(t, srv, "sendgrid", body, sign(key, "1764928900", body)); code != 200 {
			t.Fatalf("status %d", code)
		}
		ev, _ := h.snapshot()
		if len(ev) != 3 || ev[0].Class != Hard || ev[0].MessageID != "run7.sub42@news.example.com" || ev[0].Status != "5.1.1" ||
			ev[1].Class != Soft || ev[2].Class != Complaint || ev[2].ID != "sendgrid:ZHVtbXkgZXZlbnQgaWQz" {
			t.Fatalf("events %+v", ev)
		}
	})
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, hdr := range map[string]map[string]string{
		"ErrOtherKey":       sign(other, "1764928900", body),
		"ErrOtherTimestamp": {sgSigHeader: sign(key, "1764928900", body)[sgSigHeader], sgTSHeader: "1764928901"},
		"ErrNoSignature":    nil,
	} {
		t.Run(name, func(t *testing.T) {
			h := &recorder{}
			srv := serveWebhooks(t, cfg, h)
			if code := post(t, srv, "sendgrid", body, hdr); code != 401 {
				t.Fatalf("status %d", code)
			}
		})
	}
	t.Run("ErrBadKey", func(t *testing.T) {
		if _, err := NewWebhooks(WebhookConfig{SendGridKey: "bm90IGEga2V5"}, &recorder{}, nil); err == nil {
			t.Fatal("a key that is not a key was accepted")
		}
	})
}

func TestWebhookMailgun(t *testing.T) {
	key := []byte("key-mailgun-signing")
	payload := func(k []byte, ts int64, token, event, severity string) []byte {
		m := hmac.New(sha256.New, k)
		fmt.Fprintf(m, "%d%s", ts, token)
		b, _ := json.Marshal(map[string]any{
			"signature": map[string]string{"timestamp": strconv.FormatInt(ts, 10), "token": token, "signature": hex.EncodeToString(m.Sum(nil))},
			"event-data": map[string]any{
				"id": "ev-" + token, "event": event, "severity": severity, "recipient": "gone@example.net", "timestamp": 1764928800.5,
				"message":         map[string]any{"headers": map[string]string{"message-id": "run7.sub42@news.example.com"}},
				"delivery-status": map[string]any{"code": 550, "message": "5.1.1 No such user", "description": ""},
			},
		})
		return b
	}
	now := time.Now().Unix()
	t.Run("OK", func(t *testing.T) {
		h := &recorder{}
		srv := serveWebhooks(t, WebhookConfig{MailgunKey: key}, h)
		for _, b := range [][]byte{payload(key, now, "t1", "failed", "permanent"), payload(key, now, "t2", "failed", "temporary"), payload(key, now, "t3", "complained", ""), payload(key, now, "t4", "delivered", "")} {
			if code := post(t, srv, "mailgun", b, nil); code != 200 {
				t.Fatalf("status %d", code)
			}
		}
		ev, _ := h.snapshot()
		if len(ev) != 3 || ev[0].Class != Hard || ev[0].ID != "mailgun:ev-t1" || ev[0].MessageID != "run7.sub42@news.example.com" || ev[0].Status != "5.1.1" || ev[1].Class != Soft || ev[2].Class != Complaint {
			t.Fatalf("events %+v", ev)
		}
	})
	t.Run("ErrReplay", func(t *testing.T) {
		h := &recorder{}
		srv := serveWebhooks(t, WebhookConfig{MailgunKey: key}, h)
		b := payload(key, now, "once", "failed", "permanent")
		if code := post(t, srv, "mailgun", b, nil); code != 200 {
			t.Fatalf("status %d", code)
		}
		if code := post(t, srv, "mailgun", b, nil); code != 406 {
			t.Fatalf("replay: status %d, want 406", code)
		}
		if ev, _ := h.snapshot(); len(ev) != 1 {
			t.Fatalf("events %+v", ev)
		}
	})
	t.Run("OKRetryAfterFailure", func(t *testing.T) {
		h := &recorder{fail: errors.New("store down")}
		srv := serveWebhooks(t, WebhookConfig{MailgunKey: key}, h)
		b := payload(key, now, "retry", "failed", "permanent")
		if code := post(t, srv, "mailgun", b, nil); code != 500 {
			t.Fatalf("status %d", code)
		}
		h.mu.Lock()
		h.fail = nil
		h.mu.Unlock()
		if code := post(t, srv, "mailgun", b, nil); code != 200 {
			t.Fatalf("retry of a failed request: status %d, want 200", code)
		}
	})
	for name, b := range map[string][]byte{
		"ErrSignature": payload([]byte("other key"), now, "t9", "failed", "permanent"),
		"ErrStale":     payload(key, now-25*3600, "t10", "failed", "permanent"),
		"ErrFuture":    payload(key, now+3600, "t11", "failed", "permanent"),
		"ErrNotJSON":   []byte("timestamp=1&token=2&signature=3"),
	} {
		t.Run(name, func(t *testing.T) {
			h := &recorder{}
			srv := serveWebhooks(t, WebhookConfig{MailgunKey: key}, h)
			if code := post(t, srv, "mailgun", b, nil); code < 400 || code > 499 {
				t.Fatalf("status %d, want 4xx", code)
			}
			if ev, _ := h.snapshot(); len(ev) != 0 {
				t.Fatalf("events %+v", ev)
			}
		})
	}
}

// snsFixture is a local https server posing as sns.us-east-1.amazonaws.com
// (a test CA, a dialer that maps the host to it) with an RSA signing
// certificate.
type snsFixture struct {
	client    *http.Client
	key       *rsa.PrivateKey
	certURL   string
	certGets  atomic.Int32
	confirmed atomic.Int32
}

const snsTestHost = "sns.us-east-1.amazonaws.com"

// snsKey is one RSA signing key for every test: generating one is slow.
var snsKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newSNS(t *testing.T) *snsFixture {
	t.Helper()
	f := &snsFixture{certURL: "https://" + snsTestHost + "/SimpleNotificationService-test.pem"}
	f.key = snsKey()
	signTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: snsTestHost}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	signDER, err := x509.CreateCertificate(rand.Reader, signTmpl, signTmpl, &f.key.PublicKey, f.key)
	if err != nil {
		t.Fatal(err)
	}
	signPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: signDER})

	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(3), DNSNames: []string{snsTestHost}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, _ := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/SimpleNotificationService-test.pem":
			f.certGets.Add(1)
			w.Write(signPEM)
		case "/confirm":
			f.confirmed.Add(1)
		default:
			http.NotFound(w, r)
		}
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	local := srv.Listener.Addr().String()
	f.client = &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if addr != snsTestHost+":443" {
				return nil, fmt.Errorf("test dialer: no route to %s", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, local)
		},
	}}
	return f
}

// message returns a signed SNS message.
func (f *snsFixture) message(t *testing.T, version, typ, topic, msg string) []byte {
	t.Helper()
	m := snsMessage{Type: typ, MessageId: "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324", TopicArn: topic, Message: msg,
		Timestamp: "2026-12-05T10:00:00.000Z", SignatureVersion: version, SigningCertURL: f.certURL}
	if typ == "SubscriptionConfirmation" {
		m.Token = "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736"
		m.SubscribeURL = "https://" + snsTestHost + "/confirm"
	} else {
		subj := "Amazon SES Email Event Notification"
		m.Subject = &subj
	}
	h, s := crypto.SHA256, []byte(nil)
	if version == "1" {
		d := sha1.Sum([]byte(m.stringToSign()))
		h, s = crypto.SHA1, d[:]
	} else {
		d := sha256.Sum256([]byte(m.stringToSign()))
		s = d[:]
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, h, s)
	if err != nil {
		t.Fatal(err)
	}
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	b, _ := json.Marshal(m)
	return b
}

func TestWebhookSES(t *testing.T) {
	const topic = "arn:aws:sns:us-east-1:123456789012:herald-bounces"
	bounceMsg := `{"notificationType": "Bounce", "bounce": {"feedbackId": "0100017f-bounce-feedback", "bounceType": "Permanent", "bounceSubType": "General",
		"bouncedRecipients": [{"emailAddress": "Gone@Example.net", "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
		"timestamp": "2026-12-05T10:00:00.000Z", "remoteMtaIp": "192.0.2.25", "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com"},
		"mail": {"timestamp": "2026-12-05T09:59:59.000Z", "source": "news@news.example.com", "messageId": "0100017f-ses-id",
		"commonHeaders": {"messageId": "<run7.sub42@news.example.com>", "subject": "Weekly digest"}}}`
	complaintMsg := `{"notificationType": "Complaint", "complaint": {"feedbackId": "0100017f-complaint-feedback", "complaintFeedbackType": "abuse",
		"complainedRecipients": [{"emailAddress": "angry@example.org"}], "timestamp": "2026-12-05T11:00:00.000Z"},
		"mail": {"messageId": "0100017f-ses-id2", "commonHeaders": {"messageId": "run7.sub48@news.example.com"}}}`
	t.Run("OK", func(t *testing.T) {
		f := newSNS(t)
		h := &recorder{}
		srv := serveWebhooks(t, WebhookConfig{SESTopicARN: topic, HTTPClient: f.client}, h)
		for _, b := range [][]byte{
			f.message(t, "1", "Notification", topic, bounceMsg),
			f.message(t, "2", "Notification", topic, complaintMsg),
			f.message(t, "2", "Notification", topic, bounceMsg),
		} {
			if code := post(t, srv, "ses", b, nil); code != 200 {
				t.Fatalf("status %d", code)
			}
		}
		ev, _ := h.snapshot()
		if len(ev) != 3 || ev[0].Class != Hard || ev[0].Email != "gone@example.net" || ev[0].MessageID != "run7.sub42@news.example.com" || ev[0].Status != "5.1.1" ||
			ev[1].Class != Complaint || ev[1].Email != "angry@example.org" || ev[2].ID != ev[0].ID {
			t.Fatalf("events %+v", ev)
		}
		if n := f.certGets.Load(); n != 1 {
			t.Fatalf("certificate fetched %d times; want once, then cached", n)
		}
	})
	t.Run("OKSubscriptionConfirmation", func(t *testing.T) {
		f := newSNS(t)
		srv := serveWebhooks(t, WebhookConfig{SESTopicARN: topic, HTTPClient: f.client}, &recorder{})
		if code := post(t, srv, "ses", f.message(t, "2", "SubscriptionConfirmation", topic, "You have chosen to subscribe to the topic."), nil); code != 200 {
			t.Fatalf("status %d", code)
		}
		if f.confirmed.Load() != 1 {
			t.Fatal("SubscribeURL not visited")
		}
	})
	t.Run("ErrTopic", func(t *testing.T) {
		f := newSNS(t)
		srv := serveWebhooks(t, WebhookConfig{SESTopicARN: topic, HTTPClient: f.client}, &recorder{})
		if code := post(t, srv, "ses", f.message(t, "2", "Notification", topic+"-other", bounceMsg), nil); code != 403 {
			t.Fatalf("status %d", code)
		}
	})
	t.Run("ErrSignature", func(t *testing.T) {
		f := newSNS(t)
		h := &recorder{}
		srv := serveWebhooks(t, WebhookConfig{SESTopicARN: topic, HTTPClient: f.client}, h)
		b := f.message(t, "2", "Notification", topic, bounceMsg)
		b = bytes.Replace(b, []byte("Permanent"), []byte("Transient"), 1)
		if code := post(t, srv, "ses", b, nil); code != 401 {
			t.Fatalf("status %d", code)
		}
		if ev, _ := h.snapshot(); len(ev) != 0 {
			t.Fatalf("events %+v", ev)
		}
	})
	for name, certURL := range map[string]string{
		"ErrCertHTTP":      "http://" + snsTestHost + "/SimpleNotificationService-test.pem",
		"ErrCertHost":      "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-test.pem",
		"ErrCertLookalike": "https://notsns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem",
		"ErrCertPort":      "https://" + snsTestHost + ":8443/SimpleNotificationService-test.pem",
		"ErrCertUserinfo":  "https://" + snsTestHost + "@evil.example/SimpleNotificationService-test.pem",
	} {
		t.Run(name, func(t *testing.T) {
			f := newSNS(t)
			f.certURL = certURL
			srv := serveWebhooks(t, WebhookConfig{SESTopicARN: topic, HTTPClient: f.client}, &recorder{})
			if code := post(t, srv, "ses", f.message(t, "2", "Notification", topic, bounceMsg), nil); code != 401 {
				t.Fatalf("status %d", code)
			}
			if f.certGets.Load() != 0 {
				t.Fatal("fetched a certificate from a URL that is not SNS's")
			}
		})
	}
	t.Run("ErrSubscribeURL", func(t *testing.T) {
		f := newSNS(t)
		srv := serveWebhooks(t, WebhookConfig{SESTopicARN: topic, HTTPClient: f.client}, &recorder{})
		b := f.message(t, "2", "SubscriptionConfirmation", topic, "subscribe")
		// Re-sign with a SubscribeURL off the SNS host.
		var m snsMessage
		_ = json.Unmarshal(b, &m)
		m.SubscribeURL = "https://evil.example/confirm"
		d := sha256.Sum256([]byte(m.stringToSign()))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, d[:])
		m.Signature = base64.StdEncoding.EncodeToString(sig)
		b, _ = json.Marshal(m)
		if code := post(t, srv, "ses", b, nil); code != 400 || f.confirmed.Load() != 0 {
			t.Fatalf("status %d, confirmed %d", code, f.confirmed.Load())
		}
	})
}
