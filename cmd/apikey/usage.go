package main

import (
	"fmt"
	"io"
)

const usageHeader = `apikey bootstraps and manages the API keys of github.com/apikit/apikey in a
PostgreSQL, MySQL/MariaDB or SQLite database.

Usage:
  apikey [--dsn DSN] [--table NAME] [--prefix PREFIX] [--owner OWNER] <command> [flags] [arguments]

Commands:
`

const usageFooter = `
Global flags (before or after the command):
  --dsn DSN         the database; default $APIKEY_DSN, which keeps a password
                    out of the process list. One of:
                      postgres://user:pass@host:5432/db?sslmode=disable
                      mysql://user:pass@host:3306/db
                      user:pass@tcp(host:3306)/db   (go-sql-driver/mysql)
                      /var/lib/app/keys.db, sqlite://keys.db or file:keys.db
                    Percent-encode special characters of a password in a
                    URL: / as %2F, @ as %40, # as %23, ? as %3F, % as %25.
  --table NAME      the keys table (default $APIKEY_TABLE, or apikeys)
  --prefix PREFIX   the prefix of created keys (default $APIKEY_PREFIX, or ak)
  --owner OWNER     the organization whose keys the command sees and creates
                    (default $APIKEY_OWNER); create requires one ("default"
                    for a single-tenant application). Without it, the other
                    commands see every owner's keys and list shows an OWNER
                    column; with it, another owner's key is not found.

A <key> is its ID (a UUID), its preview as list shows it (ak_3Fq9…x7Ab, or
ak_3Fq9...x7Ab), or the full key.

Bootstrap:
  apikey migrate
  apikey --owner default create --name admin --group apikeys:admin > admin.key

Exit status: 0 done; 1 failed (key not found, ambiguous preview, delete not
confirmed, invalid name or group, database unreachable or failing) or scan
found keys; 2 usage error (unknown command or flag, missing or extra argument,
bad value).

Run 'apikey help <command>' for the flags of a command.
`

// printUsage prints the help of the whole command.
func printUsage(w io.Writer) {
	io.WriteString(w, usageHeader)
	for _, cmd := range commands {
		fmt.Fprintf(w, "  %-28s  %s\n", cmd.short, cmd.summary)
	}
	fmt.Fprintf(w, "  %-28s  %s\n", "help [command]", "print this help, or a command's")
	io.WriteString(w, usageFooter)
}

// printCommandHelp prints the help of one command.
func printCommandHelp(w io.Writer, cmd *command) {
	fmt.Fprintf(w, "Usage: apikey %s\n\n%s\n", cmd.synopsis, cmd.details)
	io.WriteString(w, `
Global flags: --dsn DSN (default $APIKEY_DSN), --table NAME (default apikeys),
--prefix PREFIX (default ak), --owner OWNER (default $APIKEY_OWNER). Run
'apikey help' for the DSN forms and what --owner does.
`)
}
