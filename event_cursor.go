package apikey

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// eventCursor is where a page of [Manager.Events] ended: the Position of
// its last event, or for a read limited to one owner the event's OwnerSeq
// (so that a tenant's cursor holds nothing store-wide), and the direction.
type eventCursor struct {
	newest, bySeq bool
	n             int64
}

// eventCursorVersion starts every event cursor, so that a key list cursor
// or a cursor of another shape is refused rather than misread.
const eventCursorVersion = 'E'

// encode writes c as URL-safe base64 of a version byte, a flags byte and
// the number as a varint.
func (c eventCursor) encode() string {
	b := make([]byte, 2, 2+binary.MaxVarintLen64)
	b[0] = eventCursorVersion
	if c.newest {
		b[1] |= 1
	}
	if c.bySeq {
		b[1] |= 2
	}
	b = binary.AppendUvarint(b, uint64(c.n))
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeEventCursor reads a cursor written by encode.
func decodeEventCursor(s string) (eventCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 3 || b[0] != eventCursorVersion || b[1]&^3 != 0 {
		return eventCursor{}, errors.New("malformed event cursor")
	}
	n, size := binary.Uvarint(b[2:])
	if size <= 0 || 2+size != len(b) || n == 0 || n > 1<<62 {
		return eventCursor{}, errors.New("malformed event cursor")
	}
	return eventCursor{newest: b[1]&1 != 0, bySeq: b[1]&2 != 0, n: int64(n)}, nil
}
