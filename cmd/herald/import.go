package main

import (
	"flag"
	"fmt"

	"github.com/herald-news/herald/internal/content"
)

const importUsage = "herald import [--dry-run] PATH..."

func cmdImport(e *env, args []string) error {
	var dry bool
	paths, err := e.flags("import", importUsage, func(fs *flag.FlagSet) {
		fs.BoolVar(&dry, "dry-run", false, "parse and check, write nothing")
	}, args)
	if err != nil {
		return helpOK(err)
	}
	if len(paths) == 0 {
		return usagef("usage: "+importUsage, "import: no PATH given")
	}
	cfg, _, st, err := e.openOrCreateStore()
	if err != nil {
		return err
	}
	defer st.Close()
	sy := content.NewSyncer(cfg.Content.Dir, st, siteLocation(cfg), nil)
	sy.Images = newImageServices(cfg, st, nil).keeper
	rep, err := sy.Import(e.ctx, paths, dry)
	if err != nil {
		return err
	}
	for _, perr := range rep.Errors {
		fmt.Fprintln(e.stderr, perr)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(e.stderr, "warning: "+w.Error())
	}
	prefix := ""
	if dry {
		prefix = "dry run: would have "
	}
	images := ""
	if rep.Images > 0 || len(rep.Warnings) > 0 {
		images = fmt.Sprintf("; %d images kept, %d missing", rep.Images, len(rep.Warnings))
	}
	fmt.Fprintf(e.stdout, "%s%d added, %d updated, %d unchanged, %d failed%s\n", prefix, rep.Added, rep.Updated, rep.Unchanged, len(rep.Errors), images)
	if len(rep.Errors) > 0 {
		return errReported
	}
	return nil
}
