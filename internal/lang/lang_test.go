package lang_test

import (
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/herald-news/herald/internal/lang"
)

// TestComplete: every message of the source exists in every shipped
// language with every plural form CLDR gives that language.
func TestComplete(t *testing.T) {
	c, err := lang.Load(nil, nil, "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range c.Missing(lang.Shipped()...) {
		t.Error(p)
	}
}

func TestMissingNamesGaps(t *testing.T) {
	fsys := fstest.MapFS{
		"locales/it.yaml": {Data: []byte("lang.name: \"Italiano\"\npage.articles:\n  other: \"{{.Count}} x\"\n")},
		"locales/fr.yaml": {Data: []byte("page.articles:\n  one: \"{{.Count}} article\"\n  other: \"{{.Count}} articles\"\n")},
	}
	c, err := lang.Load(fsys, []string{"en", "fr", "it"}, "en")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.Missing() {
		got = append(got, p.String())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		`locales/fr.yaml: page.articles: no plural form "many"`,
		`locales/it.yaml: subscribe.title: missing`,
		`locales/it.yaml: page.articles: no plural form "one"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("Missing lacks %q; got:\n%s", want, all)
		}
	}
	if strings.Contains(all, "locales/en.yaml") {
		t.Errorf("the source reported:\n%s", all)
	}
}

func TestOverrideOneMessage(t *testing.T) {
	fsys := fstest.MapFS{"locales/sv.yaml": {Data: []byte("subscribe.button: \"Prenumerera nu\"\n")}}
	c, err := lang.Load(fsys, nil, "en")
	if err != nil {
		t.Fatal(err)
	}
	sv := c.L("sv")
	if got := sv.T("subscribe.button"); got != "Prenumerera nu" {
		t.Errorf("override: %q", got)
	}
	if got := sv.T("subscribe.email"); got != "E-postadress" {
		t.Errorf("the rest of the shipped catalogue: %q", got)
	}
	if len(c.Missing("sv")) != 0 {
		t.Errorf("an override made gaps: %v", c.Missing("sv"))
	}
}

func TestMatch(t *testing.T) {
	c, err := lang.Load(nil, []string{"en", "sv", "de", "nb"}, "en")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ accept, want string }{
		{"sv", "sv"},
		{"sv-SE,sv;q=0.9,en;q=0.5", "sv"},
		{"de-AT", "de"},
		{"no", "nb"},
		{"fr", "en"}, // not offered here
		{"", "en"},
		{"garbage;;;", "en"},
		{"fi, de;q=0.5", "de"},
	} {
		if got := c.Match(tc.accept); got != tc.want {
			t.Errorf("Match(%q) = %q, want %q", tc.accept, got, tc.want)
		}
	}
}

func TestDatesAndPlurals(t *testing.T) {
	c, err := lang.Load(nil, nil, "en")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ lang, date, period, one, two string }{
		{"en", "2 December 2026", "December 2026", "1 article", "2 articles"},
		{"sv", "2 december 2026", "december 2026", "1 artikel", "2 artiklar"},
		{"da", "2. december 2026", "december 2026", "1 artikel", "2 artikler"},
		{"nb", "2. desember 2026", "desember 2026", "1 artikkel", "2 artikler"},
		{"fi", "2.12.2026", "joulukuu 2026", "1 artikkeli", "2 artikkelia"},
		{"de", "2. Dezember 2026", "Dezember 2026", "1 Artikel", "2 Artikel"},
		{"nl", "2 december 2026", "december 2026", "1 artikel", "2 artikelen"},
		{"fr", "2 décembre 2026", "décembre 2026", "1 article", "2 articles"},
	} {
		l := c.L(tc.lang)
		if got := l.Date(day); got != tc.date {
			t.Errorf("%s: Date = %q, want %q", tc.lang, got, tc.date)
		}
		if got := l.MonthYear(day); got != tc.period {
			t.Errorf("%s: MonthYear = %q, want %q", tc.lang, got, tc.period)
		}
		if got := l.T("page.articles", "Count", 1); got != tc.one {
			t.Errorf("%s: 1 = %q, want %q", tc.lang, got, tc.one)
		}
		if got := l.T("page.articles", "Count", 2); got != tc.two {
			t.Errorf("%s: 2 = %q, want %q", tc.lang, got, tc.two)
		}
	}
}

// TestPeriod: a span of days says the year (and the month) once, the
// language's way.
func TestPeriod(t *testing.T) {
	c, err := lang.Load(nil, nil, "en")
	if err != nil {
		t.Fatal(err)
	}
	d := func(y int, m time.Month, day int) time.Time { return time.Date(y, m, day, 9, 0, 0, 0, time.UTC) }
	spans := [][2]time.Time{
		{d(2026, 12, 1), d(2026, 12, 1)},
		{d(2026, 11, 3), d(2026, 11, 17)},
		{d(2026, 9, 24), d(2026, 11, 26)},
		{d(2026, 12, 28), d(2027, 1, 4)},
	}
	for _, tc := range []struct {
		lang string
		want [4]string
	}{
		{"en", [4]string{"1 December 2026", "3–17 November 2026", "24 September – 26 November 2026", "28 December 2026 – 4 January 2027"}},
		{"sv", [4]string{"1 december 2026", "3–17 november 2026", "24 september – 26 november 2026", "28 december 2026 – 4 januari 2027"}},
		{"de", [4]string{"1. Dezember 2026", "3.–17. November 2026", "24. September – 26. November 2026", "28. Dezember 2026 – 4. Januar 2027"}},
		{"fi", [4]string{"1.12.2026", "3.–17.11.2026", "24.9. – 26.11.2026", "28.12.2026 – 4.1.2027"}},
		{"fr", [4]string{"1 décembre 2026", "3–17 novembre 2026", "24 septembre – 26 novembre 2026", "28 décembre 2026 – 4 janvier 2027"}},
	} {
		l := c.L(tc.lang)
		for i, sp := range spans {
			if got := l.Period(sp[0], sp[1]); got != tc.want[i] {
				t.Errorf("%s: Period(%s, %s) = %q, want %q", tc.lang, sp[0].Format(time.DateOnly), sp[1].Format(time.DateOnly), got, tc.want[i])
			}
		}
	}
}

func TestHTMLEscapes(t *testing.T) {
	c, err := lang.Load(fstest.MapFS{"locales/en.yaml": {Data: []byte("unsubscribe.stops: \"Stop <mail> to {{.Email}}.\"\n")}}, nil, "en")
	if err != nil {
		t.Fatal(err)
	}
	got := c.L("en").HTML("unsubscribe.stops", "Email", "<b>x</b>")
	if want := "Stop &lt;mail&gt; to &lt;b&gt;x&lt;/b&gt;."; string(got) != want {
		t.Errorf("HTML = %q, want %q", got, want)
	}
}

func TestPseudo(t *testing.T) {
	c, err := lang.Load(nil, nil, "en")
	if err != nil {
		t.Fatal(err)
	}
	got := c.L(lang.Pseudo).T("page.articles", "Count", 3)
	if got != lang.PseudoOpen+"3 articles"+lang.PseudoClose {
		t.Errorf("pseudo: %q", got)
	}
}
