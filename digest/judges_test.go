package digest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/testenv"
)

// judgedMessage is one real digest as a subscriber receives it, with the
// https base URL (so the RFC 8058 pair is present).
func judgedMessage(t *testing.T) []byte {
	t.Helper()
	e, _ := composeFixture(t)
	e.subscribers(t, 1, nil)
	var rec recorder
	s := e.service(t, &rec, nil)
	ctx := context.Background()
	run, err := s.PlanSlot(ctx, "monthly", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeliverRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	if len(rec.raws) != 1 {
		t.Fatalf("%d messages", len(rec.raws))
	}
	return rec.raws[0]
}

const pyDefects = `
import sys, email
from email import policy
msg = email.message_from_binary_file(sys.stdin.buffer, policy=policy.default)
found = []
for part in msg.walk():
    for d in part.defects:
        found.append("%s: %r" % (part.get_content_type(), d))
    for k, v in part.items():
        for d in getattr(v, "defects", ()):
            found.append("header %s: %r" % (k, d))
body = msg.get_body(preferencelist=("html",))
text = msg.get_body(preferencelist=("plain",))
if body is None or text is None:
    found.append("missing html or text part")
print("\n".join(found))
sys.exit(1 if found else 0)
`

// TestJudgePythonEmail: Python's stdlib parser finds no defect.
func TestJudgePythonEmail(t *testing.T) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		testenv.Missing(t, "/usr/bin/python3 is not installed")
	}
	cmd := exec.Command(py, "-c", pyDefects)
	cmd.Stdin = bytes.NewReader(judgedMessage(t))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("python email parser: %v\n%s", err, out)
	}
}

// TestJudgeSpamAssassin: the digest scores below 1.0 (run as nobody).
func TestJudgeSpamAssassin(t *testing.T) {
	sa := testenv.Need(t, "spamassassin")
	raw := judgedMessage(t)
	// nobody cannot enter t.TempDir (below a root-only folder).
	home, err := os.MkdirTemp("", "herald-sa-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	os.Chmod(home, 0o777)
	cmd := exec.Command(sa, "-t", "-L")
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
	cmd.Dir = "/"
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	cmd.Stdin = bytes.NewReader(raw)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Logf("spamassassin: %v", err)
	}
	m := regexp.MustCompile(`X-Spam-Status: \w+, score=(-?[0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no score from spamassassin:\n%s", out)
	}
	score, _ := strconv.ParseFloat(string(m[1]), 64)
	report := out
	if i := bytes.Index(out, []byte("Content analysis details")); i >= 0 {
		report = out[i:]
		if j := bytes.Index(report, []byte("\n\n")); j > 0 && j < 4000 {
			report = report[:j]
		}
	}
	t.Logf("SpamAssassin score %.1f\n%s", score, report)
	if score >= 1.0 {
		t.Errorf("SpamAssassin score %.1f, want < 1.0", score)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestJudgeMailpit: Mailpit's HTML check (client support of the HTML and
// CSS used, weighted by market share) scores at least 90 %.
func TestJudgeMailpit(t *testing.T) {
	mp := testenv.Need(t, "mailpit")
	raw := judgedMessage(t)
	smtpPort, httpPort := freePort(t), freePort(t)
	cmd := exec.Command(mp, "--smtp", fmt.Sprintf("127.0.0.1:%d", smtpPort), "--listen", fmt.Sprintf("127.0.0.1:%d", httpPort),
		"--database", filepath.Join(t.TempDir(), "mailpit.db"), "--disable-version-check")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	api := fmt.Sprintf("http://127.0.0.1:%d/api/v1", httpPort)
	var sender *mail.SMTP
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		sender, err = mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: smtpPort, TLS: "none", Timeout: 5 * time.Second}, nil)
		if err == nil {
			err = sender.Send(context.Background(), mail.Envelope{From: "news@example.org", To: []string{"user1@example.net"}}, raw)
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mailpit did not accept the message: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer sender.Close()
	var list struct {
		Messages []struct{ ID string } `json:"messages"`
	}
	getJSON(t, api+"/messages", &list)
	if len(list.Messages) != 1 {
		t.Fatalf("mailpit holds %d messages", len(list.Messages))
	}
	var check struct {
		Total struct {
			Supported, Partial, Unsupported float64
			Nodes, Tests                    int
		}
		Warnings []struct {
			Title string
			Score struct{ Supported, Partial, Unsupported float64 }
		}
	}
	getJSON(t, api+"/message/"+list.Messages[0].ID+"/html-check", &check)
	var warn []string
	for _, w := range check.Warnings {
		warn = append(warn, fmt.Sprintf("%s (%.0f/%.0f/%.0f)", w.Title, w.Score.Supported, w.Score.Partial, w.Score.Unsupported))
	}
	t.Logf("Mailpit html-check (%d tests): %.2f%% supported, %.2f%% partial, %.2f%% unsupported; warnings: %s",
		check.Total.Tests, check.Total.Supported, check.Total.Partial, check.Total.Unsupported, strings.Join(warn, "; "))
	if check.Total.Supported < 96 {
		t.Errorf("html-check: %.2f%% supported (+%.2f%% partial), want at least 96%%", check.Total.Supported, check.Total.Partial)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// TestJudgeMailpitFullIssue: a fuller issue (lead, sections, thumbnails,
// More news) also scores at least 96 % in Mailpit's html-check, in every
// shipped language.
func TestJudgeMailpitFullIssue(t *testing.T) {
	mp := testenv.Mailpit(t)
	for _, code := range lang.Shipped() {
		t.Run(code, func(t *testing.T) { judgeFullIssue(t, mp, code) })
	}
}

func judgeFullIssue(t *testing.T, mp *testenv.MailpitServer, code string) {
	v := browserDigest(t, newMailPage(t), code)
	personal := regexp.MustCompile(`~HERALD~[a-z_]+~`)
	raw, err := mail.Encode(&mail.Message{From: mail.Address{Email: "news@example.org"}, To: mail.Address{Email: "user1@example.net"},
		Subject: v.Subject, Text: personal.ReplaceAllString(v.Text, "x"), HTML: personal.ReplaceAllString(v.HTML, "x")})
	if err != nil {
		t.Fatal(err)
	}
	c := mp.HTMLCheck(t, mp.Send(t, "news@example.org", "user1@example.net", raw))
	t.Logf("Mailpit html-check, full issue: %s", c)
	if c.Total.Supported < 96 {
		t.Errorf("html-check: %.2f%% supported, want at least 96%%", c.Total.Supported)
	}
}
