package main

import "fmt"

// cmdCheck validates the configuration: every problem at once, one a line
// (exit 1), and warnings about settings that work but likely are not meant.
func cmdCheck(e *env, args []string) error {
	if _, err := e.flags("check", "herald check [--config FILE]", nil, args); err != nil {
		return helpOK(err)
	}
	cfg, path, err := e.loadConfig()
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintln(e.stderr, "warning: "+w.Error())
	}
	if path == "" {
		path = "built-in defaults"
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", path)
	return nil
}
