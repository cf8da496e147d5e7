package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/web/admintest"
)

// TestServeAdminDigest: serve wires the newsletter and run pages to its
// digest service and the subscriber count: a manager sends now from the
// browser's forms and the run's progress reaches done.
func TestServeAdminDigest(t *testing.T) {
	dir := t.TempDir()
	cfgPath := digestConfig(t, dir, `http: {listen: "127.0.0.1:0"}`)
	if code, _, errs := runCLI(t, nil, "--config", cfgPath, "import", filepath.Join("..", "..", "examples", "articles")); code != 0 {
		t.Fatal(errs)
	}
	addSubscribers(t, filepath.Join(dir, "h.db"), 3, nil)
	cfg, err := LoadConfig(cfgPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := startDaemon(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	base := "http://" + d.Addr()
	c, _ := admintest.Login(t, d.store, base, admintest.User{Role: store.RoleManager})
	do := func(method, path string) (*http.Response, string) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := do("GET", "/admin/newsletters/monthly/send"); resp.StatusCode != 200 || !strings.Contains(body, "3 recipients") {
		t.Fatalf("confirmation: %d\n%s", resp.StatusCode, body)
	}
	resp, _ := do("POST", "/admin/newsletters/monthly/send")
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/runs/") {
		t.Fatalf("send now: %d to %q", resp.StatusCode, loc)
	}
	var p struct {
		Status string
		Sent   int
	}
	for deadline := time.Now().Add(20 * time.Second); p.Status != "done" && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, body := do("GET", loc+"/progress")
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("progress %s: %v", body, err)
		}
	}
	if p.Status != "done" || p.Sent != 3 {
		t.Fatalf("run %+v, want done with 3 sent", p)
	}
}
