package content

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"strings"
	"testing"
)

// TestUploadsReserved: the content folder's u/ belongs to uploaded
// images (/media/u/), so an article whose image is a file there is
// refused with its own error, while an article naming an upload's
// address imports.
func TestUploadsReserved(t *testing.T) {
	ctx := context.Background()
	var pic bytes.Buffer
	png.Encode(&pic, image.NewGray(image.Rect(0, 0, 4, 3)))
	s, st, dir := setup(t)
	write(t, dir, "u/pic.png", pic.String())
	write(t, dir, "reserved.md", art("Reserved", "image: u/pic.png\n"))
	write(t, dir, "u/inside.md", art("Inside u", "image: pic.png\n"))
	write(t, dir, "upload.md", art("Upload", "image: /media/u/0123456789abcdef0123456789abcdef.jpg\nimage_alt: Quay\n"))
	rep, err := s.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	errs := joinErrs(rep.Errors)
	for _, want := range []string{"reserved.md:", "u/inside.md:", "image: u/pic.png: the content folder's u/ is reserved for uploaded images"} {
		if !strings.Contains(errs, want) {
			t.Errorf("errors lack %q:\n%s", want, errs)
		}
	}
	if rep.Added != 1 || len(rep.Errors) != 2 {
		t.Fatalf("sync: %v\n%s", rep, errs)
	}
	a, err := st.GetArticle(ctx, "upload")
	if err != nil || !a.Image.Upload() || a.Image.Alt != "Quay" {
		t.Fatalf("upload article: %+v, %v", a, err)
	}
}
