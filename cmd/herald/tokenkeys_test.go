package main

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestCommandKeyMatchesServe is the operator's trap: serve runs with
// HERALD_SECRETS_TOKEN_KEYS from /etc/herald/env, commands run from a
// shell without it. Every command that mails either refuses before
// sending anything, naming the variable, or mails links the running serve
// answers with 200.
func TestCommandKeyMatchesServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	cfg := digestConfig(t, dir, fmt.Sprintf("site: {base_url: %q}\nhttp: {listen: %q, shutdown_grace: 2s}\nlog: {level: warn}\n", base, addr))
	const key = "serve-only-key-0123456789abcdef0123456789"
	bin := heraldBinary(t)
	environ := func(withKey bool) []string {
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "HERALD_") {
				env = append(env, kv)
			}
		}
		if withKey {
			env = append(env, "HERALD_SECRETS_TOKEN_KEYS="+key)
		}
		return env
	}
	herald := func(withKey bool, args ...string) (int, string) {
		cmd := exec.Command(bin, append([]string{"--config", cfg}, args...)...)
		cmd.Env = environ(withKey)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	// A subscriber from the shell before serve ever ran: no mail, no check.
	if code, out := herald(false, "subscribers", "add", "reader@example.net", "--confirmed"); code != 0 {
		t.Fatalf("subscribers add --confirmed: %s", out)
	}

	serve := exec.Command(bin, "--config", cfg, "serve")
	serve.Env = environ(true)
	serveOut := &lockedWriter{b: &bytes.Buffer{}}
	serve.Stdout, serve.Stderr = serveOut, serveOut
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		serve.Process.Signal(syscall.SIGTERM)
		serve.Wait()
	})
	waitFor(t, "serve to answer", 30*time.Second, func() bool {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})

	seen := map[string]bool{}
	newMail := func() []string {
		files, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
		var fresh []string
		for _, f := range files {
			if !seen[f] {
				seen[f] = true
				fresh = append(fresh, f)
			}
		}
		return fresh
	}
	linkRe := regexp.MustCompile(regexp.QuoteMeta(base) + `/[^\s<>"')\]]*`)
	for _, tt := range []struct {
		name    string
		withKey bool
		args    []string
	}{
		{"ErrDigestNowWithoutKey", false, []string{"digest", "send", "--newsletter", "monthly", "--now"}},
		{"ErrTestToWithoutKey", false, []string{"digest", "send", "--newsletter", "monthly", "--test-to", "reader@example.net"}},
		{"ErrSubscribeWithoutKey", false, []string{"subscribers", "add", "new@example.net"}},
		{"OKDigestNow", true, []string{"digest", "send", "--newsletter", "monthly", "--now"}},
		{"OKTestTo", true, []string{"digest", "send", "--newsletter", "monthly", "--test-to", "reader@example.net"}},
		{"OKSubscribe", true, []string{"subscribers", "add", "new@example.net"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out := herald(tt.withKey, tt.args...)
			mails := newMail()
			if code != 0 {
				if tt.withKey {
					t.Fatalf("exit %d with serve's key:\n%s", code, out)
				}
				if len(mails) > 0 || !strings.Contains(out, "HERALD_SECRETS_TOKEN_KEYS") {
					t.Fatalf("refused after sending %d mails, or without naming HERALD_SECRETS_TOKEN_KEYS:\n%s", len(mails), out)
				}
				return
			}
			if len(mails) == 0 {
				t.Fatalf("exit 0 and no mail:\n%s", out)
			}
			for _, f := range mails {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				m := parseMail(t, raw)
				tokens := 0
				for _, l := range linkRe.FindAllString(m.Text+"\n"+m.Header.Get("List-Unsubscribe"), -1) {
					if !strings.Contains(l, "token=") {
						continue // signed links are what this is about
					}
					tokens++
					resp, err := http.Get(l)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						t.Errorf("%s: %s answers %d", filepath.Base(f), l, resp.StatusCode)
					}
				}
				if tokens == 0 {
					t.Errorf("%s carries no signed link:\n%s", filepath.Base(f), m.Text)
				}
			}
		})
	}
}
