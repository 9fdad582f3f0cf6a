package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

func setupEvents(fs *flag.FlagSet) action {
	key := fs.String("key", "", "")
	since := fs.String("since", "", "")
	asJSON := fs.Bool("json", false, "")
	limit := fs.Int("limit", 0, "")
	oldest := fs.Bool("oldest", false, "")
	kind := fs.String("kind", "", "")
	actor := fs.String("actor", "", "")
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) > 0 {
			return usageErrorf("events takes no arguments, only flags (did you mean --key %s?)", describeArg(args[0]))
		}
		if *limit < 0 {
			return usageErrorf("events: --limit must not be negative")
		}
		now := time.Now()
		opts := apikey.EventOptions{Owner: c.owner, Limit: apikey.MaxEventsLimit, Newest: !*oldest, Kind: apikey.EventKind(*kind), ActorID: *actor}
		if *since != "" {
			t, err := parseSince(*since, now)
			if err != nil {
				return err
			}
			opts.Since = t
		}
		s, err := c.connect(ctx, false)
		if err != nil {
			return err
		}
		defer s.close()
		if *key != "" {
			// An ID is taken as is, so that a deleted key's history can be
			// read; a preview or a full key names a key that exists.
			if id, err := uuid.Parse(strings.TrimSpace(*key)); err == nil {
				opts.KeyID = id
			} else {
				k, err := s.find(ctx, *key)
				if err != nil {
					return err
				}
				opts.KeyID = k.ID
			}
		}
		events := []apikey.Event{}
		for {
			if *limit > 0 {
				opts.Limit = min(apikey.MaxEventsLimit, *limit-len(events))
			}
			page, err := s.manager.Events(ctx, opts)
			if err != nil {
				return err
			}
			events = append(events, page.Events...)
			if page.Next == "" || *limit > 0 && len(events) >= *limit {
				break
			}
			opts.Cursor = page.Next
		}
		if *asJSON {
			return writeJSON(c.stdout, events)
		}
		return writeEvents(c.stdout, events, c.owner == "")
	}
}

// parseSince reads --since: an RFC 3339 time, a date (midnight UTC), or a
// duration ago (24h, 7d).
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= maxDays {
			return now.AddDate(0, 0, -n), nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, usageErrorf("--since %q is neither a duration ago (24h, 7d) nor an RFC 3339 time (2026-01-31T00:00:00Z) or date (2026-01-31)", s)
}

// writeEvents prints events as a table: when, the key, who, what changed
// (old → new) and why. Every value from the database is escaped.
func writeEvents(w io.Writer, events []apikey.Event, withOwner bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "AT\tKEY\tBY\tCHANGE\tREASON"
	if withOwner {
		header = "AT\tOWNER\tKEY\tBY\tCHANGE\tREASON"
	}
	fmt.Fprintln(tw, header)
	for _, e := range events {
		owner := ""
		if withOwner {
			owner = escapeText(e.Owner) + "\t"
		}
		reason := escapeText(e.Reason)
		if reason == "" {
			reason = "-"
		}
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\n", formatTime(e.At), owner, e.KeyID, describeActor(e), describeEvent(e), reason)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(events) == 0 {
		_, err := fmt.Fprintln(w, "(no events)")
		return err
	}
	return nil
}

// describeActor names who made a change: the name, and beside it what
// tells two actors of the same name apart (the preview of an
// administrator's key, or the actor's ID), escaped.
func describeActor(e apikey.Event) string {
	switch {
	case e.ActorPreview != "":
		return escapeText(e.ActorName) + " (" + escapeText(e.ActorPreview) + ")"
	case e.ActorID != "":
		return escapeText(e.ActorName) + " (" + escapeText(e.ActorID) + ")"
	}
	return escapeText(e.ActorName)
}

// describeEvent says what an event changed, old → new, escaped.
func describeEvent(e apikey.Event) string {
	name := func(n string) string { return `"` + escapeText(n) + `"` }
	expiry := func(t *time.Time) string { return formatOptionalTime(t, "never") }
	var b strings.Builder
	b.WriteString(string(e.Kind))
	switch e.Kind {
	case apikey.EventIssued:
		fmt.Fprintf(&b, ": name %s, groups %s, expires %s", name(e.New.Name), joinGroups(e.New.Groups), expiry(e.New.ExpiresAt))
		if e.New.Predecessor != uuid.Nil {
			fmt.Fprintf(&b, ", rolled from %s", e.New.Predecessor)
		}
	case apikey.EventRenamed:
		fmt.Fprintf(&b, ": %s → %s", name(e.Old.Name), name(e.New.Name))
	case apikey.EventGroupsChanged:
		fmt.Fprintf(&b, ": %s → %s", joinGroups(e.Old.Groups), joinGroups(e.New.Groups))
	case apikey.EventExpiryChanged:
		fmt.Fprintf(&b, ": %s → %s", expiry(e.Old.ExpiresAt), expiry(e.New.ExpiresAt))
	case apikey.EventRolled:
		fmt.Fprintf(&b, ": successor %s, grace ends %s", e.New.Successor, expiry(e.New.GraceEndsAt))
	case apikey.EventDeleted, apikey.EventPruned:
		fmt.Fprintf(&b, ": name %s, groups %s", name(e.Old.Name), joinGroups(e.Old.Groups))
	}
	return b.String()
}

// changeContext names the changes the command makes in the audit trail:
// "apikey (<who>)", who being --created-by if the command has it, or the
// operator's login name. No actor: the operator is trusted.
func changeContext(ctx context.Context, fs *flag.FlagSet) context.Context {
	who := defaultCreatedBy()
	if f := fs.Lookup("created-by"); f != nil && f.Value.String() != "" {
		who = f.Value.String()
	}
	return apikey.NewChangeContext(ctx, apikey.Change{ActorName: "apikey (" + who + ")"})
}
