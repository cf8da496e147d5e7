package mail

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

func TestOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "outbox") // created on demand
	var logs bytes.Buffer
	var logMu sync.Mutex
	o, err := NewOutbox(dir, 0, slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			raw := encodeFor(t, "r@example.net", true)
			if err := o.Send(context.Background(), Envelope{From: "bounce@news.example.org", To: []string{"r@example.net"}}, raw); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var emls []string
	for _, e := range entries {
		switch {
		case strings.HasSuffix(e.Name(), ".eml"):
			emls = append(emls, e.Name())
		case strings.HasSuffix(e.Name(), ".envelope.json"):
		default:
			t.Errorf("stray file %s (temp file left behind?)", e.Name())
		}
	}
	if len(emls) != n || len(entries) != 2*n {
		t.Fatalf("%d .eml of %d files", len(emls), len(entries))
	}
	sort.Strings(emls)
	for _, name := range emls {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		p := mustParse(t, raw)
		if p.To.Address != "r@example.net" {
			t.Errorf("%s: To %v", name, p.To)
		}
		b, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(name, ".eml")+".envelope.json"))
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			From string   `json:"from"`
			To   []string `json:"to"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		if env.From != "bounce@news.example.org" || !reflect.DeepEqual(env.To, []string{"r@example.net"}) {
			t.Errorf("envelope %+v", env)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), filepath.Join(dir, emls[0])) {
		t.Errorf("log does not name the path:\n%s", logs.String())
	}
}

func TestOutboxRejectsBadEnvelope(t *testing.T) {
	o, err := NewOutbox(t.TempDir(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), Envelope{From: "a@example.org"}, []byte("x")); err == nil {
		t.Error("no recipients accepted")
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
