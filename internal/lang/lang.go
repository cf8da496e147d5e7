// Package lang holds Herald's message catalogues: every word a subscriber
// reads, in each shipped language, with CLDR plural rules (go-i18n) and
// language matching (golang.org/x/text/language). Catalogues live under
// templates/locales/ and templates.dir overrides them message by message
// (docs/ARCHITECTURE.md, "Languages").
package lang

import (
	"errors"
	"fmt"
	"html"
	"html/template"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"

	"github.com/herald-news/herald/templates"
)

// Shipped are the languages Herald ships catalogues for, the source first.
var shipped = []string{"en", "sv", "da", "nb", "fi", "de", "nl", "fr"}

// Shipped returns the shipped language codes, English first.
func Shipped() []string { return slices.Clone(shipped) }

// Pseudo is the pseudo-language that wraps every message in markers, so
// tests find text that bypasses the catalogues.
const Pseudo = "en-XA"

// Pseudo-language markers around every message.
const (
	PseudoOpen  = "⟦"
	PseudoClose = "⟧"
)

// names are each language's name in itself, for language choosers.
var names = map[string]string{
	"en": "English", "sv": "Svenska", "da": "Dansk", "nb": "Norsk bokmål", "fi": "Suomi",
	"de": "Deutsch", "nl": "Nederlands", "fr": "Français", Pseudo: "Pseudo",
}

// Name is a language's name in that language ("Deutsch"); the code for a
// language Herald has no name for.
func Name(code string) string {
	if n, ok := names[code]; ok {
		return n
	}
	return code
}

// Catalog is a loaded set of catalogues. It is read-only after Load and
// safe for concurrent use.
type Catalog struct {
	bundle  *i18n.Bundle
	offered []string
	def     string
	matcher language.Matcher
	ids     []string        // every message id of the source (en), sorted
	plural  map[string]bool // ids with plural forms
	loaded  map[string]bool // languages with a catalogue
	raw     map[string]rawMessages
}

// Load reads locales/*.yaml: the shipped catalogues first, then fsys's
// (templates.FS(dir)), so a file in templates.dir replaces single messages
// and may add a language. offered lists the languages a site offers
// (site.languages; empty: every language with a catalogue); def is the
// language used when nothing else decides (site.language).
func Load(fsys fs.FS, offered []string, def string) (*Catalog, error) {
	c := &Catalog{bundle: i18n.NewBundle(language.English), plural: map[string]bool{}, loaded: map[string]bool{},
		raw: map[string]rawMessages{}}
	c.bundle.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	for _, src := range []fs.FS{templates.Embedded(), fsys} {
		if src == nil {
			continue
		}
		files, err := fs.Glob(src, "locales/*.yaml")
		if err != nil {
			return nil, fmt.Errorf("locales: %w", err)
		}
		for _, f := range files {
			if err := c.loadFile(src, f); err != nil {
				return nil, err
			}
		}
	}
	en := c.messages("en")
	for id, m := range en {
		c.ids = append(c.ids, id)
		if m.One != "" || m.Few != "" || m.Many != "" || m.Two != "" || m.Zero != "" {
			c.plural[id] = true
		}
	}
	slices.Sort(c.ids)
	c.addPseudo(en)
	if len(offered) == 0 {
		for _, l := range shipped {
			if c.loaded[l] {
				offered = append(offered, l)
			}
		}
		for l := range c.loaded {
			if !slices.Contains(offered, l) && l != Pseudo {
				offered = append(offered, l)
			}
		}
	}
	if def == "" {
		def = "en"
	}
	def = c.base(def)
	var tags []language.Tag
	c.offered = nil
	for _, l := range append([]string{def}, offered...) {
		if slices.Contains(c.offered, l) {
			continue
		}
		t, err := language.Parse(l)
		if err != nil {
			return nil, fmt.Errorf("language %q: %w", l, err)
		}
		if !c.loaded[l] && l != Pseudo {
			return nil, fmt.Errorf("language %q: no catalogue locales/%s.yaml", l, l)
		}
		c.offered = append(c.offered, l)
		tags = append(tags, t)
	}
	c.def = def
	c.matcher = language.NewMatcher(tags)
	return c, nil
}

// loaded messages per language, kept for completeness checks.
type rawMessages map[string]*i18n.Message

