package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apikit/apikey"
)

// command is one subcommand: its help, and setup, which defines its flags on
// fs and returns what runs once they are parsed.
type command struct {
	name     string
	short    string // the command with its main arguments, for the list of commands
	synopsis string // the usage line after "apikey "
	summary  string // one line for the list of commands
	details  string // the rest of "apikey help <name>"
	setup    func(fs *flag.FlagSet) action
}

// action runs a command with its positional arguments.
type action func(ctx context.Context, c *cli, args []string) error

// commands are the subcommands, in the order help lists them.
var commands = []*command{
	{
		name:     "migrate",
		short:    "migrate",
		synopsis: "migrate",
		summary:  "create the tables, or bring them up to date",
		details: `Creates the keys table and its side tables (<table>_groups,
<table>_schema_migrations), or applies the migrations they lack. Running it
again is harmless, and so is running it from several processes at once. For
SQLite, it creates the database file if it does not exist.`,
		setup: setupMigrate,
	},
	{
		name:     "create",
		short:    "create --name N --group G...",
		synopsis: "create --name NAME --group GROUP [--group GROUP...] [--new-group] [--expires WHEN] [--rate-limit [NAME=]N/DURATION...] [--credits N] [--refill N/INTERVAL] [--created-by WHO]",
		summary:  "issue a key and print it, once, on stdout",
		details: `Issues a key and prints it on standard output, alone on its line, so that it
can be piped or redirected; its ID and preview, and the warning that it cannot
be shown again, go to standard error. Only a hash of the key is stored.

  --name NAME        the key's name (required)
  --group GROUP      a permission group (required; repeat the flag, or
                     separate groups with commas)
  --new-group        accept a group that no key in the database holds yet;
                     without it such a group is refused as a likely typo
                     (the first key of an empty database may hold any group)
  --expires WHEN     when the key stops working: a duration from now (720h,
                     90d) or an RFC 3339 time (2026-01-31T00:00:00Z) or date
                     (2026-01-31, midnight UTC), at most 9999-12-31; default
                     never, or the default lifetime of the expiry policy
  --rate-limit [NAME=]N/DURATION
                     a rate limit: N requests at once and N per DURATION on
                     average (5/1m, writes=10/1s, 1000/1d); named "requests"
                     without a name; repeat the flag for several
  --credits N        meter the key by credits, starting with N
  --refill N/INTERVAL
                     set the credits back to N daily, monthly (on the 1st)
                     or monthly:DAY, at 00:00 UTC
  --created-by WHO   the administrator recorded as creator (default $USER,
                     or "cli")`,
		setup: setupCreate,
	},
	{
		name:     "list",
		short:    "list [--wide] [--json]",
		synopsis: "list [--status active|inactive] [--group GROUP] [--sort ORDER] [--wide] [--json] [--limit N]",
		summary:  "list the keys, all pages, as a table or JSON",
		details: `Lists the keys in creation order (--sort), fetching every page. The table fits in 80
columns: KEY (the preview, which show, deactivate and delete take), OWNER
(without --owner, when the keys have several owners), NAME, STATUS (active: it works; inactive; expired; rolled:
its grace period is over, --wide names its successor), CREATED and
LAST USED (days in UTC; "never" until the first use) and GROUPS; long names
and groups are cut with "…". Values are aligned by display width (CJK and
emoji take two columns), and control and bidi characters in them are printed
escaped (\x1b, \u202e; a backslash as \\).

  --wide            every column in full: ID, OWNER (without --owner), NAME,
                    STATUS, KEY, CREATED, LAST USED and EXPIRES (RFC 3339,
                    UTC; "(grace)" when a roll ends it), CREATED BY, GROUPS
  --status STATUS   only active (working now) or only inactive keys (default
                    all)
  --sort ORDER      created (oldest first, the default), -created (newest
                    first), name, or expires (the keys that expire, the
                    soonest first)
  --group GROUP     only keys holding this group, matched exactly
  --json            print a JSON array of keys instead of the table (no hash,
                    ever)
  --limit N         print at most N keys (default 0: all)`,
		setup: setupList,
	},
	{
		name:     "show",
		short:    "show <key>",
		synopsis: "show [--json] <key>",
		summary:  "show one key",
		details: keyArgumentHelp + `

  --json   print the key as a JSON object`,
		setup: setupShow,
	},
	{
		name:     "activate",
		short:    "activate <key>",
		synopsis: "activate <key>",
		summary:  "let a deactivated key authenticate again",
		details:  keyArgumentHelp,
		setup:    setupSetActive(true),
	},
	{
		name:     "deactivate",
		short:    "deactivate <key>",
		synopsis: "deactivate <key>",
		summary:  "stop a key from authenticating",
		details: `Deactivates a key: from now on, servers refuse it. A server whose Manager has
a verification cache (apikey.WithVerifyCache) may accept it until its cached
entry expires, at most the cache's TTL.

` + keyArgumentHelp,
		setup: setupSetActive(false),
	},
	{
		name:     "rename",
		short:    "rename <key> <new name>",
		synopsis: "rename <key> (<new name> | --name NAME)",
		summary:  "rename a key",
		details: `Quote a name with spaces; put "--" before a name that starts with "-".

` + keyArgumentHelp + `

  --name NAME   the new name, instead of the second argument`,
		setup: setupRename,
	},
	{
		name:     "groups",
		short:    "groups <key> --group G...",
		synopsis: "groups <key> --group GROUP [--group GROUP...] [--new-group]",
		summary:  "replace the groups of a key",
		details: `Replaces all the groups of a key with the ones given.

` + keyArgumentHelp + `

  --group GROUP   a permission group (required; repeat the flag, or separate
                  groups with commas)
  --new-group     accept a group that no key in the database holds yet;
                  without it such a group is refused as a likely typo`,
		setup: setupGroups,
	},
	{
		name:     "limits",
		short:    "limits <key> [--credits N]",
		synopsis: "limits <key> [--rate-limit [NAME=]N/DURATION...] [--credits N | --add-credits N] [--refill N/INTERVAL] [--clear]",
		summary:  "show or change a key's rate limits and credits",
		details: `Without flags, prints the key's own limits and its credit balance. With
flags, changes them (an audited change, as the admin page's) and prints
them after. A server enforces new limits on the key's next verification
that reads the store (after its verification cache, if any).

` + keyArgumentHelp + `

  --rate-limit [NAME=]N/DURATION
                     set a rate limit (5/1m, writes=10/1s, 1000/1d): it
                     replaces the key's limit of the same name (default
                     "requests") or adds one; repeat the flag for several
  --credits N        set the credit balance to N (and meter the key by
                     credits if it was not)
  --add-credits N    add N credits to the balance, or subtract with a
                     negative N; the balance never goes below 0
  --refill N/INTERVAL
                     set the credits back to N daily, monthly (on the 1st)
                     or monthly:DAY, at 00:00 UTC
  --clear            remove all the key's limits first: the other flags
                     then give its only limits (--clear alone: no limits)`,
		setup: setupLimits,
	},
	{
		name:     "delete",
		short:    "delete <key> [--yes]",
		synopsis: "delete [--yes] <key>",
		summary:  "delete a key for good, after confirmation",
		details: `Deletes a key. Unless --yes is given, asks for the key's name to be typed on
standard input, and refuses (exit status 1, nothing deleted) if anything else
is typed or standard input is closed. Deactivate a key rather than delete it
to keep its record.

` + keyArgumentHelp + `

  --yes   delete without asking`,
		setup: setupDelete,
	},
	{
		name:     "roll",
		short:    "roll <key> --grace D",
		synopsis: "roll <key> --grace DURATION [--expires WHEN] [--created-by WHO]",
		summary:  "replace a key with a new one; the old works for a grace",
		details: `Issues the successor of a key (same owner, name, groups and metadata) and
prints it on standard output, once, as create does. The old key keeps working
for the grace period, then is refused as expired; servers answer its requests
meanwhile with Deprecation and Sunset headers. A key is rolled once: roll its
successor next time. For a leaked key, use --grace 0s.
` + keyArgumentHelp + `
  --grace DURATION   how long the old key keeps working: 24h, 90m, 7d, or 0s
                     to stop it at once (required)
  --expires WHEN     the successor's expiry, as for create; default the old
                     key's expiry (never a later one), or the expiry policy's
  --created-by WHO   the administrator recorded as creator (default $USER,
                     or "cli")`,
		setup: setupRoll,
	},
	{
		name:     "prune",
		short:    "prune [--dry-run]",
		synopsis: "prune [--dry-run] [--older-than DURATION] [--batch N]",
		summary:  "delete keys that stopped working long ago",
		details: `Deletes, for good, the keys that expired or whose grace period after a roll
ended more than --older-than ago, in batches (one transaction each), and
prints them. With --owner, only that organization's keys.
  --dry-run               list the keys that would be deleted; delete none
  --older-than DURATION   how long ago they stopped: 720h, 30d (default 30d;
                          0s for every key that has stopped)
  --batch N               keys per transaction (default 100, at most 1000)`,
		setup: setupPrune,
	},
	{
		name:     "events",
		short:    "events [--key K] [--json]",
		synopsis: "events [--key KEY] [--kind KIND] [--actor ID] [--since WHEN] [--oldest] [--json] [--limit N]",
		summary:  "print the audit trail: who changed which key, when",
		details: `Prints the audit trail, newest first (--oldest: oldest first), fetching every
page: for each change of a key, when it was made (AT, RFC 3339, UTC), the
key's ID, who made it (BY: the administrator's name, with the preview of
their key beside it, or their ID, which no other administrator shares;
"apikey (<login>)" for this command, with the
--created-by of create and roll as login, "apikey scan" for scan --deactivate, "operator" for other trusted code), what changed
(CHANGE, old → new) and why (REASON, "-" if not given). A deleted key's
history stays readable by its ID. Without --owner every owner's events are
printed, with an OWNER column; with it, only that organization's. Values
are printed escaped as list does.

  --key KEY      only the events of this key: its ID (a deleted key's too),
                 its preview or the full key
  --kind KIND    only events of this kind: issued, renamed, groups_changed,
                 activated, deactivated, rolled, expiry_changed, deleted,
                 pruned
  --actor ID     only events made by this actor ID (an administrator's key:
                 its ID)
  --since WHEN   only events at or after WHEN: a duration ago (24h, 7d), an
                 RFC 3339 time (2026-01-31T00:00:00Z) or a date (2026-01-31)
  --json         print a JSON array of events (no hash, lookup ID or key,
                 ever)
  --oldest       the oldest first
  --limit N      print at most N events, the newest (with --oldest, the
                 oldest; default 0: all)
With --owner, events carry no store-wide position (0 in --json): nothing
printed tells how many changes other owners made.`,
		setup: setupEvents,
	},
	{
		name:     "usage",
		short:    "usage [--key K] [--json]",
		synopsis: "usage [--key KEY] [--since WHEN] [--step hour|day] [--json]",
		summary:  "print how much keys were used: per key, or an organization's totals",
		details: `Prints the metered uses of a key (--key), or the totals of an organization
(--owner, default the default owner) and its busiest keys: per step (a day
or an hour, UTC), how many uses were verified and how many refused, by
cause (inactive, expired, missing scope, rate limited, no credits left). Only
steps with uses are printed; the JSON has every step. Uses are written by
the services' flushes of last-used times, so the last flush interval may be
missing.

  --key KEY      only this key: its ID, its preview or the full key
  --since WHEN   from WHEN: a duration ago (24h, 30d; default 30d), an RFC
                 3339 time or a date
  --step STEP    hour or day (default day)
  --json         print the report as JSON (no hash, lookup ID or key, ever)`,
		setup: setupUsage,
	},
	{
		name:     "scan",
		short:    "scan [path...]",
		synopsis: "scan [--git] [--json] [--quiet] [--deactivate] [path...]",
		summary:  "find leaked keys in files and git history",
		details: `Scans files and directory trees (default: the current directory) for keys of
github.com/apikit/apikey, of any prefix and secret size: strings that look
like a key and whose checksum is right, so that it reports practically no
false positives. For each it prints path:line:column and the key's preview,
never the key; exits with status 1 if it found any, 0 if not.

Files are read in windows of 256 KiB, never whole; binary files (a NUL byte
in the first 8000 bytes), symbolic links and special files are skipped, and
so are .git directories unless --git.

With a database (--dsn or $APIKEY_DSN), it tells for each key found whether
it is live, expired, inactive or unknown to the database (the secret is
checked against the stored hash; the key's last-used time is not changed).

  --git          also scan the history of the git repository at each path:
                 the lines every commit added, on every branch and in the
                 reflog (git log -p --all --reflog), and every stash's
                 changes, reported as commit:path:line:column; and the plain
                 files of .git (config, hooks, logs)
  --json         print a JSON array of findings
  --quiet        print no summary on standard error
  --deactivate   deactivate the live and expired keys found (needs the
                 database); the file where each was found is printed`,
		setup: setupScan,
	},
	{
		name:     "gitleaks-rule",
		short:    "gitleaks-rule",
		synopsis: "gitleaks-rule [--secret-bits N] [--config]",
		summary:  "print a gitleaks rule for keys of --prefix",
		details: `Prints a gitleaks rule (TOML) that matches the keys issued with the prefix of
--prefix (default ak) and the secret size of --secret-bits: the prefix, an
underscore and exactly the body length of that size.

  --secret-bits N   the value given to apikey.WithSecretBits (default 160)
  --config          print a whole configuration that also keeps gitleaks'
                    default rules ([extend] useDefault = true)`,
		setup: setupGitleaksRule,
	},
}

