package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apikit/apikey"
)

// finding is a key found by scan, as printed. It holds the key's preview,
// never the key.
type finding struct {
	Path        string `json:"path"`
	Commit      string `json:"commit,omitempty"`
	Line        int    `json:"line"`
	Column      int    `json:"column"`
	Preview     string `json:"preview"`
	Status      string `json:"status,omitempty"` // with a database: live, expired, inactive or unknown
	KeyID       string `json:"key_id,omitempty"`
	Name        string `json:"name,omitempty"`
	Deactivated bool   `json:"deactivated,omitempty"`

	key string // the key itself: looked up, never printed
}

// Statuses of a found key, with a database.
const (
	statusLive     = "live"     // active and not expired: it works
	statusExpired  = "expired"  // active but past its expiry: it no longer works
	statusInactive = "inactive" // deactivated
	statusUnknown  = "unknown"  // a well-formed key that this database does not hold
)

// scanStats counts what a scan read.
type scanStats struct {
	files, binary, unreadable int
	bytes                     int64
}

// scanner walks files and git history for keys.
type scanner struct {
	stream   *keyStream
	findings []finding
	stats    scanStats
	withGit  bool
	stderr   io.Writer
}

func setupScan(fs *flag.FlagSet) action {
	asJSON := fs.Bool("json", false, "")
	withGit := fs.Bool("git", false, "")
	deactivate := fs.Bool("deactivate", false, "")
	quiet := fs.Bool("quiet", false, "")
	return func(ctx context.Context, c *cli, args []string) error {
		if len(args) == 0 {
			args = []string{"."}
		}
		if *deactivate && c.dsn == "" {
			return usageErrorf("scan: --deactivate needs the database (--dsn or $APIKEY_DSN)")
		}
		s := &scanner{stream: newKeyStream(), withGit: *withGit, stderr: c.stderr}
		started := time.Now()
		for _, root := range args {
			if err := s.walk(ctx, root); err != nil {
				return err
			}
			if *withGit {
				if err := s.gitHistory(ctx, root); err != nil {
					return err
				}
			}
		}
		elapsed := time.Since(started)
		if c.dsn != "" && len(s.findings) > 0 {
			if err := c.checkFindings(ctx, s.findings, *deactivate); err != nil {
				return err
			}
		}
		if *asJSON {
			out := s.findings
			if out == nil {
				out = []finding{}
			}
			if err := writeJSON(c.stdout, out); err != nil {
				return err
			}
		} else {
			for _, f := range s.findings {
				fmt.Fprintln(c.stdout, f.text())
			}
		}
		if !*quiet {
			fmt.Fprintf(c.stderr, "Scanned %d files (%d bytes) in %v; skipped %d binary files; found %d keys.\n",
				s.stats.files, s.stats.bytes, elapsed.Round(time.Millisecond), s.stats.binary, len(s.findings))
		}
		switch {
		case len(s.findings) > 0:
			return &foundError{n: len(s.findings), unreadable: s.stats.unreadable}
		case s.stats.unreadable > 0:
			return fmt.Errorf("scan: %d files or git histories could not be read; the scan is incomplete", s.stats.unreadable)
		}
		return nil
	}
}

// foundError is the result of a scan that found keys: exit status 1.
type foundError struct{ n, unreadable int }

func (e *foundError) Error() string {
	msg := fmt.Sprintf("scan: found %d keys", e.n)
	if e.n == 1 {
		msg = "scan: found 1 key"
	}
	if e.unreadable > 0 {
		msg += fmt.Sprintf("; %d files or git histories could not be read", e.unreadable)
	}
	return msg
}

// text is the line scan prints for f: where, the preview, and with a
// database the key's status.
func (f finding) text() string {
	var b strings.Builder
	if f.Commit != "" {
		b.WriteString(f.Commit + ":")
	}
	fmt.Fprintf(&b, "%s:%d:%d: %s", f.Path, f.Line, f.Column, f.Preview)
	if f.Status != "" {
		b.WriteString(" " + f.Status)
		if f.Deactivated {
			b.WriteString(", deactivated now")
		}
		if f.KeyID != "" {
			fmt.Fprintf(&b, " (key %s, %q)", f.KeyID, f.Name)
		}
	}
	return b.String()
}

// add records a key found at path (in commit, for history).
func (s *scanner) add(path, commit string, m match) {
	s.findings = append(s.findings, finding{
		Path: displayPath(path), Commit: commit, Line: m.line, Column: m.column,
		Preview: apikey.PreviewOf(m.key), key: m.key,
	})
}

