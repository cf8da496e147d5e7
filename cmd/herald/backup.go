package main

import (
	"fmt"

	"github.com/herald-news/herald/internal/store/backend"
)

func cmdBackup(e *env, args []string) error {
	const usage = "herald backup FILE"
	files, err := e.flags("backup", usage, nil, args)
	if err != nil {
		return helpOK(err)
	}
	if len(files) != 1 {
		return usagef("usage: "+usage, "backup: give one FILE")
	}
	cfg, _, st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	if err := backend.Backup(e.ctx, st, cfg.Store.Driver, cfg.Store.DSN, files[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backed up %s to %s\n", cfg.Store.DSN, files[0])
	return nil
}

func cmdRestore(e *env, args []string) error {
	const usage = "herald restore FILE"
	files, err := e.flags("restore", usage, nil, args)
	if err != nil {
		return helpOK(err)
	}
	if len(files) != 1 {
		return usagef("usage: "+usage, "restore: give one FILE")
	}
	cfg, _, err := e.loadConfig()
	if err != nil {
		return err
	}
	if err := backend.Restore(e.ctx, cfg.Store.Driver, cfg.Store.DSN, files[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "restored %s from %s\n", cfg.Store.DSN, files[0])
	return nil
}
