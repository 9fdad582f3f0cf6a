package sqlstore

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGroupsRoundTrip(t *testing.T) {
	for _, groups := range [][]string{
		nil,
		{},
		{"read"},
		{"read", "write", "admin", "ops", "more than four"},
		{"a_b", "a%", `a\b`, `"quoted"`, "[json]", "x,y", "ops ", "🔑", "<html>&", "\x01", "\u2028"},
		{""},
	} {
		enc, err := encodeGroups(groups)
		require.NoError(t, err)
		var storage [4]string
		got, err := decodeGroups(enc, storage[:])
		require.NoError(t, err, "decode %s", enc)
		assert.Equal(t, groups, got, "round trip through %s", enc)
	}
}

func TestEncodeGroupsIsReadable(t *testing.T) {
	enc, err := encodeGroups([]string{"a<b", "c&d"})
	require.NoError(t, err)
	assert.Equal(t, `["a<b","c&d"]`, enc)
}

func TestEncodeGroupSetDropsDuplicates(t *testing.T) {
	enc, err := encodeGroupSet([]string{"b", "a", "b", "a", "c"})
	require.NoError(t, err)
	assert.Equal(t, `["b","a","c"]`, enc)
	enc, err = encodeGroupSet(nil)
	require.NoError(t, err)
	assert.Equal(t, `[]`, enc)
}

func TestDecodeGroupsFastPathShape(t *testing.T) {
	for _, s := range []string{`[ "a"]`, `["a" ]`, `["a",]`, `[,"a"]`, `["a""b"]`, `["a`, `[`, `"a"`, `["\u0041"]`} {
		_, ok := splitSimpleArray(s, nil)
		assert.False(t, ok, "%s takes the fast path", s)
	}
	got, err := decodeGroups(`["\u0041", "b"]`, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"A", "b"}, got)
	_, err = decodeGroups(`not json`, nil)
	assert.Error(t, err)
}

func TestDecodeGroupsAllocatesNothingForFourGroups(t *testing.T) {
	enc := `["read","write","admin","ops"]`
	var storage [4]string
	allocs := testing.AllocsPerRun(100, func() {
		groups, err := decodeGroups(enc, storage[:])
		if err != nil || len(groups) != 4 {
			t.Fatal(groups, err)
		}
	})
	assert.Zero(t, allocs)
}

func TestAppendUUID(t *testing.T) {
	for _, id := range []uuid.UUID{uuid.Nil, uuid.Max, uuid.New(), uuid.Must(uuid.NewV7())} {
		assert.Equal(t, id.String(), string(appendUUID(nil, id)))
	}
}

func TestTimeColumn(t *testing.T) {
	want := time.Date(2024, 2, 29, 23, 59, 58, 123456000, time.UTC)
	kolkata := time.FixedZone("IST", 5*3600+1800)
	for _, c := range []struct {
		name string
		wall bool
		src  any
	}{
		{"PostgreSQL instant in another zone", false, want.In(kolkata)},
		{"MySQL wall clock read in UTC", true, want},
		{"MySQL wall clock read with loc=Asia/Kolkata", true,
			time.Date(2024, 2, 29, 23, 59, 58, 123456000, kolkata)},
		{"MySQL text", true, []byte("2024-02-29 23:59:58.123456")},
		{"MySQL text as string", true, "2024-02-29 23:59:58.123456"},
		{"SQLite microseconds", false, want.UnixMicro()},
	} {
		var got time.Time
		col := timeColumn{dst: &got, wall: c.wall}
		require.NoError(t, col.Scan(c.src), c.name)
		assert.True(t, col.valid, c.name)
		assert.Equal(t, time.UTC, got.Location(), c.name)
		assert.True(t, want.Equal(got), "%s: got %s", c.name, got)
	}

	var got time.Time
	col := timeColumn{dst: &got}
	require.NoError(t, col.Scan(nil))
	assert.False(t, col.valid)
	assert.Error(t, col.Scan(3.5))
	assert.Error(t, col.Scan("yesterday"))
}

func TestTimeArg(t *testing.T) {
	in := time.Date(2024, 2, 29, 23, 59, 58, 123456789, time.FixedZone("X", -9*3600))
	assert.Equal(t, "2024-03-01 08:59:58.123456", MySQL.timeArg(in), "UTC, truncated")
	assert.Equal(t, in.UTC().Truncate(time.Microsecond).UnixMicro(), SQLite.timeArg(in))
	pg := Postgres.timeArg(in).(time.Time)
	assert.Equal(t, time.UTC, pg.Location())
	assert.Equal(t, 123456000, pg.Nanosecond(), "truncated, not rounded")
	assert.Nil(t, MySQL.nullTimeArg(nil))
}
