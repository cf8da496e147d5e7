package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/store"
	"github.com/herald-news/herald/internal/store/backend"
	"github.com/herald-news/herald/internal/subscribe"
	"github.com/herald-news/herald/internal/web"
	"github.com/herald-news/herald/templates"
)

// mailerFactory builds the Mailer subscribe sends with and its Close;
// tests replace it.
type mailerFactory func(cfg *Config, log *slog.Logger) (subscribe.Mailer, func() error, error)

// tokenKeys are secrets.token_keys, or the key kept in the store.
func tokenKeys(ctx context.Context, cfg *Config, st backend.Store) ([][]byte, error) {
	var keys [][]byte
	for _, k := range cfg.Secrets.TokenKeys {
		if k != "" {
			keys = append(keys, []byte(k))
		}
	}
	if len(keys) > 0 {
		return keys, nil
	}
	k, err := st.TokenKey(ctx)
	if err != nil {
		return nil, err
	}
	return [][]byte{k}, nil
}

// newSubscribeService wires the subscriber service from the config.
// afterAnswer: send confirmation mails after the HTTP answer (serve).
func newSubscribeService(ctx context.Context, cfg *Config, st backend.Store, mailer subscribe.Mailer, log *slog.Logger, afterAnswer bool) (*subscribe.Service, error) {
	keys, err := tokenKeys(ctx, cfg, st)
	if err != nil {
		return nil, err
	}
	if sm, ok := mailer.(*subscribeMailer); ok {
		sm.verp, sm.subscriber = newVERP(cfg, keys), st.SubscriberByEmail
	}
	var nls []subscribe.Newsletter
	for _, n := range cfg.Newsletters {
		loc, _ := time.LoadLocation(n.Timezone) // Validate checked it
		nls = append(nls, subscribe.Newsletter{ID: n.ID, Title: n.Title, Default: n.Default, Tags: n.Tags, Location: loc})
	}
	siteLoc, _ := time.LoadLocation(cfg.Site.Timezone)
	return subscribe.New(subscribe.Config{
		BaseURL: cfg.Site.BaseURL, SiteTitle: cfg.Site.Title, SiteAddress: cfg.Site.Address,
		SiteLogo: cfg.Site.Logo, SiteAccent: cfg.Site.Accent, SiteLocation: siteLoc,
		Newsletters: nls, ConfirmTTL: cfg.Subscribe.ConfirmTTL.D(), ResendInterval: cfg.Subscribe.ResendInterval.D(),
		StoreIP: cfg.Subscribe.StoreIP, DomainPerHour: cfg.Subscribe.DomainPerHour, ConsentText: cfg.Subscribe.ConsentText, Welcome: cfg.Subscribe.Welcome,
		Templates: templates.FS(cfg.Templates.Dir), Languages: cfg.Site.Languages, Language: cfg.Site.Language,
		Tokens: subscribe.NewTokens(keys), Store: st, Mailer: mailer, Logger: log,
		MailAfterAnswer: afterAnswer, Suppression: storeSuppression{st, suppressionHasher{keys}},
	})
}

// subscribeWeb is the web surface's config for serve.
func subscribeWeb(cfg *Config, svc *subscribe.Service, rates subscribe.RateStore) *web.SubscribeConfig {
	return &web.SubscribeConfig{Service: svc, RatePerMinute: cfg.Subscribe.RatePerMinute, Rates: rates, AllowedOrigins: cfg.Embed.AllowedOrigins}
}

