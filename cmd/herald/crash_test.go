package main

import (
	"bufio"
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/mail/mailtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// heraldBinary builds the real binary once per test run.
func heraldBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "herald-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "herald")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running herald.
type proc struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan error
}

func startHerald(t *testing.T, cfg string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(heraldBinary(t), append([]string{"--config", cfg}, args...)...)
	p := &proc{cmd: cmd, out: &bytes.Buffer{}, done: make(chan error, 1)}
	w := &lockedWriter{b: p.out}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

type lockedWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (p *proc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-p.done:
		return err
	case <-time.After(d):
		p.cmd.Process.Kill()
		t.Fatalf("herald did not exit within %v", d)
		return nil
	}
}

// writeSMTPConfig writes a config sending to srv over conns connections.
func writeSMTPConfig(t *testing.T, dir string, srv *mailtest.Server, conns int) string {
	t.Helper()
	extra := `http: {listen: "127.0.0.1:0", shutdown_grace: 2s}
digest: {lease: 2s, max_attempts: 5, retry_base: 50ms}
log: {level: warn}
`
	p := digestConfig(t, dir, extra)
	b, _ := os.ReadFile(p)
	s := strings.Replace(string(b), fmt.Sprintf("mail: {outbox_dir: %q}", filepath.Join(dir, "outbox")),
		fmt.Sprintf("mail: {transport: smtp, from: \"Herald News <news@example.org>\", smtp: {host: %q, port: %d, tls: none, connections: %d, timeout: 5s}}",
			srv.Host, srv.Port, conns), 1)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func prepareStore(t *testing.T, dir, cfg string, n int) {
	t.Helper()
	if code, _, errs := runCLI(t, nil, "--config", cfg, "import", filepath.Join("..", "..", "examples", "articles")); code != 0 {
		t.Fatalf("import: %s", errs)
	}
	addSubscribers(t, filepath.Join(dir, "h.db"), n, nil)
}

func runState(t *testing.T, dir string) (status string, counts map[string]int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "h.db")+"?_pragma=busy_timeout(10000)&mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.QueryRow(`SELECT status FROM digest_runs ORDER BY id DESC LIMIT 1`).Scan(&status)
	counts = map[string]int{}
	rows, err := db.Query(`SELECT status, COUNT(*) FROM digest_deliveries GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var c int
		rows.Scan(&s, &c)
		counts[s] = c
	}
	return status, counts
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recipients counts accepted messages per recipient.
func recipients(srv *mailtest.Server) map[string]int {
	got := map[string]int{}
	for _, m := range srv.Messages() {
		for _, to := range m.To {
			got[to]++
		}
	}
	return got
}

// TestCrashRecovery: the real binary delivering to 2,000 recipients is
// SIGKILLed at several points (`digest send`, then `serve` twice); the
// next start resumes. Every recipient gets the digest, and duplicates stay
// within the bound README states: 2 × connections + 64 per kill.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const n, conns = 2000, 4
	srv := mailtest.NewServer(t, mailtest.Options{OnData: func(mailtest.Message) *mailtest.Reply {
		time.Sleep(time.Millisecond) // a relay's pace, so kills land mid-run
		return nil
	}})
	dir := t.TempDir()
	cfg := writeSMTPConfig(t, dir, srv, conns)
	prepareStore(t, dir, cfg, n)

	p := startHerald(t, cfg, "digest", "send", "--newsletter", "monthly", "--now")
	kills := 0
	for _, at := range []int{300, 900, 1500} {
		waitFor(t, fmt.Sprintf("%d messages", at), 60*time.Second, func() bool { return len(srv.Messages()) >= at })
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t, 10*time.Second)
		kills++
		p = startHerald(t, cfg, "serve")
	}
	waitFor(t, "the run to finish", 120*time.Second, func() bool {
		st, _ := runState(t, dir)
		return st == "done"
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 20*time.Second); err != nil {
		t.Fatalf("serve exit: %v\n%s", err, p.out)
	}
	got := recipients(srv)
	dups := 0
	for i := 1; i <= n; i++ {
		c := got[fmt.Sprintf("reader%d@example.net", i)]
		if c == 0 {
			t.Errorf("reader%d never received the digest", i)
		}
		dups += max(c-1, 0)
	}
	bound := kills * (2*conns + 64)
	t.Logf("%d kills, %d messages, %d duplicates (bound %d)", kills, len(srv.Messages()), dups, bound)
	if dups > bound {
		t.Errorf("%d duplicates, more than the bound %d", dups, bound)
	}
	if _, counts := runState(t, dir); counts["sent"] != n {
		t.Errorf("counts %v", counts)
	}
}

// TestFaultsAndSIGTERM: the relay answers 421 and 451 to a share of
// messages, drops connections mid-DATA and refuses some addresses with
// 550. Every deliverable message arrives, the 550s are failed after one
// try, nothing loops; SIGTERM stops after the messages in hand, recorded,
// and the next start finishes the run.
func TestFaultsAndSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const n, conns = 400, 4
	var mu sync.Mutex
	tries := map[string]int{}
	try := func(k string) int {
		mu.Lock()
		defer mu.Unlock()
		tries[k]++
		return tries[k]
	}
	rejected := func(to string) bool { // every 50th address does not exist
		var i int
		fmt.Sscanf(to, "reader%d@", &i)
		return i%50 == 0
	}
	srv := mailtest.NewServer(t, mailtest.Options{
		OnRcpt: func(_, to string) *mailtest.Reply {
			if rejected(to) {
				try("550 " + to)
				return &mailtest.Reply{Code: 550, Enhanced: [3]int{5, 1, 1}, Text: "no such user"}
			}
			if strings.HasSuffix(strings.Split(to, "@")[0], "3") && try("451 "+to) == 1 {
				return &mailtest.Reply{Code: 451, Text: "greylisted"}
			}
			return nil
		},
		OnData: func(m mailtest.Message) *mailtest.Reply {
			time.Sleep(2 * time.Millisecond)
			if strings.HasSuffix(strings.Split(m.To[0], "@")[0], "7") && try("421 "+m.To[0]) == 1 {
				return &mailtest.Reply{Code: 421, Text: "too busy"}
			}
			return nil
		},
		DropData: func(_ string, to []string) bool {
			return strings.HasSuffix(strings.Split(to[0], "@")[0], "9") && try("drop "+to[0]) == 1
		},
	})
	dir := t.TempDir()
	cfg := writeSMTPConfig(t, dir, srv, conns)
	prepareStore(t, dir, cfg, n)

	p := startHerald(t, cfg, "digest", "send", "--newsletter", "monthly", "--now")
	waitFor(t, "100 messages", 60*time.Second, func() bool { return len(srv.Messages()) >= 100 })
	p.cmd.Process.Signal(syscall.SIGTERM)
	err := p.wait(t, 20*time.Second)
	if err == nil || !strings.Contains(p.out.String(), "resumes with the next") {
		t.Fatalf("send after SIGTERM: %v\n%s", err, p.out)
	}
	_, counts := runState(t, dir)
	if counts["sending"] != 0 || counts["sent"] != len(srv.Messages()) {
		t.Fatalf("after SIGTERM: %v with %d accepted: messages in hand must be recorded, the rest given back", counts, len(srv.Messages()))
	}

	p = startHerald(t, cfg, "serve")
	waitFor(t, "the run to finish", 120*time.Second, func() bool {
		st, _ := runState(t, dir)
		return st == "done"
	})
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.wait(t, 20*time.Second); err != nil {
		t.Fatalf("serve exit: %v\n%s", err, p.out)
	}
	got := recipients(srv)
	failed := 0
	for i := 1; i <= n; i++ {
		to := fmt.Sprintf("reader%d@example.net", i)
		want := 1
		if rejected(to) {
			want = 0
			failed++
			if c := tries["550 "+to]; c != 1 {
				t.Errorf("%s refused with 550 was tried %d times", to, c)
			}
		}
		if got[to] != want {
			t.Errorf("%s received %d, want %d", to, got[to], want)
		}
	}
	if _, counts := runState(t, dir); counts["sent"] != n-failed || counts["failed"] != failed {
		t.Errorf("counts %v, want %d sent and %d failed", counts, n-failed, failed)
	}
	out, _ := exec.Command(heraldBinary(t), "--config", cfg, "digest", "status", "--run", "1").Output()
	sc := bufio.NewScanner(bytes.NewReader(out))
	bounced := 0
	for sc.Scan() {
		if strings.Contains(sc.Text(), "550 no such user") || strings.Contains(sc.Text(), "550 5.1.1") {
			bounced++
		}
	}
	if bounced != failed {
		t.Errorf("status --run shows %d 550 failures, want %d:\n%s", bounced, failed, out)
	}
}
