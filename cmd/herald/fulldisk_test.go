package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/testenv"
)

// mountTmpfs mounts a tmpfs of the size at dir for the test (as root;
// skipped otherwise, required under HERALD_TEST_REQUIRE_ALL=1) and
// returns a function that resizes it.
func mountTmpfs(t *testing.T, dir, size string) (resize func(size string)) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "mounting a small tmpfs (a disk that fills up) needs root")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		testenv.Missing(t, "mount -t tmpfs: "+strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return func(size string) {
		t.Helper()
		if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
			t.Fatalf("remount: %v %s", err, out)
		}
	}
}

// outboxRecipients counts the messages in an outbox per recipient.
func outboxRecipients(t *testing.T, dir string) map[string]int {
	t.Helper()
	emls, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	got := map[string]int{}
	for _, p := range emls {
		b, err := os.ReadFile(strings.TrimSuffix(p, ".eml") + ".envelope.json")
		if err != nil {
			t.Fatalf("%s has no envelope: %v", p, err)
		}
		var env struct{ To []string }
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		for _, to := range env.To {
			got[to]++
		}
	}
	return got
}

// TestFullOutboxDisk: the real binary delivers a run to 200 recipients into
// an outbox on a disk that fills up. Write errors are temporary: nobody is
// marked failed, `digest send` exits non-zero with the reason, the rows not
// written stay pending; `serve` then reports the failing delivery on
// /readyz and, once the disk has room, delivers the rest, each recipient
// exactly once.
func TestFullOutboxDisk(t *testing.T) {
	dir := t.TempDir()
	outbox := filepath.Join(dir, "outbox")
	resize := mountTmpfs(t, outbox, "256k")
	addr := freeAddr(t)
	cfg := digestConfig(t, dir, "http: {listen: \""+addr+"\", shutdown_grace: 2s}\nlog: {level: warn}\n")
	prepareStore(t, dir, cfg, 200)

	p := startHerald(t, cfg, "digest", "send", "--newsletter", "monthly", "--now")
	err := p.wait(t, time.Minute)
	out := p.out.String()
	if err == nil || !strings.Contains(out, "no space left on device") {
		t.Fatalf("digest send on a full disk: %v\n%s", err, out)
	}
	status, counts := runState(t, dir)
	written := len(outboxRecipients(t, outbox))
	if status != "sending" || counts["failed"] != 0 || counts["sending"] != 0 || counts["sent"] != written ||
		counts["pending"] != 200-written || written == 0 || written == 200 {
		t.Fatalf("after a full disk: run %s, deliveries %v, %d written", status, counts, written)
	}

	srv := startHerald(t, cfg, "serve")
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	waitFor(t, "/readyz to report the full disk", time.Minute, func() bool {
		code, body := readyz()
		return code == http.StatusServiceUnavailable && strings.Contains(body, "delivery") && strings.Contains(body, "no space left on device")
	})
	if _, counts := runState(t, dir); counts["failed"] != 0 {
		t.Fatalf("serve on a full disk failed deliveries: %v", counts)
	}
	resize("64m")
	waitFor(t, "the run to finish", time.Minute, func() bool { s, _ := runState(t, dir); return s == "done" })
	waitFor(t, "/readyz to recover", time.Minute, func() bool { code, _ := readyz(); return code == http.StatusOK })
	got := outboxRecipients(t, outbox)
	for to, n := range got {
		if n != 1 {
			t.Errorf("%s got %d messages", to, n)
		}
	}
	if _, counts := runState(t, dir); len(got) != 200 || counts["sent"] != 200 {
		t.Fatalf("%d recipients got the digest; deliveries %v\n%s", len(got), counts, srv.out.String())
	}
}
