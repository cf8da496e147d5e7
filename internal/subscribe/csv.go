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

// Import reads a subscriber CSV (RFC 4180, UTF-8 with an optional BOM,
// header row) and adds every valid row not stored yet; a row naming an
// address already stored changes nothing, so importing twice is a no-op.
// Bad rows are reported (RowError) without stopping. The returned error
// is for failures of the whole import (unreadable header, store error).
func (s *Service) Import(ctx context.Context, r io.Reader, opt ImportOptions) (*ImportReport, error) {
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
	rep := &ImportReport{}
	now := s.cfg.Now().UTC()
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
			rep.Rows++
			rep.Errors = append(rep.Errors, &RowError{line, err.Error()})
			if rep.Rows > maxCSVRows {
				return rep, fmt.Errorf("more than %d rows", maxCSVRows)
			}
			continue
		}
		rep.Rows++
		if rep.Rows > maxCSVRows {
			return rep, fmt.Errorf("more than %d rows", maxCSVRows)
		}
		if len(rec) == 1 && rec[0] == "" && width > 1 {
			rep.Rows--
			continue // a blank line
		}
		if len(rec) != width {
			rep.Errors = append(rep.Errors, &RowError{line, fmt.Sprintf("%d fields, the header has %d", len(rec), width)})
			continue
		}
		sub, err := s.parseRow(rec, col, opt, now, source)
		if err != nil {
			rep.Errors = append(rep.Errors, &RowError{line, err.Error()})
			continue
		}
		key := strings.ToLower(sub.Email)
		if first, dup := firstLine[key]; dup {
			rep.Errors = append(rep.Errors, &RowError{line, fmt.Sprintf("%s is also on line %d", sub.Email, first)})
			continue
		}
		firstLine[key] = line
		if err := s.checkSuppressed(ctx, sub.Email); err != nil {
			rep.Errors = append(rep.Errors, &RowError{line, err.Error()})
			continue
		}
		subs = append(subs, sub)
	}
	subs, err = s.dropUnknownTags(ctx, subs, firstLine, rep)
	if err != nil {
		return rep, err
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
		if opt.SendOptin && sub.Status == StatusPending && sub.ConfirmSentAt.IsZero() {
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
				rep.Errors = append(rep.Errors, &RowError{firstLine[strings.ToLower(sub.Email)], "confirmation mail: " + err.Error()})
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
	subs, err := s.cfg.Store.ListSubscribers(ctx, Filter{})
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
