package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// axeSource is axe-core 4.14.1 from the npm registry, kept with its
// licence in testdata/axe-core (see README.txt there).
//
//go:embed testdata/axe-core/axe.min.js
var axeSource string

// Violation is one axe-core rule a page breaks.
type Violation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s at %s", v.ID, v.Impact, v.Help, strings.Join(v.Targets, ", "))
}

// RunAxe injects axe-core into the page in ctx through the DevTools
// protocol (so the page's Content-Security-Policy stays as strict as
// served) and returns the serious and critical violations.
func RunAxe(ctx context.Context) ([]Violation, error) {
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === "object"`))
	if err != nil {
		return nil, err
	}
	if !loaded {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](axeSource+";true")); err != nil {
			return nil, fmt.Errorf("inject axe-core: %w", err)
		}
	}
	const run = `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(
  r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" "))}))))`
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe-core: %w", err)
	}
	var vs []Violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		return nil, fmt.Errorf("axe-core result: %w", err)
	}
	return vs, nil
}

// Axe fails t for every serious or critical axe-core violation of the
// page now shown in ctx; name says which page in the messages.
func Axe(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	violations, err := RunAxe(ctx)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, v := range violations {
		t.Errorf("%s: axe: %s", name, v)
	}
}

// cspWatch records every Content-Security-Policy violation a page
// reports, in window.__cspViolations; added through the DevTools protocol
// so it runs before the page's own scripts and is not itself subject to
// the policy.
const cspWatch = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", e => {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
    (e.sourceFile ? " in " + e.sourceFile + ":" + e.lineNumber : ""));
});`

// WatchCSP makes every page later loaded in ctx record its CSP
// violations; call it before navigating, then read them with
// CSPViolations.
func WatchCSP(ctx context.Context) error {
	return chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch})
		return err
	}))
}

// CSPViolations returns the violations the current page has reported
// since it loaded (WatchCSP must have been called before it loaded).
func CSPViolations(ctx context.Context) ([]string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.__cspViolations || ["WatchCSP was not called before this page loaded"]`))
}