// displayPath is a path as printed: a file named after a key is shown with
// the key's preview, and control and bidi characters are escaped, so that a
// file name from a scanned tree cannot rewrite the operator's terminal or
// forge a line of the report.
func displayPath(p string) string { return escapeText(apikey.RedactKeys(p)) }

// warn reports a file that could not be read, and goes on.
func (s *scanner) warn(path string, err error) {
	s.stats.unreadable++
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	fmt.Fprintf(s.stderr, "apikey: scan: %s: %v\n", displayPath(path), err)
}

// walk scans root, a file or a directory tree. Symbolic links are not
// followed, and only regular files are read (a FIFO would block). .git
// directories are skipped unless --git: their objects are compressed, and
// the history is read with git log instead; with --git, the plain files of
// .git (config, hooks, logs) are scanned too.
func (s *scanner) walk(ctx context.Context, root string) error {
	info, err := os.Lstat(root)
	if err != nil {
		// A path that does not exist may be a key pasted in the wrong
		// place: described, not echoed, unless it may be.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		s.stats.unreadable++
		fmt.Fprintf(s.stderr, "apikey: scan: %s: %v\n", strings.Trim(describeArg(root), `"`), err)
		return nil
	}
	if !info.IsDir() {
		if info.Mode().IsRegular() {
			s.file(root)
		}
		return nil
	}
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			s.warn(path, err)
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if d.Name() == ".git" && path != root && !s.withGit {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			s.file(path)
		}
		return nil
	})
}

// file scans one regular file, unless its first bytes hold a NUL.
func (s *scanner) file(path string) {
	f, err := os.Open(path)
	if err != nil {
		s.warn(path, err)
		return
	}
	defer f.Close()
	var head [sniffLen]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		s.warn(path, err)
		return
	}
	if bytes.IndexByte(head[:n], 0) >= 0 {
		s.stats.binary++
		return
	}
	s.stats.files++
	s.stream.reset(1, func(m match) { s.add(path, "", m) })
	s.stream.Write(head[:n])
	copied, err := io.Copy(s.stream, f)
	s.stats.bytes += int64(n) + copied
	if err != nil {
		s.warn(path, err)
	}
	s.stream.end()
}

// checkFindings looks the found keys up in the database, and with
// deactivate deactivates those that are active. Each key is looked up once,
// however often it was found.
func (c *cli) checkFindings(ctx context.Context, findings []finding, deactivate bool) error {
	sess, err := c.connect(ctx, false)
	if err != nil {
		return err
	}
	defer sess.close()
	type result struct {
		k           *apikey.Key
		status      string
		deactivated bool
	}
	results := map[string]*result{}
	for i := range findings {
		f := &findings[i]
		r, seen := results[f.key]
		if !seen {
			r = &result{}
			k, err := sess.manager.Identify(ctx, f.key)
			switch {
			case errors.Is(err, apikey.ErrInvalidKey):
				r.status = statusUnknown
			case err != nil:
				return err
			case sess.owner != "" && k.Owner != sess.owner:
				// With --owner another owner's key does not exist for
				// the command, as everywhere else.
				r.status = statusUnknown
			case !k.Active:
				r.k, r.status = k, statusInactive
			case k.Expired(time.Now()):
				r.k, r.status = k, statusExpired
			default:
				r.k, r.status = k, statusLive
			}
			if deactivate && r.k != nil && r.k.Active {
				// No actor: the operator running the command is trusted,
				// as for 'apikey deactivate'. The audit trail records
				// "apikey scan", and where the key was found as the reason
				// (the path is escaped and its keys redacted already;
				// NewChangeContext redacts and cuts it again).
				why := apikey.NewChangeContext(ctx, apikey.Change{ActorName: "apikey scan", Reason: "found in " + f.where()})
				if err := sess.manager.Deactivate(why, r.k.ID); err != nil {
					return notFoundAs(err, r.k)
				}
				r.deactivated = true
				fmt.Fprintf(c.stderr, "Deactivated key %s (%s, %q): found in %s.\n",
					r.k.Preview, r.k.ID, r.k.Name, f.where())
			}
			results[f.key] = r
		}
		f.Status = r.status
		if r.k != nil {
			f.KeyID, f.Name = r.k.ID.String(), escapeText(r.k.Name)
			f.Deactivated = r.deactivated
		}
	}
	return nil
}

// where names the place of a finding: path:line, with the commit for
// history.
func (f *finding) where() string {
	w := f.Path + ":" + strconv.Itoa(f.Line)
	if f.Commit != "" {
		w = f.Commit + ":" + w
	}
	return w
}
