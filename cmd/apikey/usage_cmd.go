package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/apikit/apikey"
)

// setupUsage is the usage command: the metered uses of a key, or the
// totals of an owner (--owner, or DefaultOwner) and its busiest keys.
func setupUsage(fs *flag.FlagSet) action {
	key := fs.String("key", "", "")
	since := fs.String("since", "30d", "")
	step := fs.String("step", "day", "")
	asJSON := fs.Bool("json", false, "")
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) > 0 {
			return usageErrorf("usage takes no arguments, only flags (did you mean --key %s?)", describeArg(args[0]))
		}
		q := apikey.UsageQuery{Owner: c.owner}
		switch *step {
		case "hour":
			q.Step = apikey.UsageByHour
		case "day":
			q.Step = apikey.UsageByDay
		default:
			return usageErrorf("usage: --step must be hour or day, not %q", *step)
		}
		now := time.Now()
		from, err := parseSince(*since, now)
		if err != nil {
			return err
		}
		q.From, q.To = from, now
		s, err := c.connect(ctx, false)
		if err != nil {
			return err
		}
		defer s.close()
		if *key != "" {
			k, err := s.find(ctx, *key)
			if err != nil {
				return err
			}
			q.KeyID = k.ID
		}
		r, err := s.manager.Usage(ctx, q)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(c.stdout, r)
		}
		return writeUsage(c.stdout, r)
	}
}

// writeUsage prints a usage report as a table: one line per step with
// uses, then the total, then the busiest keys of an owner's report.
func writeUsage(w io.Writer, r apikey.UsageReport) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tVERIFIED\tINACTIVE\tEXPIRED\tMISSING SCOPE\tRATE LIMITED\tNO CREDITS")
	line := func(label string, c apikey.UsageCounts) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\n", label, c.Verified, c.Inactive, c.Expired, c.MissingScope, c.RateLimited, c.CreditsExhausted)
	}
	for _, p := range r.Points {
		if p.Verified != 0 || p.Refused() != 0 {
			line(formatTime(p.Start), p.UsageCounts)
		}
	}
	line("total", r.Total)
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.KeyID.String() != "00000000-0000-0000-0000-000000000000" || len(r.Busiest) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nBUSIEST KEYS")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tVERIFIED\tREFUSED")
	for _, k := range r.Busiest {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", k.KeyID, k.Verified, k.Refused)
	}
	return tw.Flush()
}
