package subscribe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// CSVColumns are the columns of the subscriber CSV (docs/ARCHITECTURE.md,
// "Subscribers"), in the order Export writes them. Import takes them in
// any order; only email is required.
var CSVColumns = []string{"email", "name", "newsletters", "tags", "status", "subscribed_at", "language"}

// RowError is a problem with one CSV row; it prints as "LINE: problem".
type RowError struct {
	Line int
	Msg  string
}

func (e *RowError) Error() string { return fmt.Sprintf("%d: %s", e.Line, e.Msg) }

// ImportOptions are the flags of `subscribers import`.
type ImportOptions struct {
	// Confirmed makes rows without a status active (else pending).
	Confirmed bool
	// SendOptin mails a confirmation link to pending rows never mailed.
	SendOptin bool
	// Source names the file in the consent record ("import:FILE").
	Source string
}

// ImportReport counts what Import did; Errors lists bad rows in order.
type ImportReport struct {
	Rows, Added, Unchanged, Mailed int
	Errors                         []*RowError
}

// maxCSVRows bounds one import so a runaway file cannot exhaust memory.
const maxCSVRows = 5_000_000

// ImportPlan is what importing a CSV would do, worked out without
// changing anything (PlanImport); ApplyImport carries it out.
type ImportPlan struct {
	Options ImportOptions
	// Rows is how many data rows the file has (blank lines not counted).
	Rows int
	// Add are the rows whose address is not stored: they would be added.
	Add []PlannedRow
	// Present are the rows whose address is stored already: they are
	// left exactly as they are (with --send-optin a pending one never
	// mailed gets its confirmation mail, as Import does).
	Present []PlannedRow
	// Suppressed are rows whose address is on the suppression list
	// (bounced or complained): never imported.
	Suppressed []*RowError
	// Errors are the bad rows, by line, each with its reason.
	Errors []*RowError
	now    time.Time
}

// PlannedRow is one good row of an import plan.
type PlannedRow struct {
	Line       int
	Subscriber *Subscriber
}

// Import reads a subscriber CSV (RFC 4180, UTF-8 with an optional BOM,
// header row) and adds every valid row not stored yet; a row naming an
// address already stored changes nothing, so importing twice is a no-op.
// Bad rows are reported (RowError) without stopping. The returned error
// is for failures of the whole import (unreadable header, store error).
// It is PlanImport and ApplyImport in one.
func (s *Service) Import(ctx context.Context, r io.Reader, opt ImportOptions) (*ImportReport, error) {
	plan, err := s.PlanImport(ctx, r, opt)
	if err != nil {
		if plan != nil {
			return &ImportReport{Rows: plan.Rows, Errors: plan.allErrors()}, err
		}
		return nil, err
	}
	return s.ApplyImport(ctx, plan)
}

// PlanImport reads a subscriber CSV as Import does and reports what
// importing it would do, changing nothing: the rows it would add, those
// already present, the suppressed addresses and every bad row with its
// line and reason. The error is for the whole file (unreadable header,
// store error), with what was planned so far.
func (s *Service) PlanImport(ctx context.Context, r io.Reader, opt ImportOptions) (*ImportPlan, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if bom, err := br.Peek(3); err == nil && bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("1: empty file: want a header row with at least an email column")
		}
		return nil, fmt.Errorf("1: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		known := false
		for _, c := range CSVColumns {
			if h == c {
				known = true
			}
		}
		if !known {
			return nil, fmt.Errorf("1: unknown column %q (columns: %s)", h, strings.Join(CSVColumns, ","))
		}
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("1: column %q twice", h)
		}
		col[h] = i
	}
	if _, ok := col["email"]; !ok {
		return nil, errors.New("1: no email column")
	}
	width := len(header)
	plan := &ImportPlan{Options: opt, now: s.cfg.Now().UTC()}
	source := "import"
	if opt.Source != "" {
		source = "import:" + cleanSource(opt.Source)
	}
	var subs []*Subscriber
	firstLine := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := 0
		if err == nil && len(rec) > 0 {
			line, _ = cr.FieldPos(0)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
				err = pe.Err
			}
			plan.Rows++
			plan.Errors = append(plan.Errors, &RowError{line, err.Error()})
			if plan.Rows > maxCSVRows {
				return plan, fmt.Errorf("more than %d rows", maxCSVRows)
			}
			continue
		}
		plan.Rows++
		if plan.Rows > maxCSVRows {
			return plan, fmt.Errorf("more than %d rows", maxCSVRows)
		}
		if len(rec) == 1 && rec[0] == "" && width > 1 {
			plan.Rows--
			continue // a blank line
		}
		if len(rec) != width {
			plan.Errors = append(plan.Errors, &RowError{line, fmt.Sprintf("%d fields, the header has %d", len(rec), width)})
			continue
		}
		sub, err := s.parseRow(rec, col, opt, plan.now, source)
		if err != nil {
			plan.Errors = append(plan.Errors, &RowError{line, err.Error()})
			continue
		}
		key := strings.ToLower(sub.Email)
		if first, dup := firstLine[key]; dup {
			plan.Errors = append(plan.Errors, &RowError{line, fmt.Sprintf("%s is also on line %d", sub.Email, first)})
			continue
		}
		firstLine[key] = line
		if err := s.checkSuppressed(ctx, sub.Email); errors.Is(err, ErrSuppressed) {
			plan.Suppressed = append(plan.Suppressed, &RowError{line, err.Error()})
			continue
		} else if err != nil {
			return plan, err
		}
		subs = append(subs, sub)
	}
	rep := &ImportReport{}
	subs, err = s.dropUnknownTags(ctx, subs, firstLine, rep)
	if err != nil {
		return plan, err
	}
	plan.Errors = append(plan.Errors, rep.Errors...)
	slices.SortStableFunc(plan.Errors, func(a, b *RowError) int { return a.Line - b.Line })
	addrs := make([]string, len(subs))
	for i, sub := range subs {
		addrs[i] = sub.Email
	}
	have, err := s.cfg.Store.SubscribersExist(ctx, addrs)
	if err != nil {
		return plan, err
	}
	for i, sub := range subs {
		row := PlannedRow{Line: firstLine[strings.ToLower(sub.Email)], Subscriber: sub}
		if have[i] {
			plan.Present = append(plan.Present, row)
		} else {
			plan.Add = append(plan.Add, row)
		}
	}
	return plan, nil
}

