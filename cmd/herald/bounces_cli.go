package main

import (
	"encoding/hex"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/herald-news/herald/internal/subscribe"
)

const bouncesUsage = `herald bounces list [--limit N]`

const suppressionsUsage = `herald suppressions list
       herald suppressions remove EMAIL`

// cmdBounces lists inbound mail Herald kept because it could not classify
// it (README, "Bounces and complaints").
func cmdBounces(e *env, args []string) error {
	if len(args) == 0 || args[0] != "list" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			fmt.Fprintln(e.stdout, "usage: "+bouncesUsage)
			return nil
		}
		return usagef("usage: "+bouncesUsage, "bounces: want the subcommand list")
	}
	var limit int
	pos, err := e.flags("bounces list", bouncesUsage, func(fs *flag.FlagSet) {
		fs.IntVar(&limit, "limit", 50, "show at most N messages, newest first")
	}, args[1:])
	if err != nil {
		return helpOK(err)
	}
	if len(pos) > 0 {
		return usagef("usage: "+bouncesUsage, "bounces list: want no arguments")
	}
	_, _, st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	kept, err := st.KeptMessages(e.ctx, max(limit, 1))
	if err != nil {
		return err
	}
	for _, m := range kept {
		fmt.Fprintf(e.stdout, "%s  %s  %d bytes  %s\n  %s\n", m.CreatedAt.Format(time.RFC3339), m.ID, len(m.Raw), m.Reason, subjectOf(m.Raw))
	}
	return nil
}

// subjectOf is the Subject line of a raw message, for a listing.
func subjectOf(raw []byte) string {
	head, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	for _, l := range strings.Split(strings.ReplaceAll(head, "\r\n", "\n"), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Subject") {
			return "Subject:" + v
		}
	}
	return "(no subject)"
}

// cmdSuppressions lists the suppression list or lifts one address.
func cmdSuppressions(e *env, args []string) error {
	if len(args) == 0 {
		return usagef("usage: "+suppressionsUsage, "suppressions: no subcommand given")
	}
	sub, args := args[0], args[1:]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintln(e.stdout, "usage: "+suppressionsUsage)
		return nil
	}
	want := 0
	switch sub {
	case "list":
	case "remove":
		want = 1
	default:
		return usagef("usage: "+suppressionsUsage, "suppressions: unknown subcommand %q", sub)
	}
	pos, err := e.flags("suppressions "+sub, suppressionsUsage, nil, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) != want {
		return usagef("usage: "+suppressionsUsage, "suppressions %s: want %d argument(s)", sub, want)
	}
	cfg, log, st, err := e.openStore()
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := tokenKeys(e.ctx, cfg, st)
	if err != nil {
		return err
	}
	h := suppressionHasher{keys}
	if sub == "list" {
		list, err := st.Suppressions(e.ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SINCE\tREASON\tEMAIL\tHASH")
		for _, x := range list {
			email := x.Email
			if email == "" {
				email = "(erased or never a subscriber)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.CreatedAt.Format(time.RFC3339), x.Reason, email, hex.EncodeToString(x.Hash)[:16])
		}
		return tw.Flush()
	}
	email, err := subscribe.NormalizeEmail(pos[0])
	if err != nil {
		return usagef("usage: "+suppressionsUsage, "suppressions remove: %v", err)
	}
	found, err := st.Unsuppress(e.ctx, h.All(email))
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("suppressions remove: %s is not suppressed", email)
	}
	log.Info("suppression lifted", "by", "cli")
	fmt.Fprintf(e.stdout, "%s may be mailed again\n", email)
	return nil
}
