package main

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The shipped config.yaml is the commented reference: equal to the defaults.
func TestConfigYAMLMatchesDefaults(t *testing.T) {
	t.Chdir(filepath.Join("..", "..")) // its relative paths are relative to its folder
	cfg, err := LoadConfig("config.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.src = nil
	def := DefaultConfig()
	if !reflect.DeepEqual(*cfg, def) {
		t.Errorf("config.yaml and DefaultConfig differ:\nfile:     %+v\ndefaults: %+v", *cfg, def)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // substrings of the error
	}{
		{"ErrUnknownKey", "site:\n  title: x\n  colour: red\nhttp:\n  lissen: x\n", []string{":3: site.colour: unknown key", ":5: http.lissen: unknown key"}},
		{"ErrBadDuration", "http:\n  shutdown_grace: soon\n", []string{":2:", "http.shutdown_grace", "invalid duration"}},
		{"ErrBadType", "feed:\n  items: many\n", []string{":2:", "feed.items"}},
		{"ErrBadSize", "admin:\n  max_upload: 10MB\n", []string{":2:", "admin.max_upload", `invalid size "10MB"`, "B, KiB, MiB or GiB"}},
		{"ErrZeroSize", "admin:\n  max_upload: 0B\n", []string{":2: admin.max_upload: must be more than 0 bytes"}},
		{"ErrBadImageSize", "content:\n  images:\n    max_bytes: 10 megs\n", []string{":3:", "content.images.max_bytes", `invalid size "10 megs"`}},
		{"ErrZeroImageTimeout", "content:\n  images:\n    timeout: 0s\n", []string{":3: content.images.timeout: must be positive"}},
		{"ErrBadURL", "site:\n  base_url: localhost\n", []string{":2: site.base_url: must be an absolute"}},
		{"ErrBadSchedule", "newsletters:\n  - id: m\n    title: M\n    schedule: \"CRON_TZ=UTC\"\n    timezone: UTC\n    max_articles: 5\n", []string{":4: newsletters[0].schedule"}},
		{"ErrBadCron", "newsletters:\n  - id: m\n    title: M\n    schedule: \"61 * * * *\"\n    timezone: UTC\n    max_articles: 5\n", []string{"newsletters[0].schedule: invalid cron spec"}},
		{"ErrBadZone", "site:\n  timezone: Mars/Olympus\n", []string{":2: site.timezone: unknown time zone"}},
		{"ErrBadYAML", "site: [\n", []string{"config.yaml:"}},
		{"ErrSeveral", "feed:\n  items: 0\nlog:\n  level: loud\n", []string{":2: feed.items", ":4: log.level"}},
		{"ErrTransport", "mail:\n  transport: pigeon\n", []string{":2: mail.transport"}},
		{"ErrShortKey", "secrets:\n  token_keys: [short]\n", []string{"secrets.token_keys[0]: must be at least 32"}},
		{"ErrOrigin", "embed:\n  allowed_origins: [\"partner.example\"]\n", []string{"embed.allowed_origins[0]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeConfig(t, tt.body)
			_, err := LoadConfig(p, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), p) && tt.name != "ErrBadYAML" {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLoadConfigOK(t *testing.T) {
	p := writeConfig(t, "site:\n  title: Nyheter från Väst\nsubscribe:\n  confirm_ttl: 1d12h\n")
	cfg, err := LoadConfig(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Site.Title != "Nyheter från Väst" {
		t.Errorf("title = %q", cfg.Site.Title)
	}
	if got := cfg.Subscribe.ConfirmTTL.D(); got != 36*time.Hour {
		t.Errorf("confirm_ttl = %v", got)
	}
	if cfg.HTTP.Listen != ":8080" {
		t.Errorf("unset keys keep defaults: listen = %q", cfg.HTTP.Listen)
	}
	empty := writeConfig(t, "")
	if _, err := LoadConfig(empty, nil); err != nil {
		t.Errorf("empty file: %v", err)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{
		"HERALD_HTTP_LISTEN":              "127.0.0.1:9999",
		"HERALD_STORE_DSN":                "/tmp/x.db",
		"HERALD_MAIL_SMTP_PASSWORD":       "s3cret",
		"HERALD_MAIL_SMTP_PORT":           "2525",
		"HERALD_WEBSUB_HUBS":              "https://hub.example/a, https://hub.example/b",
		"HERALD_SECRETS_TOKEN_KEYS":       "k1-0123456789abcdef0123456789abcdef,k2-0123456789abcdef0123456789abcdef",
		"HERALD_ADMIN_TOKEN":              "0123456789abcdef0123",
		"HERALD_CONTENT_WATCH":            "false",
		"HERALD_SUBSCRIBE_CONFIRM_TTL":    "2d",
		"HERALD_ADMIN_MAX_UPLOAD":         "512KiB",
		"HERALD_CONTENT_IMAGES_MAX_BYTES": "2MiB", "HERALD_CONTENT_IMAGES_ALLOW_PRIVATE": "true",
	}
	cfg, err := LoadConfig("", env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Listen != "127.0.0.1:9999" || cfg.Store.DSN != "/tmp/x.db" || cfg.Mail.SMTP.Password != "s3cret" || cfg.Mail.SMTP.Port != 2525 {
		t.Errorf("scalars not applied: %+v %+v %+v", cfg.HTTP, cfg.Store, cfg.Mail.SMTP)
	}
	if !reflect.DeepEqual(cfg.WebSub.Hubs, []string{"https://hub.example/a", "https://hub.example/b"}) {
		t.Errorf("hubs = %q", cfg.WebSub.Hubs)
	}
	if !reflect.DeepEqual(cfg.Secrets.TokenKeys, []string{"k1-0123456789abcdef0123456789abcdef", "k2-0123456789abcdef0123456789abcdef"}) {
		t.Errorf("token keys = %q", cfg.Secrets.TokenKeys)
	}
	if cfg.Admin.Tokens[0].Name != "default" || cfg.Admin.Tokens[0].Token != "0123456789abcdef0123" {
		t.Errorf("admin token = %+v", cfg.Admin.Tokens)
	}
	if cfg.Admin.MaxUpload != 512<<10 {
		t.Errorf("max_upload = %v", cfg.Admin.MaxUpload)
	}
	if im := cfg.Content.Images; im.MaxBytes != 2<<20 || !im.AllowPrivate || im.Timeout.D() != 10*time.Second {
		t.Errorf("content.images = %+v", im)
	}
	if cfg.Content.Watch || cfg.Subscribe.ConfirmTTL.D() != 48*time.Hour {
		t.Errorf("watch=%v ttl=%v", cfg.Content.Watch, cfg.Subscribe.ConfirmTTL)
	}
	_, err = LoadConfig("", map[string]string{"HERALD_FEED_ITEMS": "lots"})
	var ces ConfigErrors
	if !errors.As(err, &ces) || !strings.Contains(err.Error(), "feed.items") || !strings.Contains(err.Error(), "HERALD_FEED_ITEMS") {
		t.Errorf("bad env value: %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Size
		ok   bool
	}{
		{"10MiB", 10 << 20, true},
		{"512 KiB", 512 << 10, true},
		{"2GiB", 2 << 30, true},
		{"100B", 100, true},
		{"0B", 0, true},
		{"10MB", 0, false},
		{"10", 0, false},
		{"1.5MiB", 0, false},
		{"-1KiB", 0, false},
		{"10mib", 0, false},
		{"MiB", 0, false},
		{"99999999999GiB", 0, false},
	} {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %v, %v", tt.in, got, err)
		}
		if tt.ok && tt.want > 0 {
			if back, err := parseSize(got.String()); err != nil || back != got {
				t.Errorf("%q: String %q reads back as %v, %v", tt.in, got.String(), back, err)
			}
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"30s", 30 * time.Second, true},
		{"30d", 30 * 24 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{"72h", 72 * time.Hour, true},
		{"d", 0, false},
		{"x", 0, false},
		{"-1d", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got.D() != tt.want) {
			t.Errorf("ParseDuration(%q) = %v, %v", tt.in, got, err)
		}
	}
}
