package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// digestConfig writes a config whose newsletter reaches back far enough
// to carry the example articles whatever today's date.
func digestConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	p := filepath.Join(dir, "config.yaml")
	examples, err := filepath.Abs(filepath.Join("..", "..", "examples", "articles")) // the file's relative paths are relative to dir
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`store: {dsn: %q}
content: {dir: %q, watch: false}
mail: {outbox_dir: %q}
newsletters:
  - id: monthly
    title: Cluster Bridge Monthly
    schedule: "0 9 1 * *"
    timezone: Europe/Stockholm
    max_articles: 3
    first_window: 36500d
    catch_up: 72h
    subject: "{{.Newsletter.Title}} — {{.Period}}"
%s`, filepath.Join(dir, "h.db"), examples, filepath.Join(dir, "outbox"), extra)
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// addSubscribers inserts active subscribers of monthly straight into the
// store (what `herald subscribers add --confirmed` does).
func addSubscribers(t testing.TB, dbPath string, n int, tags map[int]string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		stmts := []struct {
			q    string
			args []any
		}{
			{`INSERT INTO subscribers (id, email, name, status, created_at, updated_at) VALUES (?, ?, ?, 'active', 0, 0)`,
				[]any{i, fmt.Sprintf("reader%d@example.net", i), fmt.Sprintf("Reader %d", i)}},
			{`INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES ('monthly', ?, 0)`, []any{i}},
		}
		if tg, ok := tags[i]; ok {
			stmts = append(stmts, struct {
				q    string
				args []any
			}{`INSERT INTO subscriber_tags (subscriber_id, tag_slug) VALUES (?, ?)`, []any{i, tg}})
		}
		for _, s := range stmts {
			if _, err := tx.Exec(s.q, s.args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestDigestOutbox is the newcomer's path: a subscriber, `digest send
// --now` with the default outbox transport (it syncs the content folder
// itself: serve need never have run), then status and preview.
func TestDigestOutbox(t *testing.T) {
	dir := t.TempDir()
	cfg := digestConfig(t, dir, "")
	env := map[string]string{}
	if code, _, errs := runCLI(t, env, "--config", cfg, "check"); code != 0 { // creates nothing; the store appears on first use
		t.Fatalf("check: %s", errs)
	}
	if code, _, errs := runCLI(t, env, "--config", cfg, "import", filepath.Join("..", "..", "examples", "articles")); code != 0 { // creates the store
		t.Fatalf("import: %s", errs)
	}
	addSubscribers(t, filepath.Join(dir, "h.db"), 3, map[int]string{3: "no-such-topic"})

	code, out, errs := runCLI(t, env, "--config", cfg, "digest", "send", "--newsletter", "monthly", "--now")
	if code != 0 {
		t.Fatalf("send: %d %s %s", code, out, errs)
	}
	if !strings.Contains(out, "run 1: 3 articles to 3 recipients") || !strings.Contains(out, "2 sent, 0 failed, 1 skipped") {
		t.Fatalf("send output:\n%s", out)
	}
	emls, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	if len(emls) != 2 {
		t.Fatalf("%d .eml files", len(emls))
	}
	raw, _ := os.ReadFile(emls[0])
	for _, want := range []string{"List-Unsubscribe: <http://localhost:8080/unsubscribe?token=", "List-Id: ", "Message-ID: <digest.1.",
		"Content-Type: multipart/alternative", "To: \"Reader "} {
		if !strings.Contains(string(raw), want) {
			t.Errorf(".eml lacks %q", want)
		}
	}
	if strings.Contains(string(raw), "List-Unsubscribe-Post") {
		t.Error("one-click header with an http base_url")
	}

	// The articles beyond max_articles waited: 8 examples go out 3, 3, 2,
	// then there is nothing new and the run is skipped.
	for i, want := range []string{"3 articles", "2 articles", "nothing new to send"} {
		_, out, _ = runCLI(t, env, "--config", cfg, "digest", "send", "--newsletter", "monthly", "--now")
		if !strings.Contains(out, want) {
			t.Fatalf("send %d: want %q:\n%s", i+2, want, out)
		}
	}
	_, out, _ = runCLI(t, env, "--config", cfg, "digest", "status")
	if !strings.Contains(out, "RUN") || !strings.Contains(out, "skipped") || !strings.Contains(out, "done") {
		t.Fatalf("status:\n%s", out)
	}
	// Run control from the command line: a finished run can be neither
	// paused nor cancelled; a missing --run is a usage error.
	if code, _, errs := runCLI(t, env, "--config", cfg, "digest", "pause", "--run", "1"); code != 1 || !strings.Contains(errs, "digest pause: run 1:") {
		t.Errorf("pause of a done run: %d %q", code, errs)
	}
	if code, _, errs := runCLI(t, env, "--config", cfg, "digest", "cancel", "--run", "999"); code != 1 || !strings.Contains(errs, "run 999") {
		t.Errorf("cancel of a missing run: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, env, "--config", cfg, "digest", "resume"); code != 2 {
		t.Errorf("resume without --run: exit %d, want 2", code)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "h.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(`INSERT INTO digest_runs (id, newsletter, slot, slot_at, kind, status, created_at)
		VALUES (50, 'monthly', '2030-01-01T09:00', 0, 'scheduled', 'planned', 0)`)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct{ verb, want string }{{"pause", "paused"}, {"resume", "sending"}, {"cancel", "cancelled"}} {
		code, out, errs := runCLI(t, env, "--config", cfg, "digest", step.verb, "--run", "50")
		if code != 0 || !strings.Contains(out, "run 50 (monthly): "+step.want) {
			t.Errorf("%s: %d %q %q", step.verb, code, out, errs)
		}
	}
	// GDPR export carries the delivery history.
	code, out, errs = runCLI(t, env, "--config", cfg, "subscribers", "export-data", "reader1@example.net")
	if code != 0 || !strings.Contains(out, `"deliveries": [`) || !strings.Contains(out, `"status": "sent"`) || !strings.Contains(out, `"subject": "Cluster Bridge Monthly`) {
		t.Fatalf("export-data: %d %s %s", code, out, errs)
	}
	_, out, _ = runCLI(t, env, "--config", cfg, "digest", "status", "--run", "1")
	if !strings.Contains(out, "reader1@example.net") || !strings.Contains(out, "250 accepted") || !strings.Contains(out, "no article matches") {
		t.Fatalf("status --run:\n%s", out)
	}
	// Preview: nothing is left, so it shows the empty digest.
	code, out, errs = runCLI(t, env, "--config", cfg, "digest", "preview", "--format", "text", "--as", "reader1@example.net")
	if code != 0 || !strings.Contains(out, "Hello Reader 1,") || !strings.Contains(out, "no news") {
		t.Fatalf("preview: %s %s", out, errs)
	}
	prof := filepath.Join(dir, "send.pprof")
	code, _, errs = runCLI(t, env, "--config", cfg, "digest", "send", "--newsletter", "monthly", "--test-to", "editor@example.org", "--cpuprofile", prof)
	if code != 0 {
		t.Fatalf("test send: %s", errs)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Fatalf("--cpuprofile wrote no profile: %v", err)
	}
	emls, _ = filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	tests := 0
	for _, p := range emls {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "X-Herald-Test: yes") && strings.Contains(string(b), "To: <editor@example.org>") {
			tests++
		}
	}
	if tests != 1 {
		t.Fatalf("test send wrote %d files to editor@example.org", tests)
	}
}

func TestDigestUsage(t *testing.T) {
	dir := t.TempDir()
	cfg := digestConfig(t, dir, "")
	for _, args := range [][]string{
		{"digest"}, {"digest", "frobnicate"}, {"digest", "send", "--now"},
		{"digest", "send", "--newsletter", "monthly"}, {"digest", "send", "--newsletter", "monthly", "--now", "--test-to", "a@b.c"},
		{"digest", "preview", "--format", "pdf"},
	} {
		if code, _, _ := runCLI(t, nil, append([]string{"--config", cfg}, args...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if code, _, errs := runCLI(t, nil, "--config", cfg, "digest", "send", "--newsletter", "weekly", "--now"); code != 1 || !strings.Contains(errs, `no newsletter "weekly"`) {
		t.Errorf("unknown newsletter: %d %s", code, errs)
	}
}
