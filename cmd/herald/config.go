package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"

	"github.com/herald-news/herald/digest"
	"github.com/herald-news/herald/internal/media"
)

// Duration is a time.Duration that YAML and the environment write as a Go
// duration, with "d" for days added ("30d", "1d12h").
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// ParseDuration parses a Go duration that may use "d" for 24 hours.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	var total time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("invalid duration %q", s)
		}
		total = time.Duration(days * float64(24*time.Hour))
		s = s[i+1:]
		if s == "" {
			return Duration(total), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 30s, 10m, 72h, 30d)", s)
	}
	return Duration(total + d), nil
}

func (d Duration) String() string {
	td := time.Duration(d)
	if td != 0 && td%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(td/(24*time.Hour)), 10) + "d"
	}
	return td.String()
}

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		// A TypeError lets the decoder go on, so check reports the other
		// problems of the file too.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*d = v
	return nil
}

func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// Size is a number of bytes that YAML and the environment write with one
// of the units B, KiB, MiB or GiB ("10MiB", "512 KiB").
type Size int64

var sizeUnits = []struct {
	name  string
	bytes int64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}}

// parseSize reads a whole number and a unit; nothing else is a size.
func parseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	for _, u := range sizeUnits {
		num, ok := strings.CutSuffix(t, u.name)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil || n < 0 || n > math.MaxInt64/u.bytes {
			break
		}
		return Size(n * u.bytes), nil
	}
	return 0, fmt.Errorf("invalid size %q (use a whole number and B, KiB, MiB or GiB, e.g. 10MiB)", s)
}

// String writes the size in the largest unit that divides it.
func (z Size) String() string {
	for _, u := range sizeUnits {
		if z != 0 && int64(z)%u.bytes == 0 {
			return strconv.FormatInt(int64(z)/u.bytes, 10) + u.name
		}
	}
	return "0B"
}

func (z *Size) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseSize(n.Value)
	if err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	*z = v
	return nil
}

func (z Size) MarshalYAML() (any, error) { return z.String(), nil }

// Config is Herald's whole configuration (see docs/ARCHITECTURE.md,
// "Configuration and CLI").
type Config struct {
	Site        SiteConfig      `yaml:"site"`
	HTTP        HTTPConfig      `yaml:"http"`
	Store       StoreConfig     `yaml:"store"`
	Content     ContentConfig   `yaml:"content"`
	Feed        FeedConfig      `yaml:"feed"`
	WebSub      WebSubConfig    `yaml:"websub"`
	Templates   TemplatesConfig `yaml:"templates"`
	Mail        MailConfig      `yaml:"mail"`
	Bounces     BouncesConfig   `yaml:"bounces"`
	Subscribe   SubscribeConfig `yaml:"subscribe"`
	Digest      DigestConfig    `yaml:"digest"`
	Secrets     SecretsConfig   `yaml:"secrets"`
	Newsletters []Newsletter    `yaml:"newsletters"`
	Embed       EmbedConfig     `yaml:"embed"`
	Admin       AdminConfig     `yaml:"admin"`
	Metrics     MetricsConfig   `yaml:"metrics"`
	Log         LogConfig       `yaml:"log"`

	// src is where LoadConfig found the values (nil for a Config built in
	// code): it locates warnings and remembers derived settings.
	src *configSource
}

// configSource is what LoadConfig learnt while reading the configuration.
type configSource struct {
	file  string
	lines map[string]int    // dotted key → line in file
	env   map[string]string // dotted key → the variable that set it
	// written holds the relative paths the file sets, as written (they
	// are made relative to the file's folder).
	written map[string]string
	// baseFromListen: site.base_url was left at its default while
	// http.listen was changed, so links follow the listen address.
	baseFromListen bool
}

type SiteConfig struct {
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	BaseURL     string `yaml:"base_url"`
	Language    string `yaml:"language"`
	// Languages the subscriber pages and mails offer; empty: every
	// shipped catalogue (docs/ARCHITECTURE.md, "Languages").
	Languages []string `yaml:"languages"`
	Timezone  string   `yaml:"timezone"`
	Author    string   `yaml:"author"`
	Address   string   `yaml:"address"`
	Logo      string   `yaml:"logo"`   // image URL or site path for mail and page mastheads; "": the title
	Accent    string   `yaml:"accent"` // #rrggbb of links and buttons
}

type HTTPConfig struct {
	Listen         string   `yaml:"listen"`
	TrustedProxies []string `yaml:"trusted_proxies"`
	CacheControl   string   `yaml:"cache_control"`
	ShutdownGrace  Duration `yaml:"shutdown_grace"`
}

type StoreConfig struct {
	Driver string `yaml:"driver"`
	DSN    string `yaml:"dsn"`
}

type ContentConfig struct {
	Dir    string       `yaml:"dir"`
	Watch  bool         `yaml:"watch"`
	Images ImagesConfig `yaml:"images"`
}

