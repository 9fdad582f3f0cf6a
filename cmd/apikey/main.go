// Apikey bootstraps and manages the API keys of github.com/apikit/apikey in
// a PostgreSQL, MySQL/MariaDB or SQLite database, without writing Go and
// without a running admin page: mint the first administrator key, or
// deactivate a leaked key at 3 a.m.
//
// Install it with
//
//	go install github.com/apikit/apikey/cmd/apikey@latest
//
// and bootstrap a database with
//
//	export APIKEY_DSN='postgres://app:secret@db.internal:5432/app'
//	apikey migrate
//	apikey --owner acme create --name admin --group apikeys:admin > admin.key
//
// Usage:
//
//	apikey [--dsn DSN] [--table NAME] [--prefix PREFIX] [--owner OWNER] <command> [flags] [arguments]
//
// The commands are:
//
//	migrate                       create the tables, or bring them up to date
//	create --name N --group G...  issue a key and print it, once, on stdout
//	list [--wide] [--json]        list the keys, all pages, as a table or JSON
//	show <key>                    show one key
//	activate <key>                let a deactivated key authenticate again
//	deactivate <key>              stop a key from authenticating
//	rename <key> <new name>       rename a key
//	groups <key> --group G...     replace the groups of a key
//	limits <key> [--credits N]    show or change a key's rate limits and credits
//	delete <key> [--yes]          delete a key for good, after confirmation
//	roll <key> --grace D          replace a key with a new one; the old works for a grace
//	prune [--dry-run]             delete keys that stopped working long ago
//	events [--key K] [--json]     print the audit trail: who changed which key, when
//	usage [--key K] [--json]      print metered uses per hour or day, by outcome
//	scan [path...]                find leaked keys in files and git history
//	gitleaks-rule                 print a gitleaks rule for keys of --prefix
//	help [command]                print help, or a command's flags
//
// create requires --owner (or $APIKEY_OWNER): "default" for a single-tenant
// application. With --owner every command sees only that owner's keys; without
// it, the other commands see every owner's keys. Run "apikey help <command>"
// for the flags of a command.
//
// Examples, in an order that works on a new database:
//
//	apikey migrate
//	apikey --owner acme create --name admin --group apikeys:admin > admin.key
//	apikey --owner acme create --name ci --group reports:read --new-group --expires 90d
//	apikey --owner acme list --wide
//	apikey --owner acme show <key>
//	apikey --owner acme rename <key> "CI deploy"
//	apikey --owner acme groups <key> --group reports:read --group deploy:write --new-group
//	apikey --owner acme limits <key> --rate-limit 100/1m --credits 1000 --refill 1000/monthly
//	apikey --owner acme limits <key> --add-credits -10
//	apikey --owner acme deactivate <key>
//	apikey --owner acme activate <key>
//	apikey --owner acme roll <key> --grace 24h > new.key
//	apikey --owner acme events --since 24h --json
//	apikey --owner acme usage --since 30d --step day
//	apikey --owner acme prune --dry-run --older-than 30d
//	apikey --owner acme delete <key> --yes
//	apikey scan --json .
//	apikey gitleaks-rule --prefix acme --secret-bits 256
//
// The database is named by --dsn or the environment variable APIKEY_DSN (which
// keeps a password out of the process list): postgres:// or postgresql://
// URLs, mysql://user:pass@host:3306/db URLs or go-sql-driver/mysql DSNs
// (user:pass@tcp(host:3306)/db), and SQLite file paths, sqlite://path or
// file: URIs. The dialect follows from the DSN. In a URL, special characters
// of the password must be percent-encoded ("/" as %2F, "@" as %40, "#" as
// %23, "?" as %3F, "%" as %25); libpq key=value strings (host=...
// password=...) are refused. The command never prints a password, nor any
// part of a DSN that it cannot parse. --table (default $APIKEY_TABLE, or
// apikeys) names the keys table, and --prefix (default $APIKEY_PREFIX, or ak)
// the prefix of created keys. Global flags may come before or after the
// command.
//
// A <key> is its ID (a UUID), its preview as list shows it (ak_3Fq9…x7Ab, or
// ak_3Fq9...x7Ab in ASCII), or the full key. An ambiguous preview is an error
// that lists the matching IDs. No output repeats more of a key than its
// preview: an argument that may be part of a key is described, not echoed.
//
// The exit status is 0 on success, 1 when the command failed (key not found,
// ambiguous preview, delete not confirmed, invalid name or group, database
// unreachable or failing) or scan found keys, 2 for a usage error (unknown
// command or flag, missing or extra argument, unparsable value, no --dsn),
// and 130 when interrupted.
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/apikit/apikey"
	"github.com/apikit/apikey/internal/dsn"
	"github.com/apikit/apikey/sqlstore"
	"github.com/go-sql-driver/mysql"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// pingTimeout bounds the wait for the database before any command acts.
