package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/apikit/apikey"
)

func setupRoll(fs *flag.FlagSet) action {
	grace := fs.String("grace", "", "")
	expires := fs.String("expires", "", "")
	createdBy := fs.String("created-by", defaultCreatedBy(), "")
	return func(ctx context.Context, c *cli, args []string) error {
		if err := wantArgs(args, 1, "<key>"); err != nil {
			return err
		}
		if *grace == "" {
			return usageErrorf("roll: --grace is required: how long the old key keeps working (24h; 0s for a leaked key)")
		}
		g, err := parseGrace(*grace)
		if err != nil {
			return err
		}
		expiresAt, err := parseExpiry(*expires, time.Now())
		if err != nil {
			return err
		}
		if err := refuseKeyIn("--created-by", *createdBy); err != nil {
			return err
		}
		if err := apikey.ValidateName(*createdBy); err != nil {
			return fmt.Errorf("--created-by: %w", err)
		}
		return c.withKey(ctx, args[0], func(s *session, old *apikey.Key) error {
			k, plaintext, err := s.manager.Roll(ctx, old.ID, apikey.RollRequest{Grace: g, ExpiresAt: expiresAt, CreatedBy: *createdBy})
			if err != nil {
				return notFoundAs(err, old)
			}
			expiry := ""
			if k.ExpiresAt != nil {
				expiry = ", expires " + formatTime(*k.ExpiresAt)
			}
			fmt.Fprintf(c.stderr, "Rolled key %s (%s): it works until %s. Its successor: ID %s, preview %s%s.\n",
				old.Preview, old.ID, formatTime(time.Now().Add(g)), k.ID, k.Preview, expiry)
			if _, werr := fmt.Fprintln(c.stdout, plaintext); werr != nil {
				// Nobody has the successor: say so, and how to recover.
				return fmt.Errorf("cannot write the new key to standard output (%v): nobody has it; delete key %s and create a new key (the old key works until the end of its grace period)", werr, k.ID)
			}
			fmt.Fprintln(c.stderr, "Store the key now: it cannot be shown again.")
			return nil
		})
	}
}

func setupPrune(fs *flag.FlagSet) action {
	dryRun := fs.Bool("dry-run", false, "")
	olderThan := fs.String("older-than", "30d", "")
	batch := fs.Int("batch", apikey.DefaultPruneBatch, "")
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) > 0 {
			return usageErrorf("prune takes no arguments, only flags")
		}
		age, err := parseGrace(*olderThan)
		if err != nil {
			return usageErrorf("prune: --older-than %q is not a duration from 0s to 366d (720h, 30d)", *olderThan)
		}
		if *batch < 1 || *batch > apikey.MaxPruneBatch {
			return usageErrorf("prune: --batch must be 1 to %d", apikey.MaxPruneBatch)
		}
		s, err := c.connect(ctx, false)
		if err != nil {
			return err
		}
		defer s.close()
		keys, err := s.manager.Prune(ctx, apikey.PruneOptions{Owner: c.owner, OlderThan: age, DryRun: *dryRun, BatchSize: *batch})
		verb := "Deleted"
		if *dryRun {
			verb = "Would delete"
		}
		for _, k := range keys {
			fmt.Fprintf(c.stdout, "%s key %s (%s, %s, stopped %s).\n", verb, k.Preview, k.ID, quoteName(k.Name), stopped(k))
		}
		if err != nil {
			return fmt.Errorf("prune stopped after %d keys: %w", len(keys), err)
		}
		fmt.Fprintf(c.stderr, "%s %d keys.\n", verb, len(keys))
		return nil
	}
}

// quoteName quotes a name from the database for one line of output, its
// control and bidi characters escaped.
func quoteName(name string) string { return `"` + escapeText(name) + `"` }

// stopped is when a key stopped working.
func stopped(k *apikey.Key) string {
	if end, ok := k.EndsAt(); ok {
		return formatTime(end)
	}
	return "never"
}
