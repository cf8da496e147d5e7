package main

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"testing"
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