// allErrors are the plan's bad and suppressed rows, by line.
func (p *ImportPlan) allErrors() []*RowError {
	out := append(append([]*RowError{}, p.Errors...), p.Suppressed...)
	slices.SortStableFunc(out, func(a, b *RowError) int { return a.Line - b.Line })
	return out
}

// ApplyImport carries out plan: it adds the rows the plan would add (an
// address stored since the plan was made is left as it is and counted
// unchanged), leaves the present ones as they are, and with --send-optin
// mails pending rows never mailed. The report's Errors are the plan's
// bad and suppressed rows plus any mail that failed.
func (s *Service) ApplyImport(ctx context.Context, plan *ImportPlan) (*ImportReport, error) {
	rep := &ImportReport{Rows: plan.Rows, Errors: plan.allErrors()}
	rows := append(append([]PlannedRow{}, plan.Add...), plan.Present...)
	slices.SortStableFunc(rows, func(a, b PlannedRow) int { return a.Line - b.Line })
	subs := make([]*Subscriber, len(rows))
	for i, r := range rows {
		subs[i] = r.Subscriber
	}
	now := plan.now
	if now.IsZero() {
		now = s.cfg.Now().UTC()
	}
	created, err := s.cfg.Store.ImportSubscribers(ctx, subs, now)
	if err != nil {
		return rep, err
	}
	for i, sub := range subs {
		if created[i] {
			rep.Added++
		} else {
			rep.Unchanged++
		}
		if plan.Options.SendOptin && sub.Status == StatusPending && sub.ConfirmSentAt.IsZero() {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			if created[i] || len(sub.Newsletters) == 0 {
				if full, err := s.cfg.Store.GetSubscriber(ctx, sub.ID); err == nil {
					sub = full
				}
			}
			if err := s.sendConfirm(ctx, sub, now); err != nil {
				s.log.ErrorContext(ctx, "confirmation mail failed", slog.String("email", sub.Email), slog.Any("err", err))
				rep.Errors = append(rep.Errors, &RowError{rows[i].Line, "confirmation mail: " + err.Error()})
				continue
			}
			if err := s.cfg.Store.MarkConfirmSent(ctx, sub.ID, now); err != nil {
				return rep, err
			}
			rep.Mailed++
		}
	}
	return rep, nil
}

// dropUnknownTags reports every row with a topic tag no article and no
// newsletter has (its digests would all be skipped) and leaves it out;
// the store is asked once for all distinct tags.
func (s *Service) dropUnknownTags(ctx context.Context, subs []*Subscriber, firstLine map[string]int, rep *ImportReport) ([]*Subscriber, error) {
	seen := map[string]bool{}
	var ask []string
	for _, sub := range subs {
		for _, t := range sub.Tags {
			if !seen[t] && !s.newsletterTag(t) {
				ask = append(ask, t)
			}
			seen[t] = true
		}
	}
	if len(ask) == 0 {
		return subs, nil
	}
	unknown, err := s.cfg.Store.UnknownTags(ctx, ask)
	if err != nil || len(unknown) == 0 {
		return subs, err
	}
	bad := map[string]bool{}
	for _, t := range unknown {
		bad[t] = true
	}
	kept := subs[:0]
	for _, sub := range subs {
		i := slices.IndexFunc(sub.Tags, func(t string) bool { return bad[t] })
		if i < 0 {
			kept = append(kept, sub)
			continue
		}
		rep.Errors = append(rep.Errors, &RowError{firstLine[strings.ToLower(sub.Email)],
			fmt.Sprintf("%s %q: no article and no newsletter has it", ErrUnknownTag, sub.Tags[i])})
	}
	slices.SortStableFunc(rep.Errors, func(a, b *RowError) int { return a.Line - b.Line })
	return kept, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ";") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (s *Service) parseRow(rec []string, col map[string]int, opt ImportOptions, now time.Time, source string) (*Subscriber, error) {
	get := func(name string) string {
		if i, ok := col[name]; ok {
			return unguardCell(rec[i])
		}
		return ""
	}
	email, err := NormalizeEmail(get("email"))
	if err != nil {
		return nil, err
	}
	name, err := CleanName(get("name"))
	if err != nil {
		return nil, err
	}
	nls, err := s.checkNewsletters(splitList(get("newsletters")))
	if err != nil {
		return nil, err
	}
	tags, err := cleanTags(splitList(get("tags")))
	if err != nil {
		return nil, err
	}
	status := Status(strings.ToLower(strings.TrimSpace(get("status"))))
	switch {
	case status == "" && opt.Confirmed:
		status = StatusActive
	case status == "":
		status = StatusPending
	case !status.Valid():
		return nil, fmt.Errorf("%w: status %q (want pending, active, unsubscribed or bounced)", ErrInvalidInput, clip(string(status)))
	}
	at := now
	if v := strings.TrimSpace(get("subscribed_at")); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return nil, fmt.Errorf("%w: subscribed_at %q is not RFC 3339 (2026-01-31T09:00:00Z)", ErrInvalidInput, clip(v))
		}
		at = t.UTC()
	}
	language, err := s.checkLanguage(get("language"))
	if err != nil {
		return nil, err
	}
	return &Subscriber{Email: email, Name: name, Status: status, Newsletters: nls, Tags: tags, Language: language,
		Consent: Consent{At: at, Source: source}}, nil
}

// clip shortens a value quoted in an error message and drops control characters.
func clip(s string) string {
	s = cleanSource(s)
	if len(s) > 60 {
		s = strings.ToValidUTF8(s[:60], "") + "…"
	}
	return s
}

// Export writes every subscriber as CSV with the header of CSVColumns;
// Import reads it back to the same subscribers.
func (s *Service) Export(ctx context.Context, w io.Writer) error {
	return s.ExportFilter(ctx, w, Filter{})
}

// ExportFilter writes the subscribers matching f (as Search takes it) in
// Export's format: the admin list's "export this filter".
func (s *Service) ExportFilter(ctx context.Context, w io.Writer, f Filter) error {
	f, err := s.CheckFilter(f)
	if err != nil {
		return err
	}
	subs, err := s.cfg.Store.ListSubscribers(ctx, f)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVColumns); err != nil {
		return err
	}
	for _, sub := range subs {
		at := sub.Consent.At
		if at.IsZero() {
			at = sub.CreatedAt
		}
		row := []string{sub.Email, sub.Name, strings.Join(sub.Newsletters, ";"), strings.Join(sub.Tags, ";"),
			string(sub.Status), at.UTC().Format(time.RFC3339), sub.Language}
		// Every cell, not just the name: an address may start with "=" too.
		for i := range row {
			row[i] = guardCell(row[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// formulaStart are the first characters that make a spreadsheet read a
// cell as a formula (CSV injection), plus the guard "'" itself, so that
// guarding is reversible for every value.
const formulaStart = "=+-@\t\r'"

// guardCell keeps a spreadsheet from reading a cell as a formula: a cell
// that starts with one of formulaStart gets a leading "'", which
// spreadsheets show as text and unguardCell removes on import, so an
// export imports back unchanged.
func guardCell(v string) string {
	if v != "" && strings.IndexByte(formulaStart, v[0]) >= 0 {
		return "'" + v
	}
	return v
}

func unguardCell(v string) string {
	if len(v) > 1 && v[0] == '\'' && strings.IndexByte(formulaStart, v[1]) >= 0 {
		return v[1:]
	}
	return v
}
