package main

import "fmt"

func cmdCheck(e *env, args []string) error {
	if _, err := e.flags("check", "herald check [--config FILE]", nil, args); err != nil {
		return helpOK(err)
	}
	_, path, err := e.loadConfig()
	if err != nil {
		return err
	}
	if path == "" {
		path = "built-in defaults"
	}
	fmt.Fprintf(e.stdout, "%s: ok\n", path)
	return nil
}
