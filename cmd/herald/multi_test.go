package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/herald-news/herald/internal/mail/mailtest"
	"github.com/herald-news/herald/internal/testenv"
)

// The multi-instance tests run two real `herald serve` processes on one
// PostgreSQL database (README "Running on several machines"). Each
// instance sends to an SMTP server of its own, so a test can tell which
// instance delivered what; duplicates are counted across both. Every
// instance gets the same explicit site.base_url, so links and feed bytes do
// not depend on the port it listens on.

const (
	multiBaseURL = "https://news.example.org"
	multiToken   = "multi-instance-admin-token-0123456789abcdef"
	multiConns   = 4
)

// multiNewsletter is the newsletters block the delivery tests use: the
// shipped monthly, whose next slot is far away, so only the runs a test
// plans are sent.
const multiNewsletter = `newsletters:
  - id: monthly
    title: Cluster Bridge Monthly
    schedule: "0 9 1 * *"
    timezone: Europe/Stockholm
    max_articles: 3
    send_if_empty: true
    first_window: 36500d
    subject: "{{.Newsletter.Title}} — {{.Period}}"
`

type instance struct {
	*proc
	name string
	base string // http://127.0.0.1:PORT
	smtp *mailtest.Server
	gone bool // exited and waited for
}

// multiDB returns the DSN of a fresh PostgreSQL database for one test.
func multiDB(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary against PostgreSQL")
	}
	return testenv.PostgresDSN(t)
}