const pingTimeout = 5 * time.Second

// run runs the command line args with the given standard streams and
// returns the exit code. Tests call it in-process as well as through the
// built binary.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	err := c.run(ctx, args)
	switch {
	case err == nil || errors.Is(err, errHelp):
		return exitOK
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "apikey: interrupted")
		return exitInterrupted
	}
	// Scrub before oneLine too: a password with a line break or a tab
	// (percent-encoded in the URL) would no longer match after it.
	// scrubArgs last: no message repeats more of a key than its preview.
	fmt.Fprintf(stderr, "apikey: %s\n", scrubArgs(c.db.Scrub(oneLine(c.db.Scrub(err.Error()))), args))
	code := exitCode(err)
	if code == exitUsage {
		fmt.Fprintf(stderr, "Run '%s' for usage.\n", strings.TrimSpace("apikey help "+c.command))
	}
	return code
}

// cli is one invocation of the command.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	// The global flags.
	dsn, table, prefix, owner string

	// command is the subcommand being run, "" before it is known.
	command string

	// db is the parsed --dsn once known, so that every message can be
	// scrubbed of its password.
	db *dsn.Database
}

// globalFlags defines --dsn, --table, --prefix and --owner on fs. Every flag set has
// them, so that they may come before or after the subcommand; the defaults
// are the values already set (from the environment, or from before the
// subcommand).
func (c *cli) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.dsn, "dsn", c.dsn, "")
	fs.StringVar(&c.table, "table", c.table, "")
	fs.StringVar(&c.prefix, "prefix", c.prefix, "")
	fs.StringVar(&c.owner, "owner", c.owner, "")
}

// newFlagSet returns a flag set that reports nothing itself: errors come
// back from Parse and are printed once, by run.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

func (c *cli) run(ctx context.Context, args []string) error {
	c.dsn = os.Getenv("APIKEY_DSN")
	c.table = envOr("APIKEY_TABLE", sqlstore.DefaultTable)
	c.prefix = envOr("APIKEY_PREFIX", apikey.DefaultPrefix)
	c.owner = os.Getenv("APIKEY_OWNER")

	top := newFlagSet("apikey")
	c.globalFlags(top)
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(c.stdout)
			return errHelp
		}
		return usageErrorf("%v", err)
	}
	rest := top.Args()
	if len(rest) == 0 {
		return usageErrorf("no command given; the commands are: %s", strings.Join(commandNames(), ", "))
	}
	name := rest[0]
	if name == "help" {
		return c.help(rest[1:])
	}
	cmd := lookupCommand(name)
	if cmd == nil {
		return usageErrorf("unknown command %q; the commands are: %s", name, strings.Join(commandNames(), ", "))
	}
	c.command = name

	fs := newFlagSet("apikey " + name)
	c.globalFlags(fs)
	act := cmd.setup(fs)
	positional, err := parseArgs(fs, rest[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandHelp(c.stdout, cmd)
			return errHelp
		}
		return usageErrorf("%s: %v", name, err)
	}
	err = act(changeContext(ctx, fs), c, positional)
	if err != nil && missingTable(err) {
		err = fmt.Errorf("%w (has 'apikey migrate' been run for --table %s?)", err, c.table)
	}
	return err
}