// ImagesConfig is content.images: how remote article images are fetched
// (docs/ARCHITECTURE.md, "Remote images").
type ImagesConfig struct {
	Timeout      Duration `yaml:"timeout"`
	MaxBytes     Size     `yaml:"max_bytes"`
	AllowPrivate bool     `yaml:"allow_private"`
	// retry is serve's retry interval and the first pause after a
	// failure; zero, a minute. Not configurable: tests shorten it.
	retry time.Duration
}

type FeedConfig struct {
	Items    int `yaml:"items"`
	MaxItems int `yaml:"max_items"`
}

type WebSubConfig struct {
	Hubs []string `yaml:"hubs"`
}

type TemplatesConfig struct {
	Dir string `yaml:"dir"`
}

type MailConfig struct {
	Transport  string       `yaml:"transport"`
	From       string       `yaml:"from"`
	ReturnPath string       `yaml:"return_path"`
	OutboxDir  string       `yaml:"outbox_dir"`
	SMTP       SMTPConfig   `yaml:"smtp"`
	DKIM       DKIMConfig   `yaml:"dkim"`
	Bounce     BounceConfig `yaml:"bounce"`
}

// BounceConfig is the VERP bounce domain and the inbound listener behind
// its MX (README, "Bounces and complaints").
type BounceConfig struct {
	Domain string `yaml:"domain"`
	Listen string `yaml:"listen"`
}

// BouncesConfig holds the provider webhooks' verification settings; a
// provider left empty has no webhook.
type BouncesConfig struct {
	Webhooks BounceWebhooksConfig `yaml:"webhooks"`
}

type BounceWebhooksConfig struct {
	SES struct {
		TopicARN string `yaml:"topic_arn"`
	} `yaml:"ses"`
	Postmark struct {
		Username string `yaml:"username"`
		Password string `yaml:"password"`
	} `yaml:"postmark"`
	SendGrid struct {
		PublicKey string `yaml:"public_key"`
	} `yaml:"sendgrid"`
	Mailgun struct {
		SigningKey string `yaml:"signing_key"`
	} `yaml:"mailgun"`
	Generic struct {
		Secret string `yaml:"secret"`
	} `yaml:"generic"`
}

type SMTPConfig struct {
	Host        string   `yaml:"host"`
	Port        int      `yaml:"port"`
	Username    string   `yaml:"username"`
	Password    string   `yaml:"password"`
	TLS         string   `yaml:"tls"`
	HELO        string   `yaml:"helo"`
	Timeout     Duration `yaml:"timeout"`
	Connections int      `yaml:"connections"`
	Rate        float64  `yaml:"rate"`
}

type DKIMConfig struct {
	Domain   string `yaml:"domain"`
	Selector string `yaml:"selector"`
	KeyFile  string `yaml:"key_file"`
}

type SubscribeConfig struct {
	ConfirmTTL     Duration `yaml:"confirm_ttl"`
	ResendInterval Duration `yaml:"resend_interval"`
	RatePerMinute  int      `yaml:"rate_per_minute"`
	DomainPerHour  int      `yaml:"domain_per_hour"`
	StoreIP        bool     `yaml:"store_ip"`
	ConsentText    string   `yaml:"consent_text"`
	Welcome        bool     `yaml:"welcome"`
}

type DigestConfig struct {
	Lease          Duration `yaml:"lease"`
	MaxAttempts    int      `yaml:"max_attempts"`
	RetryBase      Duration `yaml:"retry_base"`
	KeepDeliveries Duration `yaml:"keep_deliveries"`
}

type SecretsConfig struct {
	TokenKeys []string `yaml:"token_keys"`
}

// Newsletter is one entry of newsletters. An entry needs id and title;
// default is false and timezone site.timezone when absent, and every other
// key takes the value of the shipped newsletter (see newsletterDefaults).
type Newsletter struct {
	ID          string   `yaml:"id"`
	Title       string   `yaml:"title"`
	Default     bool     `yaml:"default"`
	From        string   `yaml:"from"`
	ReplyTo     string   `yaml:"reply_to"`
	Schedule    string   `yaml:"schedule"`
	Timezone    string   `yaml:"timezone"`
	Tags        []string `yaml:"tags"`
	MaxArticles int      `yaml:"max_articles"`
	SendIfEmpty bool     `yaml:"send_if_empty"`
	FirstWindow Duration `yaml:"first_window"`
	CatchUp     Duration `yaml:"catch_up"`
	Subject     string   `yaml:"subject"`
	// Preheader: the hidden inbox preview, a template like subject; "":
	// the lead story's title and the next one's.
	Preheader string              `yaml:"preheader"`
	Sections  []NewsletterSection `yaml:"sections"`
	// Language of its issues for subscribers who chose none; "": site.language.
	Language string `yaml:"language"`
}

// NewsletterSection groups a digest's articles by tag: an article goes
// into the first section whose tags it has, the rest into "More news".
type NewsletterSection struct {
	Title string   `yaml:"title"`
	Tags  []string `yaml:"tags"`
}

