package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/herald-news/herald/internal/testenv"
)

// TestOneScheduleParser keeps the cron spec rules in one place,
// digest.ParseSchedule: a second parser in the config package drifts from
// the one that schedules the digests.
func TestOneScheduleParser(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/robfig/cron/v3" {
				t.Errorf("%s imports %s; parse schedules with digest.ParseSchedule", name, p)
			}
		}
	}
}

// citation finds a citation like `docs/ARCHITECTURE.md, "Tests"` in text whose
// line breaks and comment markers are already folded into spaces.
var (
	citation   = regexp.MustCompile(`ARCHITECTURE\.md, "([^"]+)"`)
	commentGap = regexp.MustCompile(`\s*\n\s*(//|--|#)?\s*`)
)

// TestArchitectureCitations keeps code comments citing what is in the
// repository: no Go or SQL file cites the design document kept outside it,
// and every docs/ARCHITECTURE.md section a comment names is a heading of
// that file.
func TestArchitectureCitations(t *testing.T) {
	root := testenv.RepoRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	headings := map[string]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			headings[strings.TrimSpace(h)] = true
		}
	}
	outside := "DESIGN " + "§" // split so this file does not match itself
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // .git and tool caches
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".go" && ext != ".sql" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		text := string(b)
		if strings.Contains(text, outside) {
			t.Errorf("%s cites %s…, a document outside the repository: cite docs/ARCHITECTURE.md", rel, outside)
		}
		for _, m := range citation.FindAllStringSubmatch(commentGap.ReplaceAllString(text, " "), -1) {
			if !headings[m[1]] {
				t.Errorf("%s cites docs/ARCHITECTURE.md, %q: no such section", rel, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
