package content

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSymlinksStayInside: the sync and the import read articles and
// their images through os.Root, so a symlink that leads out of the folder
// publishes nothing and sizes nothing, while one that stays inside works.
func TestSymlinksStayInside(t *testing.T) {
	ctx := context.Background()
	var pic bytes.Buffer
	png.Encode(&pic, image.NewGray(image.Rect(0, 0, 40, 30)))
	outside := t.TempDir()
	write(t, outside, "secret.png", pic.String())
	write(t, outside, "secret.md", art("Leaked secret", ""))

	t.Run("Sync", func(t *testing.T) {
		s, st, dir := setup(t)
		write(t, dir, "images/pic.png", pic.String())
		must(t, os.Symlink("pic.png", filepath.Join(dir, "images", "alias.png")))
		must(t, os.Symlink(filepath.Join(outside, "secret.png"), filepath.Join(dir, "images", "out.png")))
		must(t, os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(dir, "leak.md")))
		write(t, dir, "inside.md", art("Inside", "image: images/alias.png\n"))
		write(t, dir, "outside.md", art("Outside", "image: images/out.png\n"))
		rep, err := s.Sync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		errs := joinErrs(rep.Errors)
		if rep.Added != 1 || !strings.Contains(errs, "leak.md") || !strings.Contains(errs, "images/out.png: file not found in the content folder") {
			t.Fatalf("sync: %v\n%s", rep, errs)
		}
		a, err := st.GetArticle(ctx, "inside")
		if err != nil || a.Image == nil || a.Image.Width != 40 {
			t.Fatalf("inside: %+v %v", a, err)
		}
		for _, slug := range []string{"leak", "secret", "outside"} {
			if _, err := st.GetArticle(ctx, slug); err == nil {
				t.Errorf("%s was published", slug)
			}
		}
	})
	t.Run("Import", func(t *testing.T) {
		s, st, _ := setup(t)
		src := t.TempDir()
		write(t, src, "images/pic.png", pic.String())
		must(t, os.Symlink(filepath.Join(outside, "secret.png"), filepath.Join(src, "images", "out.png")))
		must(t, os.Symlink(filepath.Join(outside, "secret.md"), filepath.Join(src, "leak.md")))
		write(t, src, "ok.md", art("Ok", "image: images/pic.png\n"))
		write(t, src, "outside.md", art("Outside", "image: images/out.png\n"))
		rep, err := s.Import(ctx, []string{src}, false)
		if err != nil {
			t.Fatal(err)
		}
		errs := joinErrs(rep.Errors)
		if rep.Added != 1 || !strings.Contains(errs, "leak.md") || !strings.Contains(errs, "images/out.png: file not found in the content folder") {
			t.Fatalf("import: %v\n%s", rep, errs)
		}
		if _, err := st.GetArticle(ctx, "secret"); err == nil {
			t.Error("the symlinked article outside was imported")
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func joinErrs(errs []error) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}
