package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Exit codes of the command.
const (
	exitOK          = 0   // the command did what was asked
	exitFailure     = 1   // not found, refused, invalid name or group, database error
	exitUsage       = 2   // bad flags, arguments or configuration
	exitInterrupted = 130 // interrupted by SIGINT or SIGTERM (128 + SIGINT)
)

// usageError is a mistake in the command line: a bad flag, a missing or
// extra argument, a value that cannot be parsed. It exits with exitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errHelp means help was asked for and printed: exit 0.
var errHelp = errors.New("help printed")

// errRefused means the operator did not confirm a destructive command.
var errRefused = errors.New("refused")

// exitCode returns the exit code for err.
func exitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	default:
		return exitFailure
	}
}

// oneLine turns msg, an error's text, into the message printed after
// "apikey: ": on one line, without the "apikey: " that the library's errors
// repeat at every level of wrapping.
func oneLine(msg string) string {
	msg = strings.ReplaceAll(msg, "apikey: ", "")
	return strings.TrimSpace(lineBreaks.ReplaceAllString(msg, " "))
}

// lineBreaks are line breaks and tabs (drivers put both in their errors,
// pgx one line per connection attempt) with the blanks around them.
var lineBreaks = regexp.MustCompile(`[ ]*[\t\r\n][\t\r\n ]*`)
