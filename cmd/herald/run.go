package main

import (
	"context"
	"io"
)

func run(ctx context.Context, args []string, env map[string]string, stdout, stderr io.Writer) error {
	return nil
}
