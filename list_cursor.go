package apikey

import (
	"encoding/base64"
	"encoding/binary"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// cursorAfter returns the position of k in the order s.
func cursorAfter(k *Key, s ListSort) Cursor {
	c := Cursor{CreatedAt: k.CreatedAt, ID: k.ID}
	switch s {
	case SortName:
		c = Cursor{Name: k.Name, ID: k.ID}
	case SortExpiry:
		c = Cursor{ID: k.ID}
		if k.ExpiresAt != nil {
			c.ExpiresAt = *k.ExpiresAt
		}
	}
	return c
}

// Cursor tags: the first byte of a cursor names its order, so that an
// order added later brings its own shape. A cursor of 24 bytes without a
// tag is the creation order's from before tags.
const (
	cursorTagCreatedDesc = 1 + byte(SortCreatedDesc)
	cursorTagName        = 1 + byte(SortName)
	cursorTagExpiry      = 1 + byte(SortExpiry)
)

// encodeCursor writes c as a position in order s, in URL-safe base64:
// opaque to clients, safe in a query string. SortCreated keeps its 24 bytes
// (Unix microseconds, ID); the others start with their tag.
func encodeCursor(s ListSort, c Cursor) string {
	var b []byte
	switch s {
	case SortCreatedDesc:
		b = append(binary.BigEndian.AppendUint64([]byte{cursorTagCreatedDesc}, uint64(c.CreatedAt.UnixMicro())), c.ID[:]...)
	case SortName:
		b = append(append([]byte{cursorTagName}, c.ID[:]...), c.Name...)
	case SortExpiry:
		b = append(binary.BigEndian.AppendUint64([]byte{cursorTagExpiry}, uint64(c.ExpiresAt.UnixMicro())), c.ID[:]...)
	default:
		b = append(binary.BigEndian.AppendUint64(nil, uint64(c.CreatedAt.UnixMicro())), c.ID[:]...)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// maxCursorMicros is 9999-12-31T23:59:59.999999Z in Unix microseconds.
var maxCursorMicros = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()

// decodeCursor reads a cursor of order s; a cursor of another order, or not
// produced by List, is ErrInvalidCursor.
func decodeCursor(s ListSort, text string) (Cursor, error) {
	if text == "" {
		return Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil {
		return Cursor{}, ErrInvalidCursor
	}
	// timeAndID reads 8 bytes of Unix microseconds and an ID. Every store
	// can represent 1970 to 9999; a time outside that range was not
	// produced by List, and would make some databases fail.
	timeAndID := func(b []byte) (time.Time, uuid.UUID, error) {
		if len(b) != 24 {
			return time.Time{}, uuid.Nil, ErrInvalidCursor
		}
		micros := int64(binary.BigEndian.Uint64(b[:8]))
		if micros < 0 || micros > maxCursorMicros {
			return time.Time{}, uuid.Nil, ErrInvalidCursor
		}
		id, _ := uuid.FromBytes(b[8:])
		return time.UnixMicro(micros).UTC(), id, nil
	}
	switch s {
	case SortCreated:
		t, id, err := timeAndID(b)
		return Cursor{CreatedAt: t, ID: id}, err
	case SortCreatedDesc, SortExpiry:
		if len(b) == 0 || b[0] != 1+byte(s) {
			return Cursor{}, ErrInvalidCursor
		}
		t, id, err := timeAndID(b[1:])
		if err != nil {
			return Cursor{}, err
		}
		if s == SortExpiry {
			return Cursor{ExpiresAt: t, ID: id}, nil
		}
		return Cursor{CreatedAt: t, ID: id}, nil
	case SortName:
		if len(b) < 18 || len(b) > 17+4*maxNameLength || b[0] != cursorTagName || !utf8.Valid(b[17:]) {
			return Cursor{}, ErrInvalidCursor
		}
		id, _ := uuid.FromBytes(b[1:17])
		return Cursor{Name: string(b[17:]), ID: id}, nil
	}
	return Cursor{}, ErrInvalidCursor
}
