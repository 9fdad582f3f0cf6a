package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// The command never repeats more of a key than its preview shows: the
// prefix, four characters of the lookup ID and the last four characters. An
// argument typed where something else was expected (a full key, a truncated
// key, a key with a typo) is described by its length, not echoed.

// Limits of what an echoed argument may hold: a run of base62 characters
// after an underscore may be at most as long as the preview's part of the
// lookup ID, and any other run at most as long as both parts of a preview.
const (
	maxEchoAfterUnderscore = 4
	maxEchoRun             = 8
)

// mayEcho reports whether s may be repeated in a message: it holds no run
// of base62 characters longer than a preview shows, or is a key ID (UUID).
func mayEcho(s string) bool {
	if len(s) == 36 && uuid.Validate(s) == nil {
		return true // a key ID: no key has a hyphen
	}
	run, afterUnderscore := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isBase62(c) {
			run++
			if run > maxEchoRun || afterUnderscore && run > maxEchoAfterUnderscore {
				return false
			}
			continue
		}
		run, afterUnderscore = 0, c == '_'
	}
	return true
}

func isBase62(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// describeArg returns s quoted if it may be echoed, and otherwise a
// description that shows none of it.
func describeArg(s string) string {
	if mayEcho(s) {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("the argument of %d characters (not shown: it may be part of a key)", len(s))
}

// scrubArgs is the last line of defence of every error message: it replaces
// each well-formed key by its preview, and each argument (or comma- or
// equals-separated part of one) that may not be echoed by a placeholder.
// The values of --dsn (which dsn.Scrub handles) and --table (a name the
// operator chose, printed on purpose), and paths that exist, are left alone.
func scrubArgs(msg string, args []string) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		if a != name && (name == "dsn" || name == "table") {
			i++ // the value follows
			continue
		}
		if a != name && (strings.HasPrefix(name, "dsn=") || strings.HasPrefix(name, "table=")) {
			continue
		}
		if a != name {
			// A flag: a name the command defines is safe, and so is its
			// value only if it may be echoed.
			flagName, value, ok := strings.Cut(name, "=")
			if !knownFlag(flagName) {
				msg = scrubPart(msg, flagName)
			}
			if !ok {
				continue
			}
			a = value
		}
		if _, err := os.Lstat(a); err == nil {
			continue // a path the operator named (scan): it exists on disk
		}
		for _, part := range strings.FieldsFunc(a, func(r rune) bool { return r == ',' || r == '=' }) {
			msg = scrubPart(msg, part)
		}
	}
	return apikey.RedactKeys(msg)
}

// scrubPart replaces part in msg, as is and as %q escapes it, unless it may
// be echoed.
func scrubPart(msg, part string) string {
	if mayEcho(part) {
		return msg
	}
	msg = strings.ReplaceAll(msg, part, "[argument not shown]")
	if q := fmt.Sprintf("%q", part); len(q) > len(part)+2 {
		msg = strings.ReplaceAll(msg, q[1:len(q)-1], "[argument not shown]")
	}
	return msg
}

// knownFlag reports whether name is a flag of the command or of any
// subcommand.
func knownFlag(name string) bool {
	if name == "h" || name == "help" {
		return true
	}
	for _, cmd := range commands {
		fs := newFlagSet(cmd.name)
		(&cli{}).globalFlags(fs)
		cmd.setup(fs)
		if fs.Lookup(name) != nil {
			return true
		}
	}
	return false
}

// validPrefix reports whether apikey.WithPrefix accepts p.
func validPrefix(p string) bool {
	if len(p) == 0 || len(p) > maxPrefixLength || p[0] == '_' || p[len(p)-1] == '_' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// refuseKeyIn refuses a name that holds a key: names are shown wherever
// keys are listed, and a key pasted into the wrong flag would be shown
// forever.
func refuseKeyIn(what, name string) error {
	found := false
	apikey.FindKeys([]byte(name), func(int, int) { found = true })
	if found {
		return usageErrorf("%s holds an API key: choose a name that does not", what)
	}
	return nil
}
