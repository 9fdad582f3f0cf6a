package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/apikit/apikey"
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
	switch {
	case !k.Active:
		return "inactive"
	case k.Expired(now):
		return "expired"
	default:
		return "active"
	}
}

// writeTable prints keys as the aligned columns of an admin page's "API
// Keys" tab, with an OWNER column when they are every owner's. Names cannot
// hold tabs or line breaks (apikey.ValidateName) and owners are
// [A-Za-z0-9_.:@-], so neither can break the table.
func writeTable(w io.Writer, keys []*apikey.Key, now time.Time, withOwner bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	owner := func(k *apikey.Key) string { return "" }
	header := "ID\t"
	if withOwner {
		header += "OWNER\t"
		owner = func(k *apikey.Key) string { return k.Owner + "\t" }
	}
	fmt.Fprintln(tw, header+"NAME\tSTATUS\tKEY\tCREATED\tLAST USED\tCREATED BY\tGROUPS")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			k.ID, owner(k), k.Name, status(k, now), k.Preview, formatTime(k.CreatedAt),
			formatOptionalTime(k.LastUsedAt, "never"), k.CreatedBy, strings.Join(k.Groups, ","))
	}
	return tw.Flush()
}

// writeKey prints one key, a field per line.
func writeKey(w io.Writer, k *apikey.Key, now time.Time) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "ID:\t%s\n", k.ID)
	fmt.Fprintf(tw, "Owner:\t%s\n", k.Owner)
	fmt.Fprintf(tw, "Name:\t%s\n", k.Name)
	fmt.Fprintf(tw, "Status:\t%s\n", status(k, now))
	fmt.Fprintf(tw, "Key:\t%s\n", k.Preview)
	fmt.Fprintf(tw, "Groups:\t%s\n", strings.Join(k.Groups, ","))
	fmt.Fprintf(tw, "Created:\t%s\n", formatTime(k.CreatedAt))
	fmt.Fprintf(tw, "Created by:\t%s\n", k.CreatedBy)
	fmt.Fprintf(tw, "Updated:\t%s\n", formatTime(k.UpdatedAt))
	fmt.Fprintf(tw, "Last used:\t%s\n", formatOptionalTime(k.LastUsedAt, "never"))
	fmt.Fprintf(tw, "Expires:\t%s\n", formatOptionalTime(k.ExpiresAt, "never"))
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
