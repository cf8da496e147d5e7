package testenv

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// MailpitServer is a throwaway Mailpit (SMTP in, HTTP API out) for the
// judge tests: its html-check and link-check score real messages.
type MailpitServer struct {
	SMTPAddr string
	API      string // http://127.0.0.1:port/api/v1
}

// Mailpit starts Mailpit on loopback ports, skipping the test when it is
// not installed. Extra flags (--allow-internal-http-requests) are passed on.
func Mailpit(t testing.TB, flags ...string) *MailpitServer {
	t.Helper()
	bin := Need(t, "mailpit")
	smtpPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	httpPort, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort), "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--database", filepath.Join(t.TempDir(), "mailpit.db"), "--disable-version-check"}, flags...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	m := &MailpitServer{SMTPAddr: fmt.Sprintf("127.0.0.1:%d", smtpPort), API: fmt.Sprintf("http://127.0.0.1:%d/api/v1", httpPort)}
	for deadline := time.Now().Add(20 * time.Second); ; {
		c, err := net.Dial("tcp", m.SMTPAddr)
		if err == nil {
			c.Close()
			if resp, err := http.Get(m.API + "/messages"); err == nil {
				resp.Body.Close()
				return m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Send hands one raw message to Mailpit over SMTP and returns its id.
func (m *MailpitServer) Send(t testing.TB, from, to string, raw []byte) string {
	t.Helper()
	if err := smtp.SendMail(m.SMTPAddr, nil, from, []string{to}, raw); err != nil {
		t.Fatalf("mailpit smtp: %v", err)
	}
	var list struct {
		Messages []struct{ ID string } `json:"messages"`
	}
	m.GetJSON(t, "/messages", &list)
	if len(list.Messages) == 0 {
		t.Fatal("mailpit holds no message")
	}
	return list.Messages[0].ID // newest first
}

// HTMLCheck is Mailpit's html-check summary.
type HTMLCheck struct {
	Total struct {
		Supported, Partial, Unsupported float64
		Nodes, Tests                    int
	}
	Warnings []struct {
		Title string
		Score struct{ Supported, Partial, Unsupported float64 }
	}
}

// String lists the score and the warnings, for the test log.
func (c *HTMLCheck) String() string {
	var warn []string
	for _, w := range c.Warnings {
		warn = append(warn, fmt.Sprintf("%s (%.0f/%.0f/%.0f)", w.Title, w.Score.Supported, w.Score.Partial, w.Score.Unsupported))
	}
	return fmt.Sprintf("%.2f%% supported, %.2f%% partial, %.2f%% unsupported over %d tests; warnings: %s",
		c.Total.Supported, c.Total.Partial, c.Total.Unsupported, c.Total.Tests, strings.Join(warn, "; "))
}

// HTMLCheck runs html-check on message id.
func (m *MailpitServer) HTMLCheck(t testing.TB, id string) *HTMLCheck {
	t.Helper()
	var c HTMLCheck
	m.GetJSON(t, "/message/"+id+"/html-check", &c)
	return &c
}

// LinkCheck is Mailpit's link-check: every link of a message, followed.
type LinkCheck struct {
	Errors int
	Links  []struct {
		URL        string
		StatusCode int
		Status     string
	}
}

// LinkCheck runs link-check on message id (Mailpit must run with
// --allow-internal-http-requests to follow loopback links).
func (m *MailpitServer) LinkCheck(t testing.TB, id string) *LinkCheck {
	t.Helper()
	var c LinkCheck
	m.GetJSON(t, "/message/"+id+"/link-check", &c)
	return &c
}

// GetJSON decodes the API's answer at path.
func (m *MailpitServer) GetJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := http.Get(m.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