func (c *cli) help(args []string) error {
	switch len(args) {
	case 0:
		printUsage(c.stdout)
		return errHelp
	case 1:
		cmd := lookupCommand(args[0])
		if cmd == nil {
			return usageErrorf("help: unknown command %q; the commands are: %s", args[0], strings.Join(commandNames(), ", "))
		}
		printCommandHelp(c.stdout, cmd)
		return errHelp
	default:
		return usageErrorf("help takes at most one command")
	}
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// parseArgs parses the flags in args wherever they are, before or after the
// positional arguments, which it returns in order. "--" ends the flags. The
// flag package alone stops at the first positional argument, which would
// make "apikey rename <key> --name N" ignore --name.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, positional []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue // fs.Parse reports it
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if i+1 < len(args) {
			i++
			flags = append(flags, args[i])
		}
	}
	if err := fs.Parse(flags); err != nil {
		return nil, err
	}
	return positional, nil
}

// session is an open database with a Manager on it.
type session struct {
	db      *sql.DB
	store   *sqlstore.Store
	manager *apikey.Manager

	// owner is --owner: the only owner whose keys the command sees, or ""
	// for every owner (the operator's view).
	owner string
}

func (s *session) close() {
	// Close writes pending last-used times; the command records none.
	_ = s.manager.Close()
	_ = s.db.Close()
}

// connect opens the database of --dsn, checks --table and --prefix, and pings
// the database (for at most pingTimeout) before any command acts. Only
// migrate may create a SQLite file.
func (c *cli) connect(ctx context.Context, mayCreate bool) (*session, error) {
	if c.owner != "" {
		if err := apikey.ValidateOwner(c.owner); err != nil {
			return nil, usageErrorf("--owner: %v", err)
		}
	}
	d, err := dsn.Parse(c.dsn)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	c.db = d
	if !mayCreate {
		if err := d.CheckSQLiteFileExists(); err != nil {
			return nil, err
		}
	}
	db, err := d.Open()
	if err != nil {
		return nil, err
	}
	store, err := sqlstore.New(db, d.Dialect(), sqlstore.WithTable(c.table))
	if err != nil {
		db.Close()
		return nil, usageErrorf("--table: %v", err)
	}
	m, err := apikey.New(store,
		apikey.WithPrefix(c.prefix),
		apikey.WithLastUsedFlushInterval(-1), // a command verifies no key
		apikey.WithLogger(slog.New(slog.NewTextHandler(d.ScrubbingWriter(c.stderr), nil))),
	)
	if err != nil {
		db.Close()
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, usageErrorf("--prefix %q: %v", c.prefix, err)
	}
	s := &session{db: db, store: store, manager: m, owner: c.owner}

	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		s.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch {
		case pctx.Err() != nil:
			err = fmt.Errorf("no answer within %v", pingTimeout)
		case errors.Is(err, context.DeadlineExceeded) && d.ConnectTimeout() > 0:
			// The connection attempt's own bound came first.
			err = fmt.Errorf("no answer within %v", d.ConnectTimeout())
		}
		if d.Dialect() == sqlstore.SQLite {
			return nil, fmt.Errorf("cannot open SQLite database %s: %w", d.Where(), err)
		}
		return nil, fmt.Errorf("cannot connect to %s at %s: %w", d.DialectName(), d.Where(), err)
	}
	return s, nil
}

// missingTable reports whether err says that a table does not exist, the
// likely sign of a database that was never migrated or of a wrong --table.
func missingTable(err error) bool {
	var pg interface{ SQLState() string }
	if errors.As(err, &pg) && pg.SQLState() == "42P01" {
		return true
	}
	var my *mysql.MySQLError
	if errors.As(err, &my) && my.Number == 1146 {
		return true
	}
	return strings.Contains(err.Error(), "no such table")
}