const keyArgumentHelp = `<key> is the key's ID (a UUID), its preview as list shows it (ak_3Fq9…x7Ab, or
ak_3Fq9...x7Ab), or the full key.`

func lookupCommand(name string) *command {
	for _, cmd := range commands {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}

func commandNames() []string {
	names := make([]string, 0, len(commands)+1)
	for _, cmd := range commands {
		names = append(names, cmd.name)
	}
	return append(names, "help")
}

// groupList is a repeatable --group flag; a comma, which no group may
// contain, also separates groups, so that list's GROUPS column can be pasted.
type groupList []string

func (g *groupList) String() string { return strings.Join(*g, ",") }

func (g *groupList) Set(v string) error {
	*g = append(*g, strings.Split(v, ",")...)
	return nil
}

func wantArgs(args []string, n int, what string) error {
	switch {
	case len(args) < n:
		return usageErrorf("missing %s", what)
	case len(args) > n:
		return usageErrorf("too many arguments (%d); expected %s", len(args), what)
	}
	return nil
}

func setupMigrate(fs *flag.FlagSet) action {
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) > 0 {
			return usageErrorf("migrate takes no arguments")
		}
		s, err := c.connect(ctx, true)
		if err != nil {
			return err
		}
		defer s.close()
		if err := s.store.Migrate(ctx); err != nil {
			return err
		}
		t := s.store.Table()
		fmt.Fprintf(c.stdout, "Tables %s, %s_groups and %s_schema_migrations are up to date (%s at %s).\n",
			t, t, t, c.db.DialectName(), c.db.Where())
		return nil
	}
}

