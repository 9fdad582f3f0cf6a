package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// formatTime writes times as RFC 3339 in UTC, to the second: what --expires
// reads, and what the JSON output holds (there with full precision).
func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func formatOptionalTime(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return formatTime(*t)
}

// status is a key's status as the table shows it: an active key past its
// expiry is "expired", since it authenticates nothing.
func status(k *apikey.Key, now time.Time) string {
	return string(k.State(now))
}

// severalOwners reports whether keys belong to more than one owner.
func severalOwners(keys []*apikey.Key) bool {
	for _, k := range keys {
		if k.Owner != keys[0].Owner {
			return true
		}
	}
	return false
}

// wideStatus is status with, for a rolled key, its successor: why it
// stopped working, and what replaced it.
func wideStatus(k *apikey.Key, now time.Time) string {
	if st := k.State(now); st == apikey.StateRolled {
		return "rolled to " + k.RolledTo.String()
	}
	return status(k, now)
}

// expires is when a key stops working, as list --wide shows it: its expiry,
// or the end of its grace period after a roll, marked "(grace)"; "never".
func expires(k *apikey.Key) string {
	end, ok := k.EndsAt()
	switch {
	case !ok:
		return "never"
	case k.GraceEndsAt != nil && end.Equal(*k.GraceEndsAt):
		return formatTime(end) + " (grace)"
	default:
		return formatTime(end)
	}
}

// tableWidth is the width of list's table unless --wide: a terminal's
// default.
const tableWidth = 80

// writeTable prints keys as the aligned columns of an admin page's "API
// Keys" tab, every value from the database escaped (escapeText) and the
// columns aligned by display width.
//
// The default table fits in tableWidth columns: the preview identifies the
// key (show, deactivate and delete take it), dates are days in UTC, and
// names and groups are cut with "…" when they do not fit. wide prints every
// column in full: the ID, the owner when withOwner (keys of every owner),
// times to the second and the creator.
func writeTable(w io.Writer, keys []*apikey.Key, now time.Time, withOwner, wide bool) error {
	var header []string
	var flexible []int // columns that shrink to fit, with their minimum widths
	var minimum []int
	row := func(k *apikey.Key) []string { return nil }
	if wide {
		header = []string{"ID", "NAME", "STATUS", "KEY", "CREATED", "LAST USED", "EXPIRES", "CREATED BY", "GROUPS"}
		if withOwner {
			header = slices.Insert(header, 1, "OWNER")
		}
		row = func(k *apikey.Key) []string {
			cells := []string{k.ID.String(), escapeText(k.Name), wideStatus(k, now), escapeText(k.Preview),
				formatTime(k.CreatedAt), formatOptionalTime(k.LastUsedAt, "never"), expires(k), escapeText(k.CreatedBy), joinGroups(k.Groups)}
			if withOwner {
				cells = slices.Insert(cells, 1, escapeText(k.Owner))
			}
			return cells
		}
	} else {
		header = []string{"KEY", "NAME", "STATUS", "CREATED", "LAST USED", "GROUPS"}
		flexible, minimum = []int{1, 5}, []int{12, 8}
		ownerColumn := withOwner && severalOwners(keys)
		if ownerColumn {
			// Two organizations' "Administrator" keys must not look the
			// same: the owner is a column whenever the list has several.
			header = slices.Insert(header, 1, "OWNER")
			flexible, minimum = []int{1, 2, 6}, []int{8, 12, 8}
		}
		day := func(t *time.Time) string {
			if t == nil {
				return "never"
			}
			return t.UTC().Format(time.DateOnly)
		}
		row = func(k *apikey.Key) []string {
			cells := []string{escapeText(k.Preview), escapeText(k.Name), status(k, now),
				day(&k.CreatedAt), day(k.LastUsedAt), joinGroups(k.Groups)}
			if ownerColumn {
				cells = slices.Insert(cells, 1, escapeText(k.Owner))
			}
			return cells
		}
	}
	rows := [][]string{header}
	for _, k := range keys {
		rows = append(rows, row(k))
	}
	widths := make([]int, len(header))
	for _, r := range rows {
		for i, cell := range r {
			widths[i] = max(widths[i], displayWidth(cell))
		}
	}
	if len(flexible) > 0 {
		total := 2 * (len(widths) - 1)
		for _, n := range widths {
			total += n
		}
		// Take a column at a time from the widest flexible column.
		for ; total > tableWidth; total-- {
			widest := -1
			for j, i := range flexible {
				if widths[i] > minimum[j] && (widest < 0 || widths[i] > widths[widest]) {
					widest = i
				}
			}
			if widest < 0 {
				break // as narrow as the columns may be
			}
			widths[widest]--
		}
	}
	bw := bufio.NewWriter(w)
	for _, r := range rows {
		var line strings.Builder
		for i, cell := range r {
			cell = truncate(cell, widths[i])
			if i == len(r)-1 {
				line.WriteString(cell)
				break
			}
			line.WriteString(pad(cell, widths[i]))
			line.WriteString("  ")
		}
		bw.WriteString(strings.TrimRight(line.String(), " "))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// joinGroups joins groups with commas, escaped (a group written by another
// program may hold anything).
func joinGroups(groups []string) string {
	return escapeText(strings.Join(groups, ","))
}

// writeKey prints one key, a field per line, every value from the database
// escaped. (tabwriter aligns the values by bytes; the labels before them
// are ASCII, so the values line up.)
func writeKey(w io.Writer, k *apikey.Key, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ID:\t%s\n", k.ID)
	fmt.Fprintf(tw, "Owner:\t%s\n", escapeText(k.Owner))
	fmt.Fprintf(tw, "Name:\t%s\n", escapeText(k.Name))
	fmt.Fprintf(tw, "Status:\t%s\n", status(k, now))
	fmt.Fprintf(tw, "Key:\t%s\n", escapeText(k.Preview))
	fmt.Fprintf(tw, "Groups:\t%s\n", joinGroups(k.Groups))
	fmt.Fprintf(tw, "Created:\t%s\n", formatTime(k.CreatedAt))
	fmt.Fprintf(tw, "Created by:\t%s\n", escapeText(k.CreatedBy))
	fmt.Fprintf(tw, "Updated:\t%s\n", formatTime(k.UpdatedAt))
	fmt.Fprintf(tw, "Last used:\t%s\n", formatOptionalTime(k.LastUsedAt, "never"))
	fmt.Fprintf(tw, "Expires:\t%s\n", formatOptionalTime(k.ExpiresAt, "never"))
	if k.RolledFrom != uuid.Nil {
		fmt.Fprintf(tw, "Rolled from:\t%s\n", k.RolledFrom)
	}
	if k.Rolled() {
		fmt.Fprintf(tw, "Rolled to:\t%s\n", k.RolledTo)
		fmt.Fprintf(tw, "Grace ends:\t%s\n", formatOptionalTime(k.GraceEndsAt, "never"))
	}
	return tw.Flush()
}

// writeJSON prints v, a key or a list of keys, in the JSON form of
// apikey.Key, which never holds the hash or the lookup ID.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // names are shown as stored: "<b>" stays "<b>"
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