// trustedProxies parses http.trusted_proxies (Validate checked them).
func trustedProxies(cfg *Config) []netip.Prefix {
	var trusted []netip.Prefix
	for _, p := range cfg.HTTP.TrustedProxies {
		if pf, err := netip.ParsePrefix(p); err == nil {
			trusted = append(trusted, pf)
		} else if a, err := netip.ParseAddr(p); err == nil {
			trusted = append(trusted, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return trusted
}

// startSubscribers builds the service for serve, warns once when RFC 8058
// one-click cannot work (an http base URL), and returns the cleanup loop
// of unconfirmed subscribers for serve to run until shutdown.
func startSubscribers(ctx context.Context, cfg *Config, st backend.Store, log *slog.Logger, wrap func(mail.Sender) mail.Sender) (*subscribe.Service, func(context.Context), error) {
	mailer, closeMail, err := newSubscribeMailer(cfg, log)
	if err != nil {
		return nil, nil, err
	}
	if sm, ok := mailer.(*subscribeMailer); ok && wrap != nil {
		sm.sender = wrap(sm.sender) // metrics: reply classes and latency
	}
	svc, err := newSubscribeService(ctx, cfg, st, mailer, log, true)
	if err != nil {
		closeMail()
		return nil, nil, err
	}
	if !svc.OneClick() {
		log.Warn("site.base_url is not https: list mail carries List-Unsubscribe without List-Unsubscribe-Post (RFC 8058 one-click needs https)",
			slog.String("base_url", cfg.Site.BaseURL))
	}
	every := min(time.Hour, max(cfg.Subscribe.ConfirmTTL.D()/4, time.Minute))
	return svc, func(ctx context.Context) {
		// Confirmation mails a guard held back are sent soon after it
		// allows them: checked every quarter resend_interval (1s to 1m).
		svc.RunCleanup(ctx, every, min(time.Minute, max(time.Second, cfg.Subscribe.ResendInterval.D()/4)))
		svc.Wait() // confirmation mails still going out after their answers
		if err := closeMail(); err != nil {
			log.Warn("closing the mail transport", slog.Any("err", err))
		}
	}, nil
}

const subscribersUsage = `herald subscribers list [--status S] [--newsletter ID] [--json]
       herald subscribers add EMAIL [--name N] [--newsletter ID]... [--language CODE] [--confirmed]
       herald subscribers remove EMAIL
       herald subscribers erase EMAIL
       herald subscribers export-data EMAIL
       herald subscribers import [--dry-run] [--confirmed] [--send-optin] FILE.csv
       herald subscribers export [FILE.csv]`

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func cmdSubscribers(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: "+subscribersUsage, "subscribers: no subcommand given")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(e.stdout, "usage: "+subscribersUsage)
		return nil
	}
	var (
		status, newsletter, name string
		language                 string
		asJSON, confirmed, optin bool
		dryRun                   bool
		newsletters              multiFlag
		define                   func(*flag.FlagSet)
		usage                    string
		wantArgs                 [2]int // min, max positional arguments
	)
	switch sub {
	case "list":
		usage, wantArgs = "herald subscribers list [--status S] [--newsletter ID] [--json]", [2]int{0, 0}
		define = func(fs *flag.FlagSet) {
			fs.StringVar(&status, "status", "", "pending, active, unsubscribed or bounced")
			fs.StringVar(&newsletter, "newsletter", "", "newsletter id")
			fs.BoolVar(&asJSON, "json", false, "one JSON object a line")
		}
	case "add":
		usage, wantArgs = "herald subscribers add EMAIL [--name N] [--newsletter ID]... [--language CODE] [--confirmed]", [2]int{1, 1}
		define = func(fs *flag.FlagSet) {
			fs.StringVar(&name, "name", "", "display name")
			fs.Var(&newsletters, "newsletter", "newsletter id (repeatable; default: the default newsletters)")
			fs.StringVar(&language, "language", "", "language of the subscriber's pages and mails, one of site.languages (default: the newsletter's)")
			fs.BoolVar(&confirmed, "confirmed", false, "active at once, no confirmation mail")
		}
	case "remove", "erase", "export-data":
		usage, wantArgs = "herald subscribers "+sub+" EMAIL", [2]int{1, 1}
	case "import":
		usage, wantArgs = "herald subscribers import [--dry-run] [--confirmed] [--send-optin] FILE.csv", [2]int{1, 1}
		define = func(fs *flag.FlagSet) {
			fs.BoolVar(&confirmed, "confirmed", false, "rows without status are active")
			fs.BoolVar(&optin, "send-optin", false, "mail a confirmation link to pending rows")
			fs.BoolVar(&dryRun, "dry-run", false, "report what the import would do; change nothing")
		}
	case "export":
		usage, wantArgs = "herald subscribers export [FILE.csv]", [2]int{0, 1}
	default:
		return usagef("usage: "+subscribersUsage, "subscribers: unknown subcommand %q", sub)
	}
	pos, err := e.flags("subscribers "+sub, usage, define, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) < wantArgs[0] || len(pos) > wantArgs[1] {
		return usagef("usage: "+usage, "subscribers %s: want %s", sub, map[[2]int]string{{0, 0}: "no arguments", {1, 1}: "one argument", {0, 1}: "at most one argument"}[wantArgs])
	}
	if status != "" && !subscribe.Status(status).Valid() {
		return usagef("usage: "+usage, "subscribers list: --status must be pending, active, unsubscribed or bounced, got %q", status)
	}
	if newsletter != "" { // a usage error, whether or not the store exists
		if cfg, _, err := e.loadConfig(); err == nil && !slices.ContainsFunc(cfg.Newsletters, func(n Newsletter) bool { return n.ID == newsletter }) {
			return usagef("usage: "+usage, "subscribers list: unknown newsletter %q", newsletter)
		}
	}
	if language != "" { // a usage error, checked before a store is created
		if err := checkLanguageFlag(e, language); err != nil {
			return usagef("usage: "+usage, "subscribers add: %v", err)
		}
	}
	open := e.openStore
	if sub == "add" || (sub == "import" && !dryRun) {
		open = e.openOrCreateStore
	}
	cfg, log, st, err := open()
	if err != nil {
		return err
	}
	defer st.Close()
	if mails := (sub == "add" && !confirmed) || (sub == "import" && optin && !dryRun); mails {
		if err := checkSigningKey(e.ctx, cfg, st); err != nil {
			return fmt.Errorf("subscribers %s: %w", sub, err)
		}
	}
	factory := e.mailer
	if factory == nil {
		factory = newSubscribeMailer
	}
	mailer, closeMail, err := factory(cfg, log)
	if err != nil {
		return err
	}
	defer closeMail()
	svc, err := newSubscribeService(e.ctx, cfg, st, mailer, log, false)
	if err != nil {
		return err
	}
	ctx := e.ctx
	arg := func(i int) string {
		if i < len(pos) {
			return pos[i]
		}
		return ""
	}
	switch sub {
	case "list":
		subs, err := svc.List(ctx, subscribe.Filter{Status: subscribe.Status(status), Newsletter: newsletter})
		if errors.Is(err, subscribe.ErrUnknownNewsletter) {
			return usagef("usage: "+usage, "subscribers list: unknown newsletter %q", newsletter)
		}
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.stdout)
		for _, s := range subs {
			if asJSON {
				if err := enc.Encode(s); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\n", s.Email, s.Status, strings.Join(s.Newsletters, ","))
		}
		return nil
	case "add":
		s, sent, err := svc.AddIn(ctx, language, arg(0), name, newsletters, nil, confirmed)
		if err != nil {
			return cliError(arg(0), err)
		}
		note := ""
		if sent {
			note = " (confirmation mail sent)"
		} else if s.Status == subscribe.StatusPending {
			note = " (confirmation mail queued: one went to this mailbox or domain recently; serve sends it when allowed)"
		}
		fmt.Fprintf(e.stdout, "%s\t%s\t%s%s\n", s.Email, s.Status, strings.Join(s.Newsletters, ","), note)
		return nil
	case "remove":
		s, err := svc.Remove(ctx, arg(0))
		if err != nil {
			return cliError(arg(0), err)
		}
		fmt.Fprintf(e.stdout, "%s\t%s\n", s.Email, s.Status)
		return nil
	case "erase":
		if err := svc.Erase(ctx, arg(0)); err != nil {
			return cliError(arg(0), err)
		}
		fmt.Fprintf(e.stdout, "%s: erased\n", arg(0))
		return nil
	case "export-data":
		d, err := svc.ExportData(ctx, arg(0))
		if err != nil {
			return cliError(arg(0), err)
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	case "import":
		f, err := os.Open(arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		opt := subscribe.ImportOptions{Confirmed: confirmed, SendOptin: optin, Source: filepath.Base(arg(0))}
		if dryRun {
			return importDryRun(e, svc, f, arg(0), opt)
		}
		rep, err := svc.Import(ctx, f, opt)
		if err != nil {
			return fmt.Errorf("%s:%w", arg(0), err)
		}
		sort.SliceStable(rep.Errors, func(i, j int) bool { return rep.Errors[i].Line < rep.Errors[j].Line })
		for _, re := range rep.Errors {
			fmt.Fprintln(e.stderr, re.Error())
		}
		fmt.Fprintf(e.stdout, "%d rows: %d added, %d unchanged, %d failed, %d confirmation mails sent\n",
			rep.Rows, rep.Added, rep.Unchanged, len(rep.Errors), rep.Mailed)
		if len(rep.Errors) > 0 {
			return errReported
		}
		return nil
	case "export":
		if arg(0) == "" {
			return svc.Export(ctx, e.stdout)
		}
		f, err := os.Create(arg(0))
		if err != nil {
			return err
		}
		if err := svc.Export(ctx, f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	return nil
}

// checkLanguageFlag accepts a --language the site offers (site.languages,
// with the catalogues of templates.dir).
func checkLanguageFlag(e *env, code string) error {
	cfg, _, err := e.loadConfig()
	if err != nil {
		return nil // the command reports the config itself
	}
	cat, err := siteCatalog(cfg)
	if err != nil {
		return nil
	}
	if !cat.Has(code) {
		return fmt.Errorf("--language %q is not one of site.languages (%s)", code, strings.Join(cat.Offered(), ", "))
	}
	return nil
}

// cliError names the address in a subscriber error.
func cliError(email string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s: no such subscriber", email)
	}
	return fmt.Errorf("%s: %w", email, err)
}

// importDryRun prints what importing the file would do (PlanImport) and
// changes nothing; bad rows and suppressed addresses are listed by line
// on stderr, and make the exit status 1 as they do for import.
func importDryRun(e *env, svc *subscribe.Service, r io.Reader, name string, opt subscribe.ImportOptions) error {
	plan, err := svc.PlanImport(e.ctx, r, opt)
	if err != nil {
		return fmt.Errorf("%s:%w", name, err)
	}
	bad := append(append([]*subscribe.RowError{}, plan.Errors...), plan.Suppressed...)
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
	for _, re := range bad {
		fmt.Fprintln(e.stderr, re.Error())
	}
	fmt.Fprintf(e.stdout, "%d rows: %d would be added, %d already present (left as they are), %d suppressed, %d bad; nothing changed (dry run)\n",
		plan.Rows, len(plan.Add), len(plan.Present), len(plan.Suppressed), len(plan.Errors))
	if len(bad) > 0 {
		return errReported
	}
	return nil
}
