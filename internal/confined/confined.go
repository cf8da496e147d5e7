// Package confined reads files inside one folder only. Every open goes
// through os.Root, so no path, ".." or symlink leads out of the folder
// (symlinks that stay inside are followed), and only regular files and
// folders open: a FIFO or device could block or stream forever.
package confined

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// ErrNotRegular: the name is neither a regular file nor a folder.
var ErrNotRegular = errors.New("not a regular file")

// FS returns dir's files as an fs.FS confined to dir. The folder is opened
// afresh on each Open, so replacing it (a deploy that swaps a symlink)
// takes effect at once.
func FS(dir string) fs.FS { return dirFS(dir) }

type dirFS string

func (d dirFS) Open(name string) (fs.File, error) {
	f, _, err := Open(string(d), name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Open opens name (a slash path, as fs.ValidPath) inside dir, with its
// FileInfo; see the package comment for what it refuses.
func Open(dir, name string) (*os.File, fs.FileInfo, error) { return OpenIf(dir, name, nil) }

// OpenIf is Open that first asks allow (when not nil) about the file it
// would open, and refuses it with fs.ErrPermission unless allowed. The
// question comes before the open because opening can have effects:
// closing any descriptor of a SQLite file drops the process's locks on it.
func OpenIf(dir, name string, allow func(fs.FileInfo) bool) (*os.File, fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	// Stat first: opening a FIFO would block.
	st, err := root.Stat(name)
	if err != nil {
		return nil, nil, err
	}
	if !st.IsDir() && !st.Mode().IsRegular() {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: ErrNotRegular}
	}
	if allow != nil && !allow(st) {
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, nil, err
	}
	// The file opened may not be the one stat'd (a rename in between).
	if st2, err := f.Stat(); err != nil || !os.SameFile(st, st2) {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("changed while opening: %w", fs.ErrNotExist)}
	}
	return f, st, nil
}

// Stat is fs.Stat of name inside dir, following symlinks that stay inside.
func Stat(dir, name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: fs.ErrInvalid}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.Stat(name)
}
