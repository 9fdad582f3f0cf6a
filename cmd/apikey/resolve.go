package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apikit/apikey"
	"github.com/google/uuid"
)

// find returns the key that ref names: its ID (a UUID), its preview
// (ak_3Fq9…x7Ab, or ak_3Fq9...x7Ab in ASCII) or the full key, found by its
// lookup ID. A preview that matches several keys is an error that lists
// their IDs. The error wraps apikey.ErrNotFound when no key matches, and
// never contains a full key. With --owner, a key of another owner is not
// found, exactly as a key that does not exist.
func (s *session) find(ctx context.Context, ref string) (*apikey.Key, error) {
	k, err := s.findAnyOwner(ctx, ref)
	if err == nil && s.owner != "" && k.Owner != s.owner {
		return nil, fmt.Errorf("%w: %s", apikey.ErrNotFound, notFoundName(ref, k))
	}
	return k, err
}

// notFoundName names ref in a "not found" message as find would for a key
// that does not exist: the ID, the preview, or the preview of a full key.
func notFoundName(ref string, k *apikey.Key) string {
	ref = strings.TrimSpace(ref)
	if id, err := uuid.Parse(ref); err == nil {
		return id.String()
	}
	if preview, ok := normalizePreview(ref); ok {
		return preview
	}
	return k.Preview + " (given in full)"
}

func (s *session) findAnyOwner(ctx context.Context, ref string) (*apikey.Key, error) {
	ref = strings.TrimSpace(ref)
	if id, err := uuid.Parse(ref); err == nil {
		k, err := s.manager.Get(ctx, id)
		if errors.Is(err, apikey.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s", apikey.ErrNotFound, id)
		}
		return k, err
	}
	if preview, ok := normalizePreview(ref); ok {
		return s.findByPreview(ctx, preview)
	}
	if parts, err := apikey.ParseKey(ref); err == nil {
		k, err := s.store.GetByLookupID(ctx, parts.LookupID)
		if errors.Is(err, apikey.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s (given in full)", apikey.ErrNotFound, previewOf(ref, parts))
		}
		return k, err
	}
	// Perhaps a key with a typo, or a truncated one: never print more of
	// it than a preview shows.
	return nil, usageErrorf("%s is not a key ID (UUID), a preview (ak_3Fq9…x7Ab) or a valid key", describeArg(ref))
}

// normalizePreview returns ref with an ASCII "..." replaced by the "…" of
// previews, and whether ref is a preview: a valid prefix, "_", four base62
// characters, "…" and four base62 characters. Anything else with an
// ellipsis (a full key pasted around one) is not a preview, and is not
// echoed as one.
func normalizePreview(ref string) (string, bool) {
	p := strings.Replace(ref, "...", "…", 1)
	head, tail, ok := strings.Cut(p, "…")
	if !ok || len(tail) != 4 || !allBase62(tail) {
		return "", false
	}
	us := strings.LastIndexByte(head, '_')
	if us < 1 || len(head)-us-1 != 4 || !allBase62(head[us+1:]) {
		return "", false
	}
	if !validPrefix(head[:us]) {
		return "", false
	}
	return p, true
}

func allBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isBase62(s[i]) {
			return false
		}
	}
	return true
}

// previewOf returns the preview of a well-formed full key, the way the
// library makes it: the prefix, 4 characters of the lookup ID, "…", the last
// 4 characters.
func previewOf(key string, parts apikey.KeyParts) string {
	return parts.Prefix + "_" + parts.LookupID[:4] + "…" + key[len(key)-4:]
}

// findByPreview pages through all keys: previews are not indexed, and a
// command-line lookup can afford it.
func (s *session) findByPreview(ctx context.Context, preview string) (*apikey.Key, error) {
	var matches []*apikey.Key
	opts := apikey.ListOptions{Owner: s.owner, Limit: apikey.MaxListLimit}
	for {
		page, err := s.manager.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, k := range page.Keys {
			if k.Preview == preview {
				matches = append(matches, k)
			}
		}
		if page.Next == "" {
			break
		}
		opts.Cursor = page.Next
	}
	switch len(matches) {
	case 0:
		return nil, fmt.Errorf("%w: %s", apikey.ErrNotFound, preview)
	case 1:
		return matches[0], nil
	}
	ids := make([]string, len(matches))
	for i, k := range matches {
		ids[i] = k.ID.String()
	}
	return nil, fmt.Errorf("preview %s is ambiguous: it matches %d keys (%s); give the key's ID instead",
		preview, len(matches), strings.Join(ids, ", "))
}
