package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/article"
	"github.com/herald-news/herald/internal/content"
	"github.com/herald-news/herald/internal/lang"
	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg, usage string }

func (e *usageError) Error() string { return e.msg }

func usagef(usage, format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), usage: usage}
}

// errReported: the command already printed its errors; exit 1 quietly.
var errReported = errors.New("errors reported")

// env is what every command gets.
type env struct {
	ctx    context.Context
	vars   map[string]string
	stdout io.Writer
	stderr io.Writer
	config string // --config given before the command
	// mailer, when set, replaces the configured mail transport (tests).
	mailer mailerFactory
}

type command struct {
	summary string
	run     func(e *env, args []string) error
}

func commands() map[string]command {
	return map[string]command{
		"serve":        {"run the daemon: pages, feeds, sync, schedules", cmdServe},
		"import":       {"import Markdown articles from files or folders", cmdImport},
		"feed":         {"print a feed as the server serves it", cmdFeed},
		"check":        {"validate the configuration", cmdCheck},
		"version":      {"print the version", cmdVersion},
		"backup":       {"copy the store consistently, also while serve runs", cmdBackup},
		"restore":      {"put a backup back (serve must be stopped)", cmdRestore},
		"subscribers":  {"list, add, remove, erase, import and export subscribers", cmdSubscribers},
		"digest":       {"preview, send and follow newsletter digests", cmdDigest},
		"bounces":      {"list inbound bounce mail kept unclassified", cmdBounces},
		"suppressions": {"list the suppression list, or lift an address from it", cmdSuppressions},
		"store":        {"copy the SQLite store into PostgreSQL", cmdStore},
		"users":        {"add, list, remove and reset admin web UI users", cmdUsers},
	}
}

const mainUsage = `usage: herald [--config FILE] COMMAND [flags] [args]`

func usageText() string {
	var b strings.Builder
	b.WriteString(mainUsage + "\n\ncommands:\n")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %-12s %s\n", n, cmds[n].summary)
	}
	return strings.TrimRight(b.String(), "\n")
}

func run(ctx context.Context, args []string, vars map[string]string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("herald", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("config", "", "config file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, usageText())
			return nil
		}
		return usagef(usageText(), "%v", err)
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usagef(usageText(), "no command given")
	}
	name := rest[0]
	if name == "help" || name == "-h" {
		fmt.Fprintln(stdout, usageText())
		return nil
	}
	cmd, ok := commands()[name]
	if !ok {
		return usagef(usageText(), "unknown command %q", name)
	}
	return cmd.run(&env{ctx: ctx, vars: vars, stdout: stdout, stderr: stderr, config: *cfgPath}, rest[1:])
}

// flags makes a subcommand's FlagSet with --config, and parses args
// (flags may follow positional arguments too).
func (e *env) flags(name, usage string, define func(*flag.FlagSet), args []string) ([]string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.config, "config", e.config, "config file")
	if define != nil {
		define(fs)
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(e.stdout, "usage: "+usage)
				return nil, errHelp
			}
			return nil, usagef("usage: "+usage, "%s: %v", name, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	return positional, nil
}

// errHelp: --help was asked for and printed; exit 0.
var errHelp = errors.New("help shown")

// loadConfig finds and loads the configuration (see
// docs/ARCHITECTURE.md, "Configuration and CLI").
func (e *env) loadConfig() (*Config, string, error) {
	path := configPath(e.config, e.vars)
	cfg, err := LoadConfig(path, e.vars)
	return cfg, path, err
}

// logger builds the slog logger the config asks for.
func newLogger(cfg *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(web.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(web.LogHandler(slog.NewTextHandler(w, opts)))
}

// openStore is the start of most commands: the configuration, its logger
// (on stderr) and the store, which must exist. The caller closes the store.
func (e *env) openStore() (*Config, *slog.Logger, backend.Store, error) {
	return e.open(openExistingStore)
}

// openOrCreateStore is openStore for the commands that put something into
// the store and so may start it: serve, import, subscribers add and
// import, digest send, restore and users add. Every
// other command on a missing store is an error, not an empty answer: a
// mistyped --config or store.dsn must not look like an empty site.
func (e *env) openOrCreateStore() (*Config, *slog.Logger, backend.Store, error) {
	return e.open(openStore)
}

func (e *env) open(opener func(context.Context, *Config) (backend.Store, error)) (*Config, *slog.Logger, backend.Store, error) {
	cfg, _, err := e.loadConfig()
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := opener(e.ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, newLogger(cfg, e.stderr), st, nil
}

// openStore opens the store, creating it if needed (see openOrCreateStore).
func openStore(ctx context.Context, cfg *Config) (backend.Store, error) {
	st, err := backend.Open(ctx, cfg.Store.Driver, cfg.Store.DSN, true)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return fixFeedAuthority(ctx, cfg, st)
}

// fixFeedAuthority: the store's first start fixes the authority of feed ids
// to today's host; later starts keep it, so a move to another domain keeps
// ids. Every opener calls it, so a store upgraded to stored ids gets its
// host from whichever command opens it first.
func fixFeedAuthority(ctx context.Context, cfg *Config, st backend.Store) (backend.Store, error) {
	if _, err := st.FixFeedAuthority(ctx, article.FeedAuthority(cfg.Site.BaseURL)); err != nil {
		st.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return st, nil
}

// openExistingStore opens the store only if it exists.
func openExistingStore(ctx context.Context, cfg *Config) (backend.Store, error) {
	st, err := backend.Open(ctx, cfg.Store.Driver, cfg.Store.DSN, false)
	if errors.Is(err, backend.ErrNoStore) {
		return nil, fmt.Errorf("store.dsn: no store at %s: check --config and store.dsn (only serve, import, subscribers add or import, digest send and restore start a store)", backend.Name(cfg.Store.Driver, cfg.Store.DSN))
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return fixFeedAuthority(ctx, cfg, st)
}

// siteCatalog is the message catalogue of the languages the site offers
// (site.languages), with the overrides of templates.dir.
func siteCatalog(cfg *Config) (*lang.Catalog, error) {
	return lang.Load(templates.FS(cfg.Templates.Dir), cfg.Site.Languages, cfg.Site.Language)
}

func siteLocation(cfg *Config) *time.Location {
	loc, err := time.LoadLocation(cfg.Site.Timezone)
	if err != nil {
		return time.UTC
	}
	return loc
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// syncContentFolder brings the store in step with content.dir (if it
// exists), logging files that fail to parse: serve does it at start, and so
// do commands that read articles.
func syncContentFolder(ctx context.Context, cfg *Config, st backend.Store, log *slog.Logger) error {
	if cfg.Content.Dir == "" || !fileExists(cfg.Content.Dir) {
		return nil
	}
	_, err := newSyncer(cfg, st, newImageServices(cfg, st, log).keeper, log).SyncLogged(ctx)
	return err
}

// newSyncer is the content folder's syncer, taking the store's sync lease
// so that of the instances sharing the store one at a time syncs
// (docs/ARCHITECTURE.md, "Leases and slots").
func newSyncer(cfg *Config, st backend.Store, images content.Images, log *slog.Logger) *content.Syncer {
	sy := content.NewSyncer(cfg.Content.Dir, st, siteLocation(cfg), log)
	sy.Lease, sy.Holder = st, folderID(cfg.Content.Dir)
	sy.Images = images
	return sy
}

// folderID names the content folder as this host sees it: the lease
// holder. Processes on one host reading one folder write the same, so
// they share the lease: serve restarted after a crash takes its lease back
// at once, and a command's sync is not refused while serve runs.
func folderID(dir string) string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return host + ":" + dir
}