func setupCreate(fs *flag.FlagSet) action {
	name := fs.String("name", "", "")
	var groups groupList
	fs.Var(&groups, "group", "")
	expires := fs.String("expires", "", "")
	createdBy := fs.String("created-by", defaultCreatedBy(), "")
	newGroup := fs.Bool("new-group", false, "")
	var rates rateLimitList
	fs.Var(&rates, "rate-limit", "")
	credits := fs.Int64("credits", -1, "")
	refill := fs.String("refill", "", "")
	return func(ctx context.Context, c *cli, args []string) error {
		limits, err := limitsFromFlags(rates, *credits, *refill)
		if err != nil {
			return err
		}
		if len(args) > 0 {
			return usageErrorf("create takes no arguments, only flags (did you mean --name %s?)", describeArg(args[0]))
		}
		if *name == "" {
			return usageErrorf("create: --name is required")
		}
		if len(groups) == 0 {
			return usageErrorf("create: at least one --group is required")
		}
		if c.owner == "" {
			return usageErrorf("create: --owner is required: the organization the key belongs to (%s for a single-tenant application)", apikey.DefaultOwner)
		}
		expiresAt, err := parseExpiry(*expires, time.Now())
		if err != nil {
			return err
		}
		if err := refuseKeyIn("--name", *name); err != nil {
			return err
		}
		if err := refuseKeyIn("--created-by", *createdBy); err != nil {
			return err
		}
		if err := apikey.ValidateName(*createdBy); err != nil {
			return fmt.Errorf("--created-by: %w", err)
		}
		if err := refuseKeyIn("--group", strings.Join(groups, ",")); err != nil {
			return err
		}
		s, err := c.connect(ctx, false)
		if err != nil {
			return err
		}
		defer s.close()
		if err := checkKnownGroups(ctx, s, groups, *newGroup); err != nil {
			return err
		}
		k, plaintext, err := s.manager.Issue(ctx, apikey.IssueRequest{
			Owner:     c.owner,
			Name:      *name,
			Groups:    groups,
			CreatedBy: *createdBy,
			ExpiresAt: expiresAt,
			Limits:    limits,
		})
		if err != nil {
			return err
		}
		if limits != nil && limits.Credits != nil {
			balance := max(*credits, 0)
			if *credits < 0 && limits.Credits.Refill != nil {
				balance = limits.Credits.Refill.Amount
			}
			*credits = balance
			if _, err := s.manager.ChangeCredits(ctx, apikey.CreditAccount{KeyID: k.ID}, &balance, 0); err != nil {
				return fmt.Errorf("key %s created, but its credits could not be set: %w", k.ID, err)
			}
		}
		expiry := describeLimits(limits, *credits)
		if k.ExpiresAt != nil {
			expiry = ", expires " + formatTime(*k.ExpiresAt) + expiry
		}
		fmt.Fprintf(c.stderr, "Created key %q: ID %s, preview %s, groups %s%s.\n",
			k.Name, k.ID, k.Preview, strings.Join(k.Groups, ","), expiry)
		if _, werr := fmt.Fprintln(c.stdout, plaintext); werr != nil {
			// Nobody has the key and nobody ever will: do not leave it.
			if derr := s.manager.Delete(context.WithoutCancel(ctx), k.ID); derr != nil {
				return fmt.Errorf("cannot write the key to standard output (%v) nor delete it (%v): delete key %s", werr, derr, k.ID)
			}
			return fmt.Errorf("cannot write the key to standard output (%v); it was deleted", werr)
		}
		fmt.Fprintln(c.stderr, "Store the key now: it cannot be shown again.")
		return nil
	}
}

