package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func outboxFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	return m
}

func TestSubscribersCLI(t *testing.T) {
	env, dir := testEnv(t)
	t.Run("Usage", func(t *testing.T) {
		for _, args := range [][]string{
			{"subscribers"}, {"subscribers", "frob"}, {"subscribers", "add"}, {"subscribers", "list", "--status", "weird"},
			{"subscribers", "list", "--newsletter", "nope"}, {"subscribers", "import"}, {"subscribers", "export", "a", "b"},
		} {
			if code, _, stderr := runCLI(t, env, args...); code != 2 {
				t.Errorf("%q: exit %d (%s), want 2", args, code, stderr)
			}
		}
	})
	t.Run("OK", func(t *testing.T) {
		if code, out, stderr := runCLI(t, env, "subscribers", "add", "Active@Example.ORG", "--name", "Åsa", "--confirmed"); code != 0 ||
			out != "Active@example.org\tactive\tmonthly\n" {
			t.Fatalf("add --confirmed: %d %q %q", code, out, stderr)
		}
		if code, out, stderr := runCLI(t, env, "subscribers", "add", "pending@example.org", "--newsletter", "monthly"); code != 0 ||
			!strings.Contains(out, "pending") || len(outboxFiles(t, dir)) != 1 {
			t.Fatalf("add: %d %q %q %d", code, out, stderr, len(outboxFiles(t, dir)))
		}
		eml, _ := os.ReadFile(outboxFiles(t, dir)[0])
		if !strings.Contains(string(eml), "/subscribe/confirm?token=") {
			t.Fatalf("confirmation mail:\n%s", eml)
		}
		_, out, _ := runCLI(t, env, "subscribers", "list")
		if out != "Active@example.org\tactive\tmonthly\npending@example.org\tpending\tmonthly\n" {
			t.Fatalf("list: %q", out)
		}
		_, out, _ = runCLI(t, env, "subscribers", "list", "--status", "active", "--json")
		var s struct{ Email, Name, Status string }
		if err := json.Unmarshal([]byte(out), &s); err != nil || s.Email != "Active@example.org" || s.Name != "Åsa" {
			t.Fatalf("list --json: %q %v", out, err)
		}
		code, out, _ := runCLI(t, env, "subscribers", "export-data", "active@example.org")
		if code != 0 || !strings.Contains(out, `"consent"`) || !strings.Contains(out, `"newsletters"`) {
			t.Fatalf("export-data: %d %s", code, out)
		}
		if code, out, _ := runCLI(t, env, "subscribers", "remove", "Active@example.org"); code != 0 || !strings.Contains(out, "unsubscribed") {
			t.Fatalf("remove: %d %q", code, out)
		}
		if code, _, _ := runCLI(t, env, "subscribers", "erase", "Active@example.org"); code != 0 {
			t.Fatalf("erase: %d", code)
		}
		if code, _, stderr := runCLI(t, env, "subscribers", "export-data", "Active@example.org"); code != 1 || !strings.Contains(stderr, "no such subscriber") {
			t.Fatalf("after erase: %d %q", code, stderr)
		}
	})
	t.Run("Import", func(t *testing.T) {
		csv := filepath.Join(dir, "people.csv")
		os.WriteFile(csv, []byte("email,name,newsletters\nimp1@example.org,One,\nbad,Two,\nimp2@example.org,Three,daily\nimp3@example.org,,monthly\n"), 0o644)
		// A dry run reports the same rows and changes nothing.
		code, out, stderr := runCLI(t, env, "subscribers", "import", "--dry-run", "--confirmed", csv)
		if code != 1 || stderr != "3: invalid email address: no @\n4: unknown newsletter \"daily\"\n" ||
			!strings.Contains(out, "4 rows: 2 would be added, 0 already present (left as they are), 0 suppressed, 2 bad; nothing changed") {
			t.Fatalf("import --dry-run: %d %q %q", code, out, stderr)
		}
		if _, out, _ := runCLI(t, env, "subscribers", "list"); strings.Contains(out, "imp1@") {
			t.Fatalf("the dry run imported: %q", out)
		}
		code, out, stderr = runCLI(t, env, "subscribers", "import", "--confirmed", csv)
		if code != 1 || stderr != "3: invalid email address: no @\n4: unknown newsletter \"daily\"\n" || !strings.Contains(out, "2 added") {
			t.Fatalf("import: %d %q %q", code, out, stderr)
		}
		code, out, _ = runCLI(t, env, "subscribers", "import", "--confirmed", csv)
		if code != 1 || !strings.Contains(out, "0 added, 2 unchanged") {
			t.Fatalf("re-import: %d %q", code, out)
		}
		if code, out, _ = runCLI(t, env, "subscribers", "import", "--dry-run", csv); code != 1 || !strings.Contains(out, "0 would be added, 2 already present") {
			t.Fatalf("dry run after import: %d %q", code, out)
		}
		exp := filepath.Join(dir, "out.csv")
		if code, _, _ := runCLI(t, env, "subscribers", "export", exp); code != 0 {
			t.Fatal("export")
		}
		_, out, _ = runCLI(t, env, "subscribers", "export")
		b, _ := os.ReadFile(exp)
		if string(b) != out || !strings.HasPrefix(out, "email,name,newsletters,tags,status,subscribed_at,language\n") || !strings.Contains(out, "imp1@example.org,One,monthly,,active,") {
			t.Fatalf("export:\n%s", out)
		}
	})
}

