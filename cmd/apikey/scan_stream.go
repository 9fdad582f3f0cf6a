package main

import (
	"bytes"

	"github.com/apikit/apikey"
)

// scanWindow is how many bytes of a file the scanner holds at once: a huge
// file, or a minified one that is a single line, is read in windows of this
// size, never whole.
const scanWindow = 256 << 10

// lookbehind is what a window keeps of the previous one before the first
// undecided position: the longest prefix a key may have.
const lookbehind = maxPrefixLength

// sniffLen is how much of a file is looked at for a NUL byte, the sign of a
// binary file (git's heuristic).
const sniffLen = 8000

// match is a key found in a stream: its line and column (1-based, the
// column in bytes) and the key itself, which is never printed.
type match struct {
	line, column int
	key          string
}

// keyStream finds keys in a stream written to it in pieces of any size,
// holding at most scanWindow bytes. Keys are those apikey.FindKeys finds in
// the whole stream: windows overlap by maxKeyLength+lookbehind bytes, and a
// key is decided by the first window in which its underscore lies before
// the last maxKeyLength bytes.
type keyStream struct {
	buf   []byte
	from  int // positions of buf before from were decided by the previous window
	found func(match)

	line      int   // the line number at position counted
	counted   int   // newlines before this position of buf are counted
	lineStart int64 // the offset in the stream of the current line's start
	base      int64 // the offset in the stream of buf[0]
}

func newKeyStream() *keyStream { return &keyStream{buf: make([]byte, 0, scanWindow)} }

// reset prepares s for a new stream whose first line is firstLine, and
// whose matches go to found.
func (s *keyStream) reset(firstLine int, found func(match)) {
	s.buf, s.from, s.found = s.buf[:0], 0, found
	s.line, s.counted, s.lineStart, s.base = firstLine, 0, 0, 0
}

// Write implements io.Writer; it never fails.
func (s *keyStream) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := copy(s.buf[len(s.buf):cap(s.buf)], p)
		s.buf, p = s.buf[:len(s.buf)+k], p[k:]
		if len(s.buf) == cap(s.buf) {
			s.scan(false)
		}
	}
	return n, nil
}

// end decides what is left at the end of the stream.
func (s *keyStream) end() { s.scan(true) }

// scan reports the keys whose underscore lies in [from, limit) of the
// window, and keeps the rest (with lookbehind) for the next window.
func (s *keyStream) scan(final bool) {
	limit := len(s.buf)
	if !final {
		limit -= maxKeyLength
	}
	apikey.FindKeys(s.buf, func(start, end int) {
		us := start + bytes.LastIndexByte(s.buf[start:end], '_')
		if us < s.from || us >= limit {
			return
		}
		s.countLines(start)
		s.found(match{line: s.line, column: int(s.base+int64(start)-s.lineStart) + 1, key: string(s.buf[start:end])})
	})
	if final {
		return
	}
	s.countLines(limit)
	keep := limit - lookbehind
	s.base += int64(keep)
	n := copy(s.buf, s.buf[keep:])
	s.buf = s.buf[:n]
	s.from, s.counted = lookbehind, s.counted-keep
}

// countLines advances the line count to position to of the window.
func (s *keyStream) countLines(to int) {
	if to <= s.counted {
		return
	}
	seg := s.buf[s.counted:to]
	if n := bytes.Count(seg, []byte{'\n'}); n > 0 {
		s.line += n
		s.lineStart = s.base + int64(s.counted+bytes.LastIndexByte(seg, '\n')+1)
	}
	s.counted = to
}