// defaultCreatedBy is the operator's login name, or "cli".
func defaultCreatedBy() string {
	for _, v := range []string{"USER", "USERNAME"} {
		if name := os.Getenv(v); name != "" {
			return name
		}
	}
	return "cli"
}

// parseExpiry reads --expires: a duration from now (Go syntax, or whole days
// such as 90d), an RFC 3339 time, or a date (midnight UTC). "" is never. A
// time that is well formed but not a valid expiry (the zero time, after
// 9999-12-31T23:59:59.999999Z, in the past) is an error wrapping
// apikey.ErrInvalidExpiry (exit status 1), and so is a number of days too
// large for any expiry: it never overflows.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := parseWhen(s, now)
	if err != nil {
		return time.Time{}, err
	}
	if err := apikey.ValidateExpiry(t, now); err != nil {
		return time.Time{}, fmt.Errorf("--expires %s: %w", s, err)
	}
	return t, nil
}

// maxDays bounds the days of --expires Nd and of durations: more than from
// year 1 to 9999, so that any larger number is out of range, and small
// enough that no arithmetic overflows.
const maxDays = 10000 * 366

func parseWhen(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.ParseInt(days, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			if n > maxDays || n < -maxDays {
				return time.Time{}, fmt.Errorf("--expires %s: %w", s, &apikey.ValidationError{Field: "ExpiresAt",
					Reason: "must be no later than 9999-12-31T23:59:59.999999Z", Err: apikey.ErrInvalidExpiry})
			}
			return now.AddDate(0, 0, int(n)), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	return time.Time{}, usageErrorf("--expires %q is neither a duration (720h, 90d) nor an RFC 3339 time (2026-01-31T00:00:00Z) or date (2026-01-31)", s)
}

// parseGrace reads --grace: a duration (24h, 90m, 0s) or whole days (7d),
// from zero to a year.
func parseGrace(s string) (time.Duration, error) {
	const year = 366 * 24 * time.Hour
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 && n <= 366 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(s); err == nil && d >= 0 && d <= year {
		return d, nil
	}
	return 0, usageErrorf("--grace %q is not a duration from 0s to 366d (24h, 90m, 7d; 0s stops the old key at once)", s)
}

func setupList(fs *flag.FlagSet) action {
	status := fs.String("status", "", "")
	group := fs.String("group", "", "")
	asJSON := fs.Bool("json", false, "")
	wide := fs.Bool("wide", false, "")
	limit := fs.Int("limit", 0, "")
	sortBy := fs.String("sort", "created", "")
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) > 0 {
			return usageErrorf("list takes no arguments, only flags")
		}
		sort, err := apikey.ParseListSort(*sortBy)
		if err != nil {
			return usageErrorf("list: --sort must be -created, created, name or expires, not %q", *sortBy)
		}
		opts := apikey.ListOptions{Owner: c.owner, Group: *group, Sort: sort, Limit: apikey.MaxListLimit}
		switch strings.ToLower(*status) {
		case "", "all", "any":
		case "active":
			opts.Status = apikey.StatusActive
		case "inactive":
			opts.Status = apikey.StatusInactive
		default:
			return usageErrorf("list: --status must be active or inactive, not %q", *status)
		}
		if *limit < 0 {
			return usageErrorf("list: --limit must not be negative")
		}
		s, err := c.connect(ctx, false)
		if err != nil {
			return err
		}
		defer s.close()
		keys := []*apikey.Key{}
		for {
			if *limit > 0 {
				opts.Limit = min(apikey.MaxListLimit, *limit-len(keys))
			}
			page, err := s.manager.List(ctx, opts)
			if err != nil {
				return err
			}
			keys = append(keys, page.Keys...)
			if page.Next == "" || *limit > 0 && len(keys) >= *limit {
				break
			}
			opts.Cursor = page.Next
		}
		if *asJSON {
			return writeJSON(c.stdout, keys)
		}
		return writeTable(c.stdout, keys, time.Now(), c.owner == "", *wide)
	}
}