func (c *Catalog) loadFile(src fs.FS, name string) error {
	data, err := fs.ReadFile(src, name)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	code := strings.TrimSuffix(path.Base(name), ".yaml")
	tag, err := language.Parse(code)
	if err != nil {
		return fmt.Errorf("%s: the file name is not a language tag: %w", name, err)
	}
	msgs, err := i18n.ParseMessageBytes(data, yaml.Unmarshal)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := c.bundle.AddMessages(tag, msgs...); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if c.raw[code] == nil {
		c.raw[code] = rawMessages{}
	}
	for _, m := range msgs {
		c.raw[code][m.ID] = m
	}
	c.loaded[code] = true
	return nil
}

func (c *Catalog) messages(code string) rawMessages { return c.raw[code] }

// addPseudo builds en-XA from the source: every form wrapped in markers.
func (c *Catalog) addPseudo(en rawMessages) {
	var msgs []*i18n.Message
	wrap := func(s string) string {
		if s == "" {
			return ""
		}
		return PseudoOpen + s + PseudoClose
	}
	for _, m := range en {
		msgs = append(msgs, &i18n.Message{ID: m.ID, Zero: wrap(m.Zero), One: wrap(m.One), Two: wrap(m.Two),
			Few: wrap(m.Few), Many: wrap(m.Many), Other: wrap(m.Other)})
	}
	c.bundle.AddMessages(language.MustParse(Pseudo), msgs...)
	c.loaded[Pseudo] = true
	c.raw[Pseudo] = nil
}

// base maps a tag to the catalogue that serves it ("de-AT" → "de", "no" →
// "nb"), or returns it unchanged.
func (c *Catalog) base(code string) string {
	if c.loaded[code] {
		return code
	}
	b, _, _ := strings.Cut(strings.ToLower(code), "-")
	switch b {
	case "no", "nn":
		b = "nb"
	}
	if c.loaded[b] {
		return b
	}
	return code
}

// Offered returns the offered languages, the default first.
func (c *Catalog) Offered() []string { return slices.Clone(c.offered) }

// Default returns the default language.
func (c *Catalog) Default() string { return c.def }

// Has reports whether code is an offered language (after mapping regional
// tags to their catalogue).
func (c *Catalog) Has(code string) bool {
	return code != "" && slices.Contains(c.offered, c.base(code))
}

// Resolve returns the offered language for a stored or requested code,
// else the default.
func (c *Catalog) Resolve(code string) string {
	if code == Pseudo && c.loaded[Pseudo] {
		return Pseudo
	}
	if b := c.base(code); slices.Contains(c.offered, b) {
		return b
	}
	return c.def
}

// Match picks the offered language for an Accept-Language header; the
// default when nothing matches well.
func (c *Catalog) Match(acceptLanguage string) string {
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return c.def
	}
	if slices.ContainsFunc(tags, func(t language.Tag) bool { return t.String() == Pseudo }) {
		return Pseudo
	}
	_, i, conf := c.matcher.Match(tags...)
	if conf < language.High {
		// "Low" confidence means a guess (nb for da); a reader asking for
		// Danish with no Danish offered sees the default language instead.
		if conf == language.No || conf == language.Low {
			return c.def
		}
	}
	return c.offered[i]
}

// L returns the localizer for a language (Resolve'd).
func (c *Catalog) L(code string) *Localizer {
	code = c.Resolve(code)
	return &Localizer{c: c, code: code, l: i18n.NewLocalizer(c.bundle, code)}
}

// Localizer translates into one language.
type Localizer struct {
	c    *Catalog
	code string
	l    *i18n.Localizer
}

// Lang is the language code ("de").
func (l *Localizer) Lang() string { return l.code }

// T returns message id with args given as name, value pairs; a "Count"
// argument chooses the plural form. A missing message returns the id
// itself (and herald check reports it), never an empty string.
func (l *Localizer) T(id string, args ...any) string {
	s, err := l.localize(id, args)
	if err != nil && s == "" {
		return id
	}
	return s
}

func (l *Localizer) localize(id string, args []any) (string, error) {
	data := map[string]any{}
	var count any
	for i := 0; i+1 < len(args); i += 2 {
		k, _ := args[i].(string)
		data[k] = args[i+1]
		if k == "Count" {
			count = args[i+1]
		}
	}
	return l.l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data, PluralCount: count})
}

// HTML is T for HTML templates: the message text is escaped, and so is
// every argument except a template.HTML one, which is inserted as is (a
// link or <strong> the template built).
func (l *Localizer) HTML(id string, args ...any) template.HTML {
	raw := map[string]string{}
	safe := make([]any, len(args))
	copy(safe, args)
	for i := 1; i < len(safe); i += 2 {
		var v string
		switch x := safe[i].(type) {
		case template.HTML:
			v = string(x)
		case string:
			v = html.EscapeString(x)
		default:
			continue // numbers and the like
		}
		// A sentinel survives escaping; the escaped value replaces it after.
		key := "\x00" + strconv.Itoa(i) + "\x00"
		raw[key] = v
		safe[i] = key
	}
	out := html.EscapeString(l.T(id, safe...))
	for k, v := range raw {
		out = strings.ReplaceAll(out, k, v)
	}
	return template.HTML(out)
}

// Month is the month's name as it stands alone ("Dezember", "joulukuu").
func (l *Localizer) Month(m time.Month) string { return l.T("month." + strconv.Itoa(int(m))) }

// Date writes a day in the language's long form: "2 December 2026",
// "2. Dezember 2026", "2.12.2026".
func (l *Localizer) Date(t time.Time) string {
	return l.T("date.long", "Day", t.Day(), "Month", l.Month(t.Month()), "MonthNumber", int(t.Month()), "Year", t.Year())
}

// Period writes the days from first to last as one span, naming the year
// (and the month) once when they share it: "3–17 November 2026", "24.
// September – 26. November 2026", "3.–17.11.2026"; one day is its Date.
func (l *Localizer) Period(first, last time.Time) string {
	switch {
	case first.Format(time.DateOnly) == last.Format(time.DateOnly):
		return l.Date(last)
	case first.Year() != last.Year():
		return l.Date(first) + " – " + l.Date(last)
	case first.Month() != last.Month():
		return l.T("date.day_month", "Day", first.Day(), "Month", l.Month(first.Month()), "MonthNumber", int(first.Month())) +
			" – " + l.Date(last)
	}
	return l.T("date.day", "Day", first.Day()) + "–" + l.Date(last)
}

// MonthYear writes a month of a year: "December 2026", "december 2026".
func (l *Localizer) MonthYear(t time.Time) string {
	return l.T("date.month_year", "Month", l.Month(t.Month()), "Year", t.Year())
}

// DateTime writes a day and a clock time with its zone.
func (l *Localizer) DateTime(t time.Time) string {
	return l.T("date.time", "Date", l.Date(t), "Time", t.Format("15:04 MST"))
}

// List joins items the language's way: "a, b and c".
func (l *Localizer) List(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return l.T("list.and", "Items", strings.Join(items[:len(items)-1], ", "), "Last", items[len(items)-1])
}

// Problem is one gap in a catalogue.
type Problem struct {
	Lang, ID, Form string // Form: a CLDR plural form, or "" for the whole message
}

func (p Problem) String() string {
	if p.Form != "" {
		return fmt.Sprintf("locales/%s.yaml: %s: no plural form %q", p.Lang, p.ID, p.Form)
	}
	return fmt.Sprintf("locales/%s.yaml: %s: missing", p.Lang, p.ID)
}

// pluralSamples are counts that reach every CLDR cardinal form the
// shipped languages have for whole numbers (French "many" needs a
// million).
var pluralSamples = []any{0, 1, 2, 3, 4, 5, 6, 11, 12, 21, 22, 25, 100, 101, 102, 1000000}

// Missing lists every message of the source catalogue that a language
// lacks, and every plural form its CLDR rules need that a message lacks.
// langs empty: every offered language.
func (c *Catalog) Missing(langs ...string) []Problem {
	if len(langs) == 0 {
		langs = c.offered
	}
	var out []Problem
	for _, code := range langs {
		if code == Pseudo {
			continue
		}
		msgs := c.raw[code]
		loc := i18n.NewLocalizer(c.bundle, code)
		for _, id := range c.ids {
			m, ok := msgs[id]
			if !ok || m.Other == "" && !c.plural[id] {
				out = append(out, Problem{Lang: code, ID: id})
				continue
			}
			if !c.plural[id] {
				continue
			}
			seen := map[string]bool{}
			for _, n := range pluralSamples {
				_, err := loc.Localize(&i18n.LocalizeConfig{MessageID: id, PluralCount: n})
				if form := missingForm(err); form != "" && !seen[form] {
					seen[form] = true
					out = append(out, Problem{Lang: code, ID: id, Form: form})
				}
			}
		}
	}
	return out
}

// missingForm pulls the form out of go-i18n's (unexported) error.
func missingForm(err error) string {
	if err == nil {
		return ""
	}
	var nf *i18n.MessageNotFoundErr
	if errors.As(err, &nf) {
		return ""
	}
	_, after, ok := strings.Cut(err.Error(), "has no plural form ")
	if !ok {
		return ""
	}
	f, _ := strconv.Unquote(after)
	return f
}
