package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleImagesShip: every image the shipped example articles name is
// a file in the repository, never a remote URL that may not exist.
func TestExampleImagesShip(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "articles")
	files, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example articles: %v", err)
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			v, ok := strings.CutPrefix(sc.Text(), "image:")
			if !ok {
				continue
			}
			v = strings.Trim(strings.TrimSpace(v), `"'`)
			if strings.Contains(v, "://") {
				t.Errorf("%s: image %s is remote", filepath.Base(f), v)
			} else if _, err := os.Stat(filepath.Join(dir, v)); err != nil {
				t.Errorf("%s: image %s: %v", filepath.Base(f), v, err)
			}
		}
		fh.Close()
	}
}