func setupShow(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "")
	return func(ctx context.Context, c *cli, args []string) error {
		if err := wantArgs(args, 1, "<key>"); err != nil {
			return err
		}
		return c.withKey(ctx, args[0], func(s *session, k *apikey.Key) error {
			if *asJSON {
				return writeJSON(c.stdout, k)
			}
			return writeKey(c.stdout, k, time.Now())
		})
	}
}

func setupSetActive(active bool) func(fs *flag.FlagSet) action {
	return func(fs *flag.FlagSet) action {
		return func(ctx context.Context, c *cli, args []string) error {
			if err := wantArgs(args, 1, "<key>"); err != nil {
				return err
			}
			return c.withKey(ctx, args[0], func(s *session, k *apikey.Key) error {
				// Always write, even if the key looks done already: what was
				// read may be stale, and a deactivation must never be skipped.
				var err error
				done := "Activated"
				if active {
					err = s.manager.Activate(ctx, k.ID)
				} else {
					done = "Deactivated"
					err = s.manager.Deactivate(ctx, k.ID)
				}
				if err != nil {
					return notFoundAs(err, k)
				}
				fmt.Fprintf(c.stdout, "%s key %s (%s, %q).\n", done, k.Preview, k.ID, k.Name)
				return nil
			})
		}
	}
}