// TestSubscribersAddLanguage: --language is checked against
// site.languages before anything is stored, and the stored language shows
// in list --json and the CSV.
func TestSubscribersAddLanguage(t *testing.T) {
	env, dir := testEnv(t)
	env["HERALD_SITE_LANGUAGES"] = "en,sv,de"
	t.Run("ErrNotOffered", func(t *testing.T) {
		for _, code := range []string{"fi", "tlh"} {
			c, _, stderr := runCLI(t, env, "subscribers", "add", "x@example.org", "--language", code, "--confirmed")
			if c != 2 || !strings.Contains(stderr, `--language "`+code+`" is not one of site.languages (en, sv, de)`) {
				t.Fatalf("--language %s: exit %d %q", code, c, stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "h.db")); err == nil {
			t.Fatal("a usage error created the store")
		}
	})
	t.Run("OK", func(t *testing.T) {
		if c, _, stderr := runCLI(t, env, "subscribers", "add", "de@example.org", "--language", "de-AT", "--confirmed"); c != 0 {
			t.Fatalf("add: %d %q", c, stderr)
		}
		if c, _, stderr := runCLI(t, env, "subscribers", "add", "sv@example.org", "--language", "sv"); c != 0 {
			t.Fatalf("add pending: %d %q", c, stderr)
		}
		eml, _ := os.ReadFile(outboxFiles(t, dir)[0])
		if m := parseMail(t, eml); !strings.Contains(m.HTML, `<html lang="sv">`) || !strings.Contains(m.Text, "Hej!") {
			t.Fatalf("confirmation mail not Swedish:\n%s", m.Text)
		}
		_, out, _ := runCLI(t, env, "subscribers", "list", "--json")
		langs := map[string]string{}
		for line := range strings.Lines(out) {
			var s struct{ Email, Language string }
			if err := json.Unmarshal([]byte(line), &s); err != nil {
				t.Fatal(err)
			}
			langs[s.Email] = s.Language
		}
		if langs["de@example.org"] != "de" || langs["sv@example.org"] != "sv" {
			t.Fatalf("list --json languages: %v", langs)
		}
		if _, out, _ = runCLI(t, env, "subscribers", "export"); !strings.Contains(out, ",active,") || !strings.Contains(out, "Z,de\n") {
			t.Fatalf("export lacks the language:\n%s", out)
		}
	})
}
