package main

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDeferredConfirmations: serve holds back a confirmation mail to a
// mailbox mailed within resend_interval (here 4s) and sends it from its
// background loop once allowed, without another request; a second
// process (the CLI on the same store) obeys the same guard. Before, the
// variants each got a mail at once.
func TestDeferredConfirmations(t *testing.T) {
	d, dir := startSubsDaemon(t, "", "HERALD_SUBSCRIBE_RESEND_INTERVAL", "4s")
	srv := "http://" + d.Addr()
	for _, a := range []string{"victim@example.org", "victim+1@example.org"} {
		resp, err := http.PostForm(srv+"/subscribe", url.Values{"email": {a}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("subscribe %s: %v %v", a, resp, err)
		}
		resp.Body.Close()
	}
	env := map[string]string{
		"HERALD_STORE_DSN":                 filepath.Join(dir, "h.db"),
		"HERALD_CONTENT_DIR":               filepath.Join(dir, "content"),
		"HERALD_MAIL_OUTBOX_DIR":           filepath.Join(dir, "outbox"),
		"HERALD_SUBSCRIBE_RESEND_INTERVAL": "4s",
	}
	code, out, errs := runCLI(t, env, "subscribers", "add", "victim+2@example.org")
	if code != 0 || !strings.Contains(out, "queued") {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	first := readOutbox(t, dir, 1)
	if files, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml")); len(files) != 1 {
		t.Fatalf("%d mails at once, want 1 (the others wait for resend_interval)", len(files))
	}
	got := []string{first.Header.Get("To")}
	for n := 2; n <= 3; n++ { // readOutbox waits up to 10 s for each
		got = append(got, readOutbox(t, dir, n).Header.Get("To"))
	}
	slices.Sort(got)
	if want := []string{"<victim+1@example.org>", "<victim+2@example.org>", "<victim@example.org>"}; !slices.Equal(got, want) {
		t.Fatalf("mails to %q, want %q", got, want)
	}
}

// TestImportUnknownTag: `subscribers import` names the row of a topic tag
// no article and no newsletter has, and leaves that row out. Before, the
// row was imported and its subscriber's digests were all skipped.
func TestImportUnknownTag(t *testing.T) {
	env, dir := testEnv(t)
	csvPath := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(csvPath, []byte("email,tags\nok@example.org,\nbad@example.org,ghost-topic\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, env, "subscribers", "import", "--confirmed", csvPath)
	if code == 0 || !strings.Contains(errs, `3: unknown topic tag "ghost-topic"`) || !strings.Contains(out, "1 added") {
		t.Fatalf("import: %d %q %q", code, out, errs)
	}
}