// multiConfig writes instance name's config: the shared database, its own
// listener and SMTP server, a short lease so a dead instance's rows return
// quickly.
func multiConfig(t *testing.T, dir, name, dsn, addr string, srv *mailtest.Server, newsletters string) string {
	t.Helper()
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples", "articles"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".yaml")
	cfg := fmt.Sprintf(`site: {base_url: %q}
http: {listen: %q, shutdown_grace: 2s}
store: {driver: postgres, dsn: %q}
content: {dir: %q, watch: false}
mail: {transport: smtp, from: "Herald News <news@example.org>", smtp: {host: %q, port: %d, tls: none, connections: %d, timeout: 5s}}
digest: {lease: 2s, max_attempts: 5, retry_base: 50ms}
admin: {tokens: [{name: default, token: %q}]}
log: {level: warn}
%s`, multiBaseURL, addr, dsn, examples, srv.Host, srv.Port, multiConns, multiToken, newsletters)
	writeFile(t, p, cfg)
	return p
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// startInstances prepares the database (migrations, the example articles,
// n subscribers of monthly) and starts two serve processes on it.
func startInstances(t *testing.T, dsn string, n int, newsletters string, onData func(mailtest.Message) *mailtest.Reply) (a, b *instance) {
	t.Helper()
	dir := t.TempDir()
	mk := func(name string) *instance {
		srv := mailtest.NewServer(t, mailtest.Options{OnData: onData})
		addr := freeAddr(t)
		multiConfig(t, dir, name, dsn, addr, srv, newsletters)
		return &instance{name: name, base: "http://" + addr, smtp: srv, proc: &proc{}}
	}
	a, b = mk("a"), mk("b")
	cfgA, cfgB := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	if out, err := runBinary(t, cfgA, "import", filepath.Join("..", "..", "examples", "articles")); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	pgExec(t, dsn,
		`INSERT INTO subscribers (id, email, name, status, created_at, updated_at)
		 SELECT g, 'reader' || g || '@example.net', 'Reader ' || g, 'active', 0, 0 FROM generate_series(1, $1::int) g`, n)
	pgExec(t, dsn, `INSERT INTO subscriptions (newsletter, subscriber_id, created_at)
		 SELECT 'monthly', g, 0 FROM generate_series(1, $1::int) g`, n)
	a.proc = startHerald(t, cfgA, "serve")
	b.proc = startHerald(t, cfgB, "serve")
	for _, in := range []*instance{a, b} {
		waitReady(t, in)
	}
	return a, b
}

func runBinary(t *testing.T, cfg string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(heraldBinary(t), append([]string{"--config", cfg}, args...)...)
	return cmd.CombinedOutput()
}

func waitReady(t *testing.T, in *instance) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(in.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case exit := <-in.done:
			in.gone = true
			t.Fatalf("instance %s exited: %v\n%s", in.name, exit, in.out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s did not come up: %v\n%s", in.name, err, in.out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pgConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func pgExec(t *testing.T, dsn, q string, args ...any) {
	t.Helper()
	c := pgConn(t, dsn)
	if _, err := c.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// pgRunState is runState on PostgreSQL: the latest run's status and its
// deliveries by status.
func pgRunState(t *testing.T, c *pgx.Conn) (status string, counts map[string]int) {
	t.Helper()
	ctx := context.Background()
	c.QueryRow(ctx, `SELECT status FROM digest_runs ORDER BY id DESC LIMIT 1`).Scan(&status)
	counts = map[string]int{}
	rows, err := c.Query(ctx, `SELECT status, COUNT(*) FROM digest_deliveries GROUP BY status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		counts[s] = n
	}
	return status, counts
}

// multiAPI sends an admin API request to in.
func multiAPI(t *testing.T, in *instance, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, in.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+multiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// deliveredBy counts accepted messages per recipient over both servers.
func deliveredBy(servers ...*mailtest.Server) map[string]int {
	got := map[string]int{}
	for _, s := range servers {
		for to, c := range recipients(s) {
			got[to] += c
		}
	}
	return got
}

// checkEveryone fails t for a recipient who got nothing and returns the
// number of duplicates.
func checkEveryone(t *testing.T, got map[string]int, n, want int) (dups int) {
	t.Helper()
	missing := 0
	for i := 1; i <= n; i++ {
		c := got[fmt.Sprintf("reader%d@example.net", i)]
		if c < want {
			missing++
			if missing <= 10 {
				t.Errorf("reader%d received %d digests, want %d", i, c, want)
			}
		}
		dups += max(c-want, 0)
	}
	if missing > 10 {
		t.Errorf("%d recipients short in all", missing)
	}
	return dups
}

// stopAll sends SIGTERM to each live instance and waits for a clean exit.
func stopAll(t *testing.T, ins ...*instance) {
	t.Helper()
	for _, in := range ins {
		if !in.gone {
			in.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, in := range ins {
		if in.gone {
			continue
		}
		in.gone = true
		if err := in.wait(t, 20*time.Second); err != nil {
			t.Errorf("instance %s exit: %v\n%s", in.name, err, in.out)
		}
	}
}

// TestMultiInstanceDelivery: two serve processes on one PostgreSQL
// database deliver one 5,000-recipient run planned through instance A's
// API. OK: both take part, everyone gets the digest once. Kill: instance A
// is SIGKILLed in the middle; B finishes the run, everyone gets it, and
// duplicates stay within README's bound for one process that dies
// (2 × mail.smtp.connections + 64).
func TestMultiInstanceDelivery(t *testing.T) {
	t.Parallel() // with the other multi-instance tests: most of their time is waiting
	const n = 5000
	// A relay's pace (4 connections × 4 ms ≈ 1,000 msg/s per instance), so
	// B's poll finds the run long before A alone could finish it.
	slow := func(mailtest.Message) *mailtest.Reply { time.Sleep(4 * time.Millisecond); return nil }
	tests := []struct {
		name   string
		killAt int // messages accepted by A before SIGKILL; 0: no kill
	}{
		{"OK", 0},
		{"Kill", 1200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := multiDB(t)
			a, b := startInstances(t, dsn, n, multiNewsletter, slow)
			db := pgConn(t, dsn)
			if code, body := multiAPI(t, a, "POST", "/api/v1/newsletters/monthly/send", nil); code != http.StatusAccepted {
				t.Fatalf("send through A: %d %s", code, body)
			}
			kills := 0
			if tt.killAt > 0 {
				waitFor(t, "both instances sending", 60*time.Second, func() bool {
					return len(a.smtp.Messages()) >= tt.killAt && len(b.smtp.Messages()) > 0
				})
				a.cmd.Process.Signal(syscall.SIGKILL)
				a.wait(t, 10*time.Second)
				a.gone = true
				kills++
			}
			waitFor(t, "the run to finish", 120*time.Second, func() bool {
				st, _ := pgRunState(t, db)
				return st == "done"
			})
			stopAll(t, a, b)
			byA, byB := len(a.smtp.Messages()), len(b.smtp.Messages())
			dups := checkEveryone(t, deliveredBy(a.smtp, b.smtp), n, 1)
			bound := kills * (2*multiConns + 64)
			t.Logf("A sent %d, B sent %d, %d duplicates (bound %d)", byA, byB, dups, bound)
			if byA == 0 || byB == 0 {
				t.Errorf("A sent %d and B %d: both instances must take part", byA, byB)
			}
			if dups > bound {
				t.Errorf("%d duplicates, more than the bound %d", dups, bound)
			}
			if _, counts := pgRunState(t, db); counts["sent"] != n {
				t.Errorf("deliveries by status %v, want %d sent", counts, n)
			}
		})
	}
}

// TestMultiInstanceSchedule: with both instances running, a scheduled
// slot is planned once and sent once; so is the slot missed while both
// were down, which each catches up at start. The store is left as two
// instances that last ran the newsletter three hours ago would leave it;
// the schedule is every minute, so the test waits for one minute boundary.
func TestMultiInstanceSchedule(t *testing.T) {
	t.Parallel()
	const n = 200
	dsn := multiDB(t)
	nl := strings.Replace(strings.Replace(multiNewsletter, `"0 9 1 * *"`, `"* * * * *"`, 1),
		"Europe/Stockholm", "UTC\n    catch_up: 2h", 1)
	// The newsletter ran before: its state as of a slot three hours ago.
	// The schema comes from the first start, so set it up with import first.
	dir := t.TempDir()
	srv := mailtest.NewServer(t, mailtest.Options{})
	cfg := multiConfig(t, dir, "setup", dsn, freeAddr(t), srv, nl)
	if out, err := runBinary(t, cfg, "import", filepath.Join("..", "..", "examples", "articles")); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	past := time.Now().Add(-3 * time.Hour).Truncate(time.Minute).UTC()
	pgExec(t, dsn, `INSERT INTO newsletter_state (newsletter, horizon, first_run_at, last_slot, last_slot_at)
		VALUES ('monthly', $1, $2, $3, $2)`,
		past.AddDate(-100, 0, 0).UnixMicro(), past.UnixMicro(), past.Format("2006-01-02T15:04"))

	heraldBinary(t) // built before the clock matters
	// Start early in a minute, so the slot caught up at start is the
	// current minute's, which no running scheduler ever fired for.
	if sec := time.Now().Second(); sec >= 45 {
		time.Sleep(time.Duration(61-sec) * time.Second)
	}
	startedAt := time.Now().UTC()
	a, b := startInstances(t, dsn, n, nl, nil)
	db := pgConn(t, dsn)
	ctx := context.Background()
	type slotRuns struct {
		slot  string
		runs  int
		done  int
		kinds string
	}
	slots := func() []slotRuns {
		rows, err := db.Query(ctx, `SELECT slot, COUNT(*), COUNT(*) FILTER (WHERE status = 'done'), string_agg(DISTINCT kind, ',')
			FROM digest_runs WHERE newsletter = 'monthly' GROUP BY slot ORDER BY slot`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []slotRuns
		for rows.Next() {
			var s slotRuns
			if err := rows.Scan(&s.slot, &s.runs, &s.done, &s.kinds); err != nil {
				t.Fatal(err)
			}
			out = append(out, s)
		}
		return out
	}
	// The catch-up slot at start, then at least one the schedule fires
	// while both run.
	waitFor(t, "two slots sent", 100*time.Second, func() bool {
		s := slots()
		if len(s) < 2 {
			return false
		}
		for _, r := range s {
			if r.done != r.runs {
				return false
			}
		}
		return true
	})
	stopAll(t, a, b)
	s := slots()
	for _, r := range s {
		if r.runs != 1 || r.kinds != "scheduled" {
			t.Errorf("slot %s: %d runs of kind %s, want one scheduled run", r.slot, r.runs, r.kinds)
		}
	}
	if caught := startedAt.Format("2006-01-02T15:04"); s[0].slot != caught {
		t.Errorf("first slot %s, want %s caught up at start", s[0].slot, caught)
	}
	got := deliveredBy(a.smtp, b.smtp)
	if dups := checkEveryone(t, got, n, len(s)); dups != 0 {
		t.Errorf("%d duplicates over %d slots", dups, len(s))
	}
	t.Logf("slots %+v; A sent %d, B sent %d", s, len(a.smtp.Messages()), len(b.smtp.Messages()))
}

// TestMultiInstanceFeed: an article published through instance A's API
// appears in instance B's feeds within 2 seconds (the promise:
// change notification, or the polled generation marker, both in the
// store), and both instances then serve the same bytes with the same ETag.
func TestMultiInstanceFeed(t *testing.T) {
	t.Parallel()
	dsn := multiDB(t)
	a, b := startInstances(t, dsn, 0, multiNewsletter, nil)
	get := func(in *instance, path string) (string, []byte) {
		resp, err := http.Get(in.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s%s: %d", in.name, path, resp.StatusCode)
		}
		return resp.Header.Get("ETag"), body
	}
	get(b, "/feed.atom") // B's cache holds the feed before the change
	const title = "Published on A, read on B"
	code, body := multiAPI(t, a, "POST", "/api/v1/articles", map[string]any{
		"title": title, "date": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339),
		"tags": []string{"cluster"}, "body": "Two instances, one store.",
	})
	if code != http.StatusCreated {
		t.Fatalf("create on A: %d %s", code, body)
	}
	published := time.Now()
	for {
		if _, feed := get(b, "/feed.atom"); bytes.Contains(feed, []byte(title)) {
			break
		}
		// NOTIFY makes it about instant; the guard is long enough for a
		// loaded machine (the outcome is asserted, not the time).
		if time.Since(published) > 15*time.Second {
			t.Fatalf("B's feed lacks the article 15 s after A published it")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("on B after %v", time.Since(published).Round(time.Millisecond))
	for _, path := range []string{"/feed.atom", "/feed.rss", "/feed.json", "/tags/cluster/feed.atom", "/feed.json?limit=3"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			// A's own cache may lag as B's did; give it the same time.
			var etagA, etagB string
			var bodyA, bodyB []byte
			waitFor(t, "A and B to agree", 2*time.Second, func() bool {
				etagA, bodyA = get(a, path)
				etagB, bodyB = get(b, path)
				return etagA == etagB && bytes.Equal(bodyA, bodyB)
			})
			if etagA == "" || !bytes.Contains(bodyA, []byte(title)) {
				t.Errorf("%s: ETag %q, article present: %v", path, etagA, bytes.Contains(bodyA, []byte(title)))
			}
		})
	}
	stopAll(t, a, b)
}