// newsletterDefaults is what an entry of newsletters starts from: the
// shipped newsletter without its identity; timezone is filled from
// site.timezone once the whole configuration is read.
func newsletterDefaults() Newsletter {
	n := DefaultConfig().Newsletters[0]
	n.ID, n.Title, n.Default, n.Timezone = "", "", false, ""
	return n
}

// UnmarshalYAML gives keys an entry leaves out their defaults (yaml fills
// list entries from zero values otherwise).
func (n *Newsletter) UnmarshalYAML(node *yaml.Node) error {
	*n = newsletterDefaults()
	type plain Newsletter // without this method
	return node.Decode((*plain)(n))
}

type EmbedConfig struct {
	AllowedOrigins []string `yaml:"allowed_origins"`
}

type AdminConfig struct {
	Tokens []AdminToken `yaml:"tokens"`
	// SessionIdle and SessionMax end an admin web UI session unused for,
	// or older than, that long.
	SessionIdle Duration `yaml:"session_idle"`
	SessionMax  Duration `yaml:"session_max"`
	// Require2FA makes every admin user enrol a second factor (TOTP) at
	// their next sign-in; off, an owner can require it in the UI.
	Require2FA bool `yaml:"require_2fa"`
	// MaxUpload is the largest image an editor may upload.
	MaxUpload Size `yaml:"max_upload"`
}

type AdminToken struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
}

type MetricsConfig struct {
	Listen string `yaml:"listen"`
	// Public serves /metrics on the main listener to every client, not
	// only to loopback ones: the counts reveal who subscribes.
	Public bool `yaml:"public"`
}

type LogConfig struct {
	Format string `yaml:"format"`
	Level  string `yaml:"level"`
	Access bool   `yaml:"access"` // one line per request, whatever the level
}

// DefaultConfig returns the built-in defaults. config.yaml at the
// repository root documents them; a test keeps the two equal.
func DefaultConfig() Config {
	return Config{
		Site: SiteConfig{
			Title:       "Herald News",
			Description: "News from the Nordic–North Sea Cluster Bridge project",
			BaseURL:     "http://localhost:8080",
			Language:    "en",
			Languages:   []string{},
			Timezone:    "UTC",
			Author:      "Cluster Bridge Secretariat",
			Address:     "Cluster Bridge Secretariat, Lindholmspiren 5, 417 56 Göteborg, Sweden",
			Accent:      digest.DefaultAccent,
		},
		HTTP: HTTPConfig{
			Listen:         ":8080",
			TrustedProxies: []string{},
			CacheControl:   "public, max-age=300",
			ShutdownGrace:  Duration(10 * time.Second),
		},
		Store: StoreConfig{Driver: "sqlite", DSN: "data/herald.db"},
		Content: ContentConfig{Dir: "examples/articles", Watch: true,
			Images: ImagesConfig{Timeout: Duration(10 * time.Second), MaxBytes: 10 << 20}},
		Feed:      FeedConfig{Items: 20, MaxItems: 100},
		WebSub:    WebSubConfig{Hubs: []string{}},
		Templates: TemplatesConfig{Dir: ""},
		Mail: MailConfig{
			Transport: "outbox",
			From:      "Herald News <news@example.org>",
			OutboxDir: "data/outbox",
			SMTP: SMTPConfig{
				Port:        587,
				TLS:         "starttls",
				Timeout:     Duration(30 * time.Second),
				Connections: 4,
			},
		},
		Subscribe: SubscribeConfig{
			ConfirmTTL:     Duration(7 * 24 * time.Hour),
			ResendInterval: Duration(time.Hour),
			RatePerMinute:  10,
			DomainPerHour:  30,
			StoreIP:        true,
			ConsentText:    "I agree to receive the newsletters I have chosen by email. I can unsubscribe at any time with the link in every message.",
			Welcome:        true,
		},
		Digest: DigestConfig{
			Lease:          Duration(30 * time.Second),
			MaxAttempts:    8,
			RetryBase:      Duration(time.Minute),
			KeepDeliveries: Duration(365 * 24 * time.Hour),
		},
		Secrets: SecretsConfig{TokenKeys: []string{}},
		Newsletters: []Newsletter{{
			ID:          "monthly",
			Title:       "Cluster Bridge Monthly",
			Default:     true,
			Schedule:    "0 9 1 * *",
			Timezone:    "Europe/Stockholm",
			Tags:        []string{},
			MaxArticles: 20,
			FirstWindow: Duration(30 * 24 * time.Hour),
			CatchUp:     Duration(72 * time.Hour),
			Subject:     "{{.Newsletter.Title}} — {{.Period}}",
			Sections:    []NewsletterSection{},
		}},
		Embed: EmbedConfig{AllowedOrigins: []string{"*"}},
		Admin: AdminConfig{Tokens: []AdminToken{{Name: "default", Token: ""}},
			SessionIdle: Duration(12 * time.Hour), SessionMax: Duration(7 * 24 * time.Hour), MaxUpload: media.DefaultLimit},
		Metrics: MetricsConfig{Listen: "", Public: false},
		Log:     LogConfig{Format: "text", Level: "info", Access: true},
	}
}

// ConfigError is one problem with the configuration, located by key and,
// when it came from a file, by line.
type ConfigError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *ConfigError) Error() string {
	loc := ""
	switch {
	case e.File != "" && e.Line > 0:
		loc = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	case e.File != "":
		loc = e.File + ": "
	}
	if e.Key != "" {
		return fmt.Sprintf("%s%s: %s", loc, e.Key, e.Msg)
	}
	return loc + e.Msg
}

// ConfigErrors is every problem found; Error joins them one a line.
type ConfigErrors []*ConfigError

func (es ConfigErrors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// configPath picks the file: --config, HERALD_CONFIG, ./config.yaml, or
// none (built-in defaults); see docs/ARCHITECTURE.md, "Configuration and CLI".
func configPath(flagValue string, env map[string]string) string {
	if flagValue != "" {
		return flagValue
	}
	if p := env["HERALD_CONFIG"]; p != "" {
		return p
	}
	if _, err := os.Stat("config.yaml"); err == nil {
		return "config.yaml"
	}
	return ""
}

// LoadConfig reads the defaults, then the file (if any), then the
// environment, and validates the result. The error lists every problem
// found, unknown keys, bad values and failed checks together, each with its
// key and, from a file, its line.
func LoadConfig(path string, env map[string]string) (*Config, error) {
	cfg := DefaultConfig()
	src := &configSource{file: path, lines: map[string]int{}, env: map[string]string{}}
	var errs ConfigErrors
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		derrs, fatal := decodeConfig(path, data, &cfg, src.lines)
		if fatal {
			return nil, derrs
		}
		errs = append(errs, derrs...)
		// Before the environment: its values stay relative to the
		// working directory, the file's to the file's folder.
		src.written = resolvePaths(&cfg, filepath.Dir(path), src.lines)
	}
	errs = append(errs, applyEnv(&cfg, env, src.env)...)
	for i := range cfg.Newsletters {
		if cfg.Newsletters[i].Timezone == "" {
			cfg.Newsletters[i].Timezone = cfg.Site.Timezone
		}
	}
	for _, e := range cfg.Validate() {
		if !errs.covers(e.Key) { // one message per key: the decode error says more
			errs = append(errs, e)
		}
	}
	if len(errs) == 0 {
		errs = append(errs, storeMoved(&cfg, src)...)
	}
	if len(errs) > 0 {
		for _, e := range errs {
			src.locate(e)
		}
		// In file order; those from the environment or defaults last.
		sort.SliceStable(errs, func(i, j int) bool {
			li, lj := errs[i].Line, errs[j].Line
			return li != 0 && (lj == 0 || li < lj)
		})
		return nil, errs
	}
	followListen(&cfg, src)
	cfg.src = src
	return &cfg, nil
}

// followListen: with site.base_url left at its default and http.listen
// changed, links name the listen address (http://localhost:9000 for
// ":9000"), not a port nothing listens on. Port 0 is known only once serve
// listens; serve fills it in then.
func followListen(cfg *Config, src *configSource) {
	def := DefaultConfig()
	if cfg.Site.BaseURL != def.Site.BaseURL || cfg.HTTP.Listen == def.HTTP.Listen {
		return
	}
	u, port := listenURL(cfg.HTTP.Listen)
	if u == "" {
		return
	}
	src.baseFromListen = true
	if port != "0" {
		cfg.Site.BaseURL = u
	}
}

// listenURL is the http URL that reaches a listen address: a wildcard
// host is reached as localhost.
func listenURL(addr string) (u, port string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", ""
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port), port
}

// BaseURLFromListen says whether links follow http.listen because
// site.base_url was left at its default (serve warns, check too).
func (c *Config) BaseURLFromListen() bool { return c.src != nil && c.src.baseFromListen }

// Warnings are settings that work but that an operator should hear of;
// check prints them.
func (c *Config) Warnings() ConfigErrors {
	var ws ConfigErrors
	if c.BaseURLFromListen() {
		ws = append(ws, &ConfigError{Key: "site.base_url", Msg: fmt.Sprintf(
			"not set while http.listen is %q: links use %s; set site.base_url (HERALD_SITE_BASE_URL) to the address readers reach",
			c.HTTP.Listen, c.Site.BaseURL)})
	}
	if len(c.Newsletters) > 0 && strings.HasPrefix(c.Site.BaseURL, "http://") {
		ws = append(ws, &ConfigError{Key: "site.base_url", Msg: fmt.Sprintf(
			"%s is not https: one-click unsubscribe (RFC 8058, List-Unsubscribe-Post) is off in newsletter mail; set the public https:// address",
			c.Site.BaseURL)})
	}
	if c.src != nil {
		for _, w := range ws {
			c.src.locate(w)
		}
	}
	return ws
}

// covers says whether a problem with key (or a key inside it) is reported.
func (es ConfigErrors) covers(key string) bool {
	for _, e := range es {
		if e.Key != "" && (e.Key == key || strings.HasPrefix(key, e.Key+".") || strings.HasPrefix(key, e.Key+"[")) {
			return true
		}
	}
	return false
}

// locate fills in where a problem comes from: the variable that set the
// key, else the file and the line of the key (or of the nearest enclosing
// key, for one the file leaves out).
func (s *configSource) locate(e *ConfigError) {
	if e.File != "" || e.Key == "" {
		return
	}
	if v, ok := s.env[e.Key]; ok {
		if !strings.Contains(e.Msg, v) {
			e.Msg += " (set by " + v + ")"
		}
		return
	}
	e.File = s.file
	for k := e.Key; k != "" && e.Line == 0; k = parentKey(k) {
		e.Line = s.lines[k]
	}
}

// parentKey is the key enclosing k: newsletters[0].id → newsletters[0] →
// newsletters.
func parentKey(k string) string {
	i := strings.LastIndexAny(k, ".[")
	if i < 0 {
		return ""
	}
	return k[:i]
}

// pathKeys are the keys holding file system paths. store.dsn is one only
// for SQLite: a PostgreSQL DSN is a URL, never relative to a folder.
func pathKeys(cfg *Config) map[string]*string {
	keys := map[string]*string{
		"content.dir":        &cfg.Content.Dir,
		"mail.outbox_dir":    &cfg.Mail.OutboxDir,
		"templates.dir":      &cfg.Templates.Dir,
		"mail.dkim.key_file": &cfg.Mail.DKIM.KeyFile,
	}
	if cfg.Store.Driver == "sqlite" {
		keys["store.dsn"] = &cfg.Store.DSN
	}
	return keys
}

// resolvePaths makes the relative paths the file sets relative to the
// file's folder, so `herald --config /etc/herald/config.yaml ...` means the
// same from any working directory. It returns the values as written.
func resolvePaths(cfg *Config, dir string, lines map[string]int) map[string]string {
	written := map[string]string{}
	for key, p := range pathKeys(cfg) {
		if _, inFile := lines[key]; !inFile || *p == "" || filepath.IsAbs(*p) || strings.Contains(*p, "://") {
			continue
		}
		written[key] = *p
		*p = filepath.Join(dir, *p)
	}
	return written
}

// storeMoved refuses a configuration whose store.dsn, now relative to the
// file's folder, names no store while the same value relative to the
// working directory (where earlier versions looked) holds one: starting
// would quietly begin an empty store beside the real one.
func storeMoved(cfg *Config, src *configSource) ConfigErrors {
	raw, ok := src.written["store.dsn"]
	if !ok || cfg.Store.Driver != "sqlite" {
		return nil
	}
	if _, byEnv := src.env["store.dsn"]; byEnv {
		return nil
	}
	oldAbs, err1 := filepath.Abs(raw)
	newAbs, err2 := filepath.Abs(cfg.Store.DSN)
	if err1 != nil || err2 != nil || oldAbs == newAbs || !fileExists(oldAbs) || fileExists(newAbs) {
		return nil
	}
	return ConfigErrors{{Key: "store.dsn", Msg: fmt.Sprintf(
		"%q now means %s (relative to the config file's folder), which does not exist, while %s (relative to the working directory, where earlier versions looked) holds a store: move the store there or set store.dsn to an absolute path",
		raw, newAbs, oldAbs)}}
}

var yamlLineRe = func(msg string) (int, string) {
	// yaml.v3 type errors read "line N: message".
	var n int
	if _, err := fmt.Sscanf(msg, "line %d:", &n); err == nil {
		if i := strings.IndexByte(msg, ':'); i >= 0 {
			return n, strings.TrimSpace(msg[i+1:])
		}
	}
	return 0, msg
}

// decodeConfig reads the file into cfg, recording each key's line. It
// reports unknown keys and bad values together; fatal means the file is
// not YAML at all and nothing else can be said.
func decodeConfig(path string, data []byte, cfg *Config, lines map[string]int) (errs ConfigErrors, fatal bool) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line, msg := yamlLineRe(strings.TrimPrefix(err.Error(), "yaml: "))
		return ConfigErrors{{File: path, Line: line, Msg: msg}}, true
	}
	if len(root.Content) == 0 {
		return nil, false // empty file: defaults
	}
	recordLines(root.Content[0], "", lines)
	checkKeys(root.Content[0], reflect.TypeOf(*cfg), "", path, &errs)
	// Unknown keys are reported above, every one; decoding without
	// KnownFields goes on to find the bad values too.
	if err := root.Decode(cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			line, msg := yamlLineRe(strings.TrimPrefix(err.Error(), "yaml: "))
			return append(errs, &ConfigError{File: path, Line: line, Key: keyAtLine(lines, line), Msg: msg}), true
		}
		for _, m := range te.Errors {
			line, msg := yamlLineRe(m)
			errs = append(errs, &ConfigError{File: path, Line: line, Key: keyAtLine(lines, line), Msg: msg})
		}
	}
	return errs, false
}