func setupRename(fs *flag.FlagSet) action {
	name := fs.String("name", "", "")
	return func(ctx context.Context, c *cli, args []string) error {
		newName := *name
		switch {
		case len(args) == 0:
			return usageErrorf("missing <key> and new name")
		case len(args) == 1 && newName == "":
			return usageErrorf("missing the new name (an argument, or --name)")
		case len(args) == 2 && newName != "":
			return usageErrorf("give the new name as an argument or with --name, not both")
		case len(args) == 2:
			newName = args[1]
		case len(args) > 2:
			return usageErrorf("too many arguments (%d); quote a name with spaces", len(args))
		}
		if err := refuseKeyIn("the new name", newName); err != nil {
			return err
		}
		return c.withKey(ctx, args[0], func(s *session, k *apikey.Key) error {
			if err := s.manager.Rename(ctx, k.ID, newName); err != nil {
				return notFoundAs(err, k)
			}
			fmt.Fprintf(c.stdout, "Renamed key %s (%s) from %q to %q.\n", k.Preview, k.ID, k.Name, newName)
			return nil
		})
	}
}

func setupGroups(fs *flag.FlagSet) action {
	var groups groupList
	fs.Var(&groups, "group", "")
	newGroup := fs.Bool("new-group", false, "")
	return func(ctx context.Context, c *cli, args []string) error {
		if err := wantArgs(args, 1, "<key>"); err != nil {
			return err
		}
		if len(groups) == 0 {
			return usageErrorf("groups: at least one --group is required")
		}
		if err := refuseKeyIn("--group", strings.Join(groups, ",")); err != nil {
			return err
		}
		return c.withKey(ctx, args[0], func(s *session, k *apikey.Key) error {
			if err := checkKnownGroups(ctx, s, groups, *newGroup); err != nil {
				return err
			}
			if err := s.manager.SetGroups(ctx, k.ID, groups); err != nil {
				return notFoundAs(err, k)
			}
			updated, err := s.manager.Get(ctx, k.ID)
			if err != nil {
				return notFoundAs(err, k)
			}
			fmt.Fprintf(c.stdout, "Groups of key %s (%s, %q) set to %s (were %s).\n",
				k.Preview, k.ID, k.Name, strings.Join(updated.Groups, ","), strings.Join(k.Groups, ","))
			return nil
		})
	}
}

