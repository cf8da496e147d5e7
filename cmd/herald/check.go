package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"

	"github.com/herald-news/herald/internal/content"
	"github.com/herald-news/herald/internal/mail"
	"github.com/herald-news/herald/internal/store/backend"
)

// cmdCheck validates the configuration: every problem at once, one a line
// (exit 1), and warnings about settings that work but likely are not meant.
// A valid configuration is followed by the deliverability checklist and
// the DNS records to publish.
func cmdCheck(e *env, args []string) error {
	if _, err := e.flags("check", "herald check [--config FILE]", nil, args); err != nil {
		return helpOK(err)
	}
	cfg, path, err := e.loadConfig()
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(e.stderr, "warning: "+w.Error())
	}
	if path == "" {
		path = "built-in defaults"
	}
	cat, err := siteCatalog(cfg)
	if err != nil {
		return fmt.Errorf("%s: site.languages: %w", path, err)
	}
	if missing := cat.Missing(); len(missing) > 0 {
		for _, p := range missing {
			fmt.Fprintln(e.stderr, p.String())
		}
		return fmt.Errorf("%s: %d catalogue messages missing in offered languages (site.languages)", path, len(missing))
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", path)
	err = deliverability(e.stdout, cfg)
	missingImages(e.ctx, e.stdout, cfg)
	return err
}

// missingImages lists the articles whose image is not kept yet, with
// the last error and the next attempt (docs/ARCHITECTURE.md, "Remote
// images"). They are shown without it meanwhile, so this is a warning,
// not a failed check: the exit code stays 0. With no store yet there is
// nothing to list.
func missingImages(ctx context.Context, w io.Writer, cfg *Config) {
	st, err := backend.Open(ctx, cfg.Store.Driver, cfg.Store.DSN, false)
	if errors.Is(err, backend.ErrNoStore) {
		return
	}
	if err != nil {
		fmt.Fprintf(w, "\nImages: cannot read the store: %v\n", err)
		return
	}
	defer st.Close()
	pend, err := st.PendingImages(ctx)
	if err != nil {
		fmt.Fprintf(w, "\nImages: %v\n", err)
		return
	}
	if len(pend) == 0 {
		fmt.Fprintln(w, "\nImages: every article image is kept")
		return
	}
	fmt.Fprintf(w, "\nImages not kept yet (%d; their articles show none until then):\n", len(pend))
	for _, p := range pend {
		why, next := "not tried yet", "at the next sync or retry"
		if p.LastError != "" {
			why = fmt.Sprintf("%s (%d attempts)", p.LastError, p.Attempts)
		}
		if !p.NextAttempt.IsZero() {
			next = "after " + p.NextAttempt.UTC().Format("2006-01-02 15:04:05 UTC")
		}
		fmt.Fprintf(w, "  [warn] %s: image: %s: %s; next try %s\n", content.ImagePlace(cfg.Content.Dir, p), p.Ref, why, next)
	}
}

// deliverability prints what mailbox providers check of the
// configuration, and the DNS records that make it pass: DKIM and DMARC
// exactly, SPF and the bounce MX as templates naming what only the
// operator knows. A DKIM key that cannot be read is an error.
func deliverability(w io.Writer, cfg *Config) error {
	fromDomains := []string{}
	seen := map[string]bool{}
	for _, f := range append([]string{cfg.Mail.From}, newsletterFroms(cfg)...) {
		a, err := netmail.ParseAddress(f)
		if err != nil {
			continue // Validate reported it
		}
		if d := strings.ToLower(domainOf(a.Address)); d != "" && !seen[d] {
			seen[d] = true
			fromDomains = append(fromDomains, d)
		}
	}
	fmt.Fprintln(w, "\nDeliverability:")
	item := func(ok bool, format string, a ...any) {
		mark := "[ok]  "
		if !ok {
			mark = "[todo]"
		}
		fmt.Fprintf(w, "  %s %s\n", mark, fmt.Sprintf(format, a...))
	}
	var records []string
	d := cfg.Mail.DKIM
	var keyErr error
	if d.KeyFile == "" {
		item(false, "DKIM signing is off: set mail.dkim.domain, selector and key_file")
	} else {
		item(true, "DKIM signs as d=%s, selector %s", d.Domain, d.Selector)
		for _, fd := range fromDomains {
			item(aligned(fd, d.Domain), "From domain %s aligned with DKIM domain %s (DMARC relaxed alignment)", fd, d.Domain)
		}
		txt, err := dkimTXT(d)
		if err != nil {
			keyErr = err
			item(false, "DKIM key: %v", err)
		} else {
			records = append(records, fmt.Sprintf("%s._domainkey.%s. TXT %s", d.Selector, d.Domain, zoneTXT(txt)))
		}
	}
	item(strings.HasPrefix(cfg.Site.BaseURL, "https://"), "site.base_url is https (one-click unsubscribe, RFC 8058): %s", cfg.Site.BaseURL)
	bounce := cfg.Mail.Bounce.Domain
	item(bounce != "", "bounce domain (mail.bounce.domain) set: DSNs come back to Herald and bounced addresses stop")

	for _, fd := range fromDomains {
		records = append(records, fmt.Sprintf("_dmarc.%s. TXT %s", fd, zoneTXT(dmarcRecord(fd))))
	}
	spfDomain := ""
	if len(fromDomains) > 0 {
		spfDomain = fromDomains[0]
	}
	if rp, err := netmail.ParseAddress(cfg.Mail.ReturnPath); err == nil {
		spfDomain = strings.ToLower(domainOf(rp.Address))
	}
	if bounce != "" {
		spfDomain = bounce
	}
	fmt.Fprintln(w, "\nDNS records to publish:")
	for _, r := range records {
		fmt.Fprintln(w, "  "+r)
	}
	fmt.Fprintln(w, "\nTemplates (replace the <…> parts):")
	if spfDomain != "" {
		fmt.Fprintf(w, "  %s. TXT \"v=spf1 include:<your relay's SPF include> ~all\"\n", spfDomain)
	}
	if bounce != "" {
		fmt.Fprintf(w, "  %s. MX 10 <your MX host, which relays to mail.bounce.listen>.\n", bounce)
	}
	return keyErr
}

func newsletterFroms(cfg *Config) []string {
	var out []string
	for _, n := range cfg.Newsletters {
		if n.From != "" {
			out = append(out, n.From)
		}
	}
	return out
}

func domainOf(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		return addr[at+1:]
	}
	return ""
}

// aligned is DMARC's relaxed alignment, approximated without a public
// suffix list: one domain equals the other or lies under it.
func aligned(from, dkim string) bool {
	from, dkim = strings.ToLower(from), strings.ToLower(strings.TrimSuffix(dkim, "."))
	return from == dkim || strings.HasSuffix(from, "."+dkim) || strings.HasSuffix(dkim, "."+from)
}

// dmarcRecord is a starting policy: monitor only (p=none), aggregate
// reports to the domain's dmarc-reports mailbox; tighten it once reports
// show every source passes.
func dmarcRecord(domain string) string {
	return "v=DMARC1; p=none; rua=mailto:dmarc-reports@" + domain
}

// dkimTXT computes the public key record from mail.dkim.key_file.
func dkimTXT(d DKIMConfig) (string, error) {
	key, err := mail.LoadDKIMKey(d.KeyFile)
	if err != nil {
		return "", err
	}
	signer, err := mail.NewDKIM(mail.DKIMConfig{Domain: d.Domain, Selector: d.Selector, Key: key})
	if err != nil {
		return "", err
	}
	return signer.TXTRecord()
}

// zoneTXT quotes a TXT value for a zone file, split into strings of at
// most 255 bytes as DNS requires (an RSA key is longer).
func zoneTXT(v string) string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+v[:255]+`"`)
		v = v[255:]
	}
	return strings.Join(append(parts, `"`+v+`"`), " ")
}
