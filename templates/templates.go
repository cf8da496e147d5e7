// Package templates holds Herald's embedded templates and assets: email/,
// pages/, embed/, admin/ and assets/. Config key templates.dir names a folder whose
// files replace the embedded ones of the same path, so an operator can
// override one template without copying the rest.
package templates

import (
	"embed"
	"errors"
	"io/fs"

	"github.com/herald-news/herald/internal/confined"
)

//go:embed email pages embed assets admin locales
var embedded embed.FS

// FS returns the templates: dir's files over the embedded ones (dir may be
// ""). The folder is read through os.Root (internal/confined): a symlink
// in it that leads outside is an error, never a way to read other files.
func FS(dir string) fs.FS {
	if dir == "" {
		return embedded
	}
	return overlay{top: confined.FS(dir), base: embedded}
}

// Embedded returns the built-in templates only.
func Embedded() fs.FS { return embedded }

type overlay struct{ top, base fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	f, err := o.top.Open(name)
	if err == nil {
		if st, serr := f.Stat(); serr == nil && !st.IsDir() {
			return f, nil
		}
		f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	return o.base.Open(name)
}

// ReadDir lists the embedded folder plus files only the overlay has, so
// fs.Glob and template.ParseFS see both.
func (o overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	base, berr := fs.ReadDir(o.base, name)
	top, terr := fs.ReadDir(o.top, name)
	if berr != nil && terr != nil {
		return nil, berr
	}
	seen := map[string]bool{}
	var out []fs.DirEntry
	for _, e := range top {
		seen[e.Name()] = true
		out = append(out, e)
	}
	for _, e := range base {
		if !seen[e.Name()] {
			out = append(out, e)
		}
	}
	return out, nil
}
