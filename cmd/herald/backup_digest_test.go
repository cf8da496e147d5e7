package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/mail/mailtest"
	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/store/sqlite"
)

// TestBackupRestoreDuringDigest takes a backup while serve delivers a
// digest of 300 recipients to a slow SMTP server, stops serve part-way,
// restores the backup and starts serve again: the run resumes and every
// recipient gets the digest. The only copies sent twice are of rows not
// yet recorded sent in the backup: messages sent after it was taken, and
// those in flight as it was taken (README, "Running in production").
func TestBackupRestoreDuringDigest(t *testing.T) {
	const n, conns = 300, 4
	smtpd := mailtest.NewServer(t, mailtest.Options{OnData: func(mailtest.Message) *mailtest.Reply {
		time.Sleep(8 * time.Millisecond) // a slow relay
		return nil
	}})
	env, dir := testEnv(t)
	const token = "backup-token-0123456789"
	for k, v := range map[string]string{
		"HERALD_ADMIN_TOKEN": token, "HERALD_MAIL_TRANSPORT": "smtp", "HERALD_MAIL_SMTP_HOST": smtpd.Host,
		"HERALD_MAIL_SMTP_PORT": strconv.Itoa(smtpd.Port), "HERALD_MAIL_SMTP_TLS": "none",
		"HERALD_MAIL_SMTP_CONNECTIONS": strconv.Itoa(conns), "HERALD_DIGEST_LEASE": "2s", "HERALD_CONTENT_WATCH": "false",
	} {
		env[k] = v
	}
	if err := os.WriteFile(filepath.Join(env["HERALD_CONTENT_DIR"], "news.md"), articleFile("Fresh news", time.Now().AddDate(0, 0, -1).Format("2006-01-02")), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dsn := env["HERALD_STORE_DSN"]
	// 300 active subscribers of monthly, written straight into the store.
	st, err := sqlite.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	tx, _ := db.Begin()
	for i := 1; i <= n; i++ {
		if _, err := tx.Exec(`INSERT INTO subscribers (id, email, name, status, created_at, updated_at) VALUES (?, ?, '', 'active', 0, 0)`,
			i, fmt.Sprintf("reader%d@example.net", i)); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO subscriptions (newsletter, subscriber_id, created_at) VALUES ('monthly', ?, 0)`, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	d1, base := startTestDaemon(t, env)
	var run struct {
		ID         int64
		Status     string
		Recipients int
	}
	if code := apiDo(t, "POST", base+"/api/v1/newsletters/monthly/send", token, "", &run); code != 202 || run.Recipients != n {
		t.Fatalf("send: %d %+v", code, run)
	}
	smtpd.WaitMessages(80, 20*time.Second)
	before := len(smtpd.Messages())
	bak := filepath.Join(dir, "backup", "herald.db")
	if err := d1.store.(backend.Backuper).Backup(ctx, bak); err != nil {
		t.Fatal(err)
	}
	smtpd.WaitMessages(before+60, 20*time.Second)
	if err := d1.Close(); err != nil {
		t.Fatal(err)
	}
	stopped := len(smtpd.Messages())
	if stopped >= n {
		t.Fatalf("the run finished (%d messages) before serve stopped: make the relay slower", stopped)
	}

	// What the backup holds as sent.
	bst, err := sqlite.Open(ctx, bak)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := bst.RunCounts(ctx, run.ID)
	bst.Close()
	if err != nil {
		t.Fatal(err)
	}
	if bc.Sent == 0 || bc.Open() == 0 {
		t.Fatalf("backup counts %+v: not mid-run", bc)
	}
	if err := sqlite.Restore(ctx, dsn, bak); err != nil {
		t.Fatal(err)
	}

	_, base2 := startTestDaemon(t, env)
	eventually(t, 3*time.Minute, "the restored run is done", func() bool {
		apiDo(t, "GET", fmt.Sprintf("%s/api/v1/runs/%d", base2, run.ID), token, "", &run)
		return run.Status == "done"
	})
	got := map[string]int{}
	for _, m := range smtpd.Messages() {
		got[m.To[0]]++
	}
	dups := 0
	for i := 1; i <= n; i++ {
		k := got[fmt.Sprintf("reader%d@example.net", i)]
		if k == 0 {
			t.Errorf("reader%d got nothing", i)
		}
		dups += max(k-1, 0)
	}
	// Sent again: rows not recorded sent in the backup that the first
	// serve had sent. They are the messages sent after the backup, plus
	// at most those in flight or not yet recorded when it was taken.
	resendable := stopped - bc.Sent
	inFlight := 2*conns + 64
	t.Logf("backup at %d messages holds %d sent; serve stopped at %d; %d duplicates after restore", before, bc.Sent, stopped, dups)
	if dups > resendable {
		t.Errorf("%d duplicates, more than the %d messages the backup did not record as sent", dups, resendable)
	}
	if after := stopped - before; resendable > after+inFlight {
		t.Errorf("%d messages unrecorded in the backup, more than the %d sent after it plus %d in flight", resendable, after, inFlight)
	}
}