func keyAtLine(lines map[string]int, line int) string {
	best := ""
	for k, l := range lines {
		if l == line && len(k) > len(best) {
			best = k
		}
	}
	return best
}

// recordLines maps every dotted key path (newsletters[0].id) to its line.
func recordLines(n *yaml.Node, prefix string, lines map[string]int) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if prefix != "" {
				k = prefix + "." + k
			}
			lines[k] = n.Content[i].Line
			recordLines(n.Content[i+1], k, lines)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			k := fmt.Sprintf("%s[%d]", prefix, i)
			lines[k] = c.Line
			recordLines(c, k, lines)
		}
	}
}

// checkKeys reports every unknown key at once, with its line; yaml's
// KnownFields stops at the first.
func checkKeys(n *yaml.Node, t reflect.Type, prefix, path string, errs *ConfigErrors) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.MappingNode && t.Kind() == reflect.Struct:
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := strings.Split(f.Tag.Get("yaml"), ",")[0]
			fields[name] = f.Type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			key := k
			if prefix != "" {
				key = prefix + "." + k
			}
			ft, ok := fields[k]
			if !ok {
				*errs = append(*errs, &ConfigError{File: path, Line: n.Content[i].Line, Key: key, Msg: "unknown key"})
				continue
			}
			checkKeys(n.Content[i+1], ft, key, path, errs)
		}
	case n.Kind == yaml.SequenceNode && t.Kind() == reflect.Slice:
		for i, c := range n.Content {
			checkKeys(c, t.Elem(), fmt.Sprintf("%s[%d]", prefix, i), path, errs)
		}
	}
}

// applyEnv sets every key named HERALD_ + its path upper-cased with "_"
// (HERALD_HTTP_LISTEN, HERALD_MAIL_SMTP_PASSWORD); lists are comma-separated.
// HERALD_ADMIN_TOKEN sets the admin token named "default". set records
// which variable set which key.
func applyEnv(cfg *Config, env map[string]string, set map[string]string) ConfigErrors {
	var errs ConfigErrors
	walkEnv(reflect.ValueOf(cfg).Elem(), "HERALD", "", env, set, &errs)
	if tok, ok := env["HERALD_ADMIN_TOKEN"]; ok {
		found := false
		for i := range cfg.Admin.Tokens {
			if cfg.Admin.Tokens[i].Name == "default" {
				cfg.Admin.Tokens[i].Token = tok
				found = true
			}
		}
		if !found {
			cfg.Admin.Tokens = append(cfg.Admin.Tokens, AdminToken{Name: "default", Token: tok})
		}
	}
	return errs
}

var (
	durationType = reflect.TypeOf(Duration(0))
	sizeType     = reflect.TypeOf(Size(0))
)

func walkEnv(v reflect.Value, envPrefix, keyPrefix string, env, set map[string]string, errs *ConfigErrors) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		envName := envPrefix + "_" + strings.ToUpper(name)
		key := name
		if keyPrefix != "" {
			key = keyPrefix + "." + name
		}
		fv := v.Field(i)
		if fv.Kind() == reflect.Struct && fv.Type() != durationType {
			walkEnv(fv, envName, key, env, set, errs)
			continue
		}
		s, ok := env[envName]
		if !ok {
			continue
		}
		set[key] = envName
		if err := setFromString(fv, s); err != nil {
			*errs = append(*errs, &ConfigError{Key: key, Msg: fmt.Sprintf("from %s: %v", envName, err)})
		}
	}
}

