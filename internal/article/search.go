package article

import (
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// SearchFold is the form titles are stored and searched in: Unicode case
// folding of the NFC text, so "ÖSTER" finds "Österlen" and "SØREN" finds
// "Søren" in any language. Letters keep their diacritics (ö is not o).
// It lives here, not in SQL, so every backend folds alike (neither
// SQLite's lower() nor PostgreSQL's under a C locale folds beyond ASCII).
func SearchFold(s string) string {
	return cases.Fold().String(norm.NFC.String(strings.TrimSpace(s)))
}

// LikeContains is a LIKE pattern (with ESCAPE '\') matching any text that
// contains the folded q.
func LikeContains(q string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(SearchFold(q)) + "%"
}