func setupDelete(fs *flag.FlagSet) action {
	yes := fs.Bool("yes", false, "")
	return func(ctx context.Context, c *cli, args []string) error {
		if err := wantArgs(args, 1, "<key>"); err != nil {
			return err
		}
		return c.withKey(ctx, args[0], func(s *session, k *apikey.Key) error {
			if !*yes {
				if err := c.confirmDelete(ctx, k); err != nil {
					return err
				}
			}
			if err := s.manager.Delete(ctx, k.ID); err != nil {
				return notFoundAs(err, k)
			}
			fmt.Fprintf(c.stdout, "Deleted key %s (%s, %q).\n", k.Preview, k.ID, k.Name)
			return nil
		})
	}
}

// withKey connects, finds the key that ref names (ID, preview or full key),
// and calls f with both; the connection is closed when f returns.
func (c *cli) withKey(ctx context.Context, ref string, f func(s *session, k *apikey.Key) error) error {
	s, err := c.connect(ctx, false)
	if err != nil {
		return err
	}
	defer s.close()
	k, err := s.find(ctx, ref)
	if err != nil {
		return err
	}
	return f(s, k)
}

// confirmDelete asks for k's name on standard input and returns an error
// wrapping errRefused unless exactly that is typed.
func (c *cli) confirmDelete(ctx context.Context, k *apikey.Key) error {
	fmt.Fprintf(c.stderr, "Delete key %q (%s, %s) for good? Type its name to confirm: ", k.Name, k.ID, k.Preview)
	line, err := readLine(ctx, c.stdin)
	if err != nil || !isTerminal(c.stdin) {
		// Nobody pressed Enter after the prompt: end its line.
		fmt.Fprintln(c.stderr)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("delete %w: no confirmation on standard input (use --yes in scripts); nothing was deleted", errRefused)
	}
	if line != k.Name {
		return fmt.Errorf("delete %w: what was typed is not the key's name; nothing was deleted", errRefused)
	}
	return nil
}

// readLine reads one line from r, without its line ending. A last line
// without a newline counts; end of input before anything is an error. It
// returns when ctx is done even if r blocks (a terminal waiting for input).
func readLine(ctx context.Context, r io.Reader) (string, error) {
	if r == nil {
		return "", io.EOF
	}
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		if err == io.EOF && line != "" {
			err = nil
		}
		line = strings.TrimSuffix(line, "\n")
		ch <- result{strings.TrimSuffix(line, "\r"), err}
	}()
	select {
	case res := <-ch:
		return res.line, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// isTerminal reports whether r is a terminal (a character device), where the
// operator's Enter ends the prompt's line.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// notFoundAs names k in the error of a change to k that found it gone: it was
// deleted since it was looked up.
func notFoundAs(err error, k *apikey.Key) error {
	if errors.Is(err, apikey.ErrNotFound) {
		return fmt.Errorf("%w: %s", apikey.ErrNotFound, k.ID)
	}
	return err
}

// checkKnownGroups refuses a group that no key holds (of the --owner, if
// given: another owner's groups are none of its business), the likely sign
// of a typo (billing:wirte), unless allowNew. The command has no
// group registry of its own (the application's is in its code, given to
// apikey.WithGroups), so the groups that keys hold stand in for it. The
// first key of an empty database (or owner) may hold any group.
func checkKnownGroups(ctx context.Context, s *session, groups []string, allowNew bool) error {
	if allowNew {
		return nil
	}
	first, err := s.manager.List(ctx, apikey.ListOptions{Owner: s.owner, Limit: 1})
	if err != nil || len(first.Keys) == 0 {
		return err
	}
	for _, g := range groups {
		held, err := s.manager.List(ctx, apikey.ListOptions{Owner: s.owner, Group: g, Limit: 1})
		if err != nil {
			return err
		}
		if len(held.Keys) == 0 {
			return usageErrorf("no key holds the group %q yet: check its spelling, or pass --new-group to create it", g)
		}
	}
	return nil
}