func setFromString(v reflect.Value, s string) error {
	switch v.Type() {
	case durationType:
		d, err := ParseDuration(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(d))
		return nil
	case sizeType:
		z, err := parseSize(s)
		if err != nil {
			return err
		}
		v.SetInt(int64(z))
		return nil
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", s)
		}
		v.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("want a whole number, got %q", s)
		}
		v.SetInt(int64(n))
	case reflect.Float64:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("want a number, got %q", s)
		}
		v.SetFloat(f)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return fmt.Errorf("cannot be set from the environment")
		}
		parts := []string{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// accentRe is a CSS hex colour: site.accent goes into style attributes.
var accentRe = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// Validate reports every problem, each naming its key.
func (c *Config) Validate() ConfigErrors {
	var errs ConfigErrors
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Site.Title == "" {
		bad("site.title", "must not be empty")
	}
	if u, err := url.Parse(c.Site.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("site.base_url", "must be an absolute http(s) URL, got %q", c.Site.BaseURL)
	} else if u.RawQuery != "" || u.Fragment != "" {
		bad("site.base_url", "must not have a query or fragment")
	}
	if c.Site.Language == "" {
		bad("site.language", "must not be empty (e.g. en, sv)")
	}
	for _, l := range c.Site.Languages {
		if _, err := language.Parse(l); err != nil {
			bad("site.languages", "%q is not a language tag (e.g. en, sv, nb)", l)
		}
	}
	if _, err := time.LoadLocation(c.Site.Timezone); err != nil {
		bad("site.timezone", "unknown time zone %q", c.Site.Timezone)
	}
	if !accentRe.MatchString(c.Site.Accent) {
		bad("site.accent", "must be a colour like #1a5fb4, got %q", c.Site.Accent)
	}
	if l := c.Site.Logo; l != "" {
		if u, err := url.Parse(l); err != nil || !(u.Scheme == "https" || u.Scheme == "http") && !strings.HasPrefix(l, "/") || strings.HasPrefix(l, "//") {
			bad("site.logo", "must be an http(s) URL or a path on this site like /media/logo.png, got %q", l)
		}
	}
	if err := validListen(c.HTTP.Listen); err != nil {
		bad("http.listen", "%v", err)
	}
	for i, p := range c.HTTP.TrustedProxies {
		if !validCIDROrIP(p) {
			bad(fmt.Sprintf("http.trusted_proxies[%d]", i), "not an IP address or CIDR: %q", p)
		}
	}
	if c.HTTP.ShutdownGrace < 0 {
		bad("http.shutdown_grace", "must not be negative")
	}
	switch c.Store.Driver {
	case "sqlite":
		if c.Store.DSN == "" {
			bad("store.dsn", "must not be empty")
		}
	case "postgres":
		if !strings.HasPrefix(c.Store.DSN, "postgres://") && !strings.HasPrefix(c.Store.DSN, "postgresql://") {
			bad("store.dsn", "store.driver postgres needs a postgres:// or postgresql:// URL")
		}
	default:
		bad("store.driver", "unsupported driver %q (supported: sqlite, postgres)", c.Store.Driver)
		if c.Store.DSN == "" {
			bad("store.dsn", "must not be empty")
		}
	}
	if c.Content.Images.Timeout <= 0 {
		bad("content.images.timeout", "must be positive, e.g. 10s")
	}
	if c.Content.Images.MaxBytes <= 0 {
		bad("content.images.max_bytes", "must be positive, e.g. 10MiB")
	}
	if c.Feed.Items < 1 {
		bad("feed.items", "must be at least 1")
	}
	if c.Feed.MaxItems < c.Feed.Items {
		bad("feed.max_items", "must be at least feed.items (%d)", c.Feed.Items)
	}
	for i, h := range c.WebSub.Hubs {
		if u, err := url.Parse(h); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(fmt.Sprintf("websub.hubs[%d]", i), "must be an absolute http(s) URL, got %q", h)
		}
	}
	switch c.Mail.Transport {
	case "outbox":
		if c.Mail.OutboxDir == "" {
			bad("mail.outbox_dir", "must not be empty with mail.transport: outbox")
		}
	case "smtp":
		if c.Mail.SMTP.Host == "" {
			bad("mail.smtp.host", "must be set with mail.transport: smtp")
		}
	default:
		bad("mail.transport", "must be outbox or smtp, got %q", c.Mail.Transport)
	}
	if _, err := mail.ParseAddress(c.Mail.From); err != nil {
		bad("mail.from", "not an address: %v", err)
	}
	if d := c.Mail.Bounce.Domain; d != "" && (strings.ContainsAny(d, "@ /:") || !strings.Contains(d, ".")) {
		bad("mail.bounce.domain", "want a domain name such as bounces.example.org, got %q", d)
	}
	if l := c.Mail.Bounce.Listen; l != "" {
		if c.Mail.Bounce.Domain == "" {
			bad("mail.bounce.listen", "needs mail.bounce.domain (the listener accepts only its addresses)")
		} else if _, _, err := net.SplitHostPort(l); err != nil {
			bad("mail.bounce.listen", "want host:port such as :2525: %v", err)
		}
	}
	if p := c.Bounces.Webhooks.Postmark; (p.Username == "") != (p.Password == "") {
		bad("bounces.webhooks.postmark", "set both username and password")
	}
	if c.Mail.ReturnPath != "" {
		if _, err := mail.ParseAddress(c.Mail.ReturnPath); err != nil {
			bad("mail.return_path", "not an address: %v", err)
		}
	}
	if c.Mail.SMTP.Port < 1 || c.Mail.SMTP.Port > 65535 {
		bad("mail.smtp.port", "must be 1-65535")
	}
	switch c.Mail.SMTP.TLS {
	case "starttls", "tls", "none":
	default:
		bad("mail.smtp.tls", "must be starttls, tls or none, got %q", c.Mail.SMTP.TLS)
	}
	if c.Mail.SMTP.Connections < 1 {
		bad("mail.smtp.connections", "must be at least 1")
	}
	if c.Mail.SMTP.Rate < 0 {
		bad("mail.smtp.rate", "must not be negative (0: no limit)")
	}
	if d := c.Mail.DKIM; d.Domain != "" || d.Selector != "" || d.KeyFile != "" {
		if d.Domain == "" || d.Selector == "" || d.KeyFile == "" {
			bad("mail.dkim", "domain, selector and key_file must all be set to sign")
		}
	}
	if c.Subscribe.ConfirmTTL <= 0 {
		bad("subscribe.confirm_ttl", "must be positive")
	}
	if c.Subscribe.RatePerMinute < 0 {
		bad("subscribe.rate_per_minute", "must not be negative")
	}
	if c.Subscribe.DomainPerHour < 0 {
		bad("subscribe.domain_per_hour", "must not be negative")
	}
	if c.Digest.Lease <= 0 {
		bad("digest.lease", "must be positive")
	}
	if c.Digest.MaxAttempts < 1 {
		bad("digest.max_attempts", "must be at least 1")
	}
	if c.Digest.RetryBase <= 0 {
		bad("digest.retry_base", "must be positive")
	}
	seen := map[string]bool{}
	for i, n := range c.Newsletters {
		key := fmt.Sprintf("newsletters[%d]", i)
		if n.ID == "" {
			bad(key+".id", "is required (a short lowercase id such as monthly)")
		} else if n.ID != strings.ToLower(n.ID) || strings.ContainsAny(n.ID, " /?#&") {
			bad(key+".id", "must be a lowercase id without spaces or /, got %q", n.ID)
		}
		if seen[n.ID] && n.ID != "" {
			bad(key+".id", "duplicate newsletter id %q", n.ID)
		}
		seen[n.ID] = true
		if n.Title == "" {
			bad(key+".title", "is required")
		}
		if n.From != "" {
			if _, err := mail.ParseAddress(n.From); err != nil {
				bad(key+".from", "not an address: %v", err)
			}
		}
		if n.ReplyTo != "" {
			if _, err := mail.ParseAddress(n.ReplyTo); err != nil {
				bad(key+".reply_to", "not an address: %v", err)
			}
		}
		if _, err := digest.ParseSchedule(n.Schedule, time.UTC); err != nil {
			bad(key+".schedule", "%v", err)
		}
		if _, err := time.LoadLocation(n.Timezone); err != nil || n.Timezone == "" {
			bad(key+".timezone", "unknown time zone %q", n.Timezone)
		}
		if n.MaxArticles < 1 {
			bad(key+".max_articles", "must be at least 1")
		}
		for _, tk := range [][2]string{{"subject", n.Subject}, {"preheader", n.Preheader}} {
			if _, err := texttemplate.New(tk[0]).Parse(tk[1]); err != nil {
				bad(key+"."+tk[0], "%v", err)
			}
		}
		for j, sec := range n.Sections {
			if sec.Title == "" {
				bad(fmt.Sprintf("%s.sections[%d].title", key, j), "is required")
			}
			if len(sec.Tags) == 0 {
				bad(fmt.Sprintf("%s.sections[%d].tags", key, j), "must name at least one tag")
			}
		}
	}
	for i, o := range c.Embed.AllowedOrigins {
		if o == "*" {
			continue
		}
		if u, err := url.Parse(o); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
			bad(fmt.Sprintf("embed.allowed_origins[%d]", i), "must be * or an origin like https://partner.example, got %q", o)
		}
	}
	for i, k := range c.Secrets.TokenKeys {
		if len(k) < 32 {
			bad(fmt.Sprintf("secrets.token_keys[%d]", i), "must be at least 32 characters (e.g. openssl rand -hex 32)")
		}
	}
	if c.Admin.MaxUpload <= 0 {
		bad("admin.max_upload", "must be more than 0 bytes, got %s", c.Admin.MaxUpload)
	}
	for i, t := range c.Admin.Tokens {
		if t.Name == "" {
			bad(fmt.Sprintf("admin.tokens[%d].name", i), "must not be empty")
		}
		if t.Token != "" && len(t.Token) < 16 {
			bad(fmt.Sprintf("admin.tokens[%d].token", i), "must be at least 16 characters")
		}
	}
	if c.Admin.SessionIdle <= 0 {
		bad("admin.session_idle", "must be positive, e.g. 12h")
	}
	if c.Admin.SessionMax <= 0 {
		bad("admin.session_max", "must be positive, e.g. 7d")
	} else if c.Admin.SessionIdle > c.Admin.SessionMax {
		bad("admin.session_idle", "must not be longer than admin.session_max (%s)", c.Admin.SessionMax)
	}
	if c.Metrics.Listen != "" {
		if err := validListen(c.Metrics.Listen); err != nil {
			bad("metrics.listen", "%v", err)
		}
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	return errs
}

// validListen checks a listen address the way net.Listen will read it, so
// check catches what would stop serve.
func validListen(addr string) error {
	if addr == "" {
		return errors.New("must not be empty")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT (e.g. :8080 or 127.0.0.1:8080)", addr)
	}
	if _, err := net.LookupPort("tcp", port); err != nil || port == "" {
		return fmt.Errorf("%q: bad port %q", addr, port)
	}
	if _, err := netip.ParseAddr(host); err != nil && host != "" && !validHostname(host) {
		return fmt.Errorf("%q: bad host %q", addr, host)
	}
	return nil
}

func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func validCIDROrIP(s string) bool {
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(s)
	return err == nil
}
