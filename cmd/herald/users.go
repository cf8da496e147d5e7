package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/herald-news/herald/internal/admin"
)

const usersUsage = `herald users add EMAIL --role owner|manager|editor [--name N]
       herald users list
       herald users remove EMAIL
       herald users reset EMAIL`

// cmdUsers manages the admin web UI's accounts. add and reset print a
// one-time setup link (valid 24 h) instead of mailing it: the operator
// hands it over (docs/ARCHITECTURE.md, "HTTP surfaces").
func cmdUsers(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: "+usersUsage, "users: no subcommand given")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(e.stdout, "usage: "+usersUsage)
		return nil
	}
	var (
		role, name string
		define     func(*flag.FlagSet)
		usage      string
		nargs      int
	)
	switch sub {
	case "add":
		usage, nargs = "herald users add EMAIL --role owner|manager|editor [--name N]", 1
		define = func(fs *flag.FlagSet) {
			fs.StringVar(&role, "role", "", "owner, manager or editor")
			fs.StringVar(&name, "name", "", "display name")
		}
	case "list":
		usage, nargs = "herald users list", 0
	case "remove", "reset":
		usage, nargs = "herald users "+sub+" EMAIL", 1
	default:
		return usagef("usage: "+usersUsage, "users: unknown subcommand %q", sub)
	}
	pos, err := e.flags("users "+sub, usage, define, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != nargs {
		return usagef("usage: "+usage, "users %s: want %d argument(s), got %d", sub, nargs, len(pos))
	}
	if sub == "add" && !admin.ValidRole(role) {
		return usagef("usage: "+usage, "users add: --role must be owner, manager or editor, got %q", role)
	}
	open := e.openStore
	if sub == "add" {
		open = e.openOrCreateStore
	}
	cfg, _, st, err := open()
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	switch sub {
	case "add", "reset":
		var token string
		if sub == "add" {
			token, err = admin.AddUser(e.ctx, st, admin.CLI, pos[0], name, role, now)
		} else {
			token, err = admin.ResetUser(e.ctx, st, admin.CLI, pos[0], now)
		}
		if err != nil {
			return fmt.Errorf("users %s: %w", sub, err)
		}
		fmt.Fprintf(e.stdout, "%s\n", admin.SetupURL(cfg.Site.BaseURL, token))
		fmt.Fprintf(e.stderr, "this link sets the password of %s; it works once, until %s\n", pos[0], now.Add(admin.SetupValidity).UTC().Format(time.RFC3339))
	case "list":
		us, err := st.Users(e.ctx)
		if err != nil {
			return fmt.Errorf("users list: %w", err)
		}
		for _, u := range us {
			state := "active"
			if u.PasswordHash == "" {
				state = "setup pending"
			}
			fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%s\n", u.Email, u.Role, u.Name, state)
		}
	case "remove":
		if err := admin.RemoveUser(e.ctx, st, admin.CLI, pos[0], now); err != nil {
			return fmt.Errorf("users remove: %w", err)
		}
	}
	return nil
}
