package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestREADMECMSExample: the README's "Publishing from a CMS" request,
// pasted as it is against a daemon serving the example articles, publishes
// (201), and pasting it again publishes a second article; the slugs are
// the ones the README names.
func TestREADMECMSExample(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "Publishing from a CMS is one request:")
	_, after, ok2 := strings.Cut(after, "<<'JSON'\n")
	body, _, ok3 := strings.Cut(after, "\nJSON\n")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README has no CMS example with a <<'JSON' here-document")
	}
	examples, err := filepath.Abs("../../examples/articles")
	if err != nil {
		t.Fatal(err)
	}
	env, _ := testEnv(t)
	env["HERALD_CONTENT_DIR"] = examples
	env["HERALD_CONTENT_WATCH"] = "false"
	env["HERALD_ADMIN_TOKEN"] = "cms-token-0123456789"
	_, base := startTestDaemon(t, env)
	eventually(t, 5*time.Second, "the example articles are served", func() bool {
		code, _ := get(t, base+"/articles/harbour-workshop-arhus")
		return code == 200
	})
	for i := range 2 {
		req, _ := http.NewRequest("POST", base+"/api/v1/articles", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer cms-token-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("paste %d: status %d: %s", i+1, resp.StatusCode, b)
		}
		var out struct{ Slug string }
		json.Unmarshal(b, &out)
		if !strings.Contains(string(readme), "`"+out.Slug+"`") {
			t.Errorf("paste %d: slug %q is not the one the README names", i+1, out.Slug)
		}
	}
}
