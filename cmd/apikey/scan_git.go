package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// gitHistory scans the lines that every commit of the repository at root
// added: on every branch and tag, and every commit a reflog still holds
// (one reset or amended away, or a stash's index and untracked files),
// with git log -p --all --reflog; then each stash's working-tree changes
// (git log -p -g refs/stash, the stash commit against its first parent:
// its base), which the first pass shows no diff of, being a merge. It reads
// git's output as a stream. A finding names the commit, the path and the
// line in that commit's version of the file. Commit messages and merge
// resolutions are not scanned.
func (s *scanner) gitHistory(ctx context.Context, root string) error {
	format := []string{"--no-color", "--no-ext-diff", "--no-textconv", "--no-renames", "-U0", "--format=commit %H"}
	if err := s.gitLog(ctx, root, append([]string{"log", "-p", "--all", "--reflog"}, format...)); err != nil {
		return err
	}
	// No stash is no error: rev-parse says whether there is one.
	if exec.CommandContext(ctx, "git", "-C", root, "rev-parse", "--verify", "--quiet", "refs/stash").Run() != nil {
		return ctx.Err()
	}
	return s.gitLog(ctx, root, append([]string{"log", "-p", "-m", "--first-parent", "--walk-reflogs", "refs/stash"}, format...))
}

// gitLog runs git with args in root and scans its output (see
// parseGitLog).
func (s *scanner) gitLog(ctx context.Context, root string, args []string) error {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("scan --git: %w", err) // no git: every path would fail
	}
	perr := s.parseGitLog(newLineReader(out))
	werr := cmd.Wait()
	if perr != nil {
		return perr
	}
	if werr != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Not a repository, or git failed: the history of root was not
		// scanned, which makes the scan incomplete but not pointless.
		s.stats.unreadable++
		fmt.Fprintf(s.stderr, "apikey: scan --git: %s: git %s: %v: %s\n", displayPath(root), args[0], werr, oneLine(stderr.String()))
	}
	return nil
}

// parseGitLog reads the output of git log -p -U0 --format="commit %H". Only
// added lines ("+" in a hunk) are scanned; a line longer than the reader's
// buffer is streamed in pieces.
func (s *scanner) parseGitLog(r *bufio.Reader) error {
	var commit, path string
	inHunk, lineNo := false, 0
	for {
		line, err := r.ReadSlice('\n')
		if len(line) == 0 && err != nil {
			return nil
		}
		switch {
		case inHunk && len(line) > 0 && line[0] == '+':
			c, p := commit, path
			s.stream.reset(lineNo, func(m match) { s.add(p, c, m) })
			s.stream.Write(line[1:])
			s.stats.bytes += int64(len(line))
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				s.stream.Write(line)
				s.stats.bytes += int64(len(line))
			}
			s.stream.end()
			lineNo++
			if err != nil {
				return nil
			}
			continue
		case bytes.HasPrefix(line, []byte("commit ")):
			commit = strings.TrimSpace(string(line[len("commit "):]))
			inHunk = false
		case bytes.HasPrefix(line, []byte("diff --git ")):
			inHunk, path = false, ""
		case !inHunk && bytes.HasPrefix(line, []byte("+++ ")):
			path = gitPath(strings.TrimRight(string(line[4:]), "\n"))
			s.stats.files++
		case bytes.HasPrefix(line, []byte("@@ ")):
			inHunk, lineNo = true, hunkStart(string(line))
		}
		// A long line that is not an added one: skip the rest of it.
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		if err != nil {
			return nil
		}
	}
}

// gitPath reads the path of a "+++ b/path" line, quoted by git when it has
// special characters.
func gitPath(p string) string {
	if strings.HasPrefix(p, `"`) {
		if u, err := strconv.Unquote(p); err == nil {
			p = u
		}
	}
	// git ends the name with a tab when it holds a space.
	return strings.TrimPrefix(strings.TrimSuffix(p, "\t"), "b/")
}

// hunkStart reads the first line of the new file in "@@ -a,b +c,d @@".
func hunkStart(h string) int {
	i := strings.Index(h, " +")
	if i < 0 {
		return 1
	}
	rest := h[i+2:]
	if j := strings.IndexAny(rest, ", "); j >= 0 {
		rest = rest[:j]
	}
	n, err := strconv.Atoi(rest)
	if err != nil {
		return 1
	}
	return n
}

// newLineReader reads git's output line by line in pieces of at most 64 KiB.
func newLineReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }
