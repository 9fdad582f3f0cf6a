package sqlstore

import "github.com/apikit/apikey"

// checkGuard checks a locked row's owner and groups (as stored, JSON)
// against guard, which may be nil: the one check of every guarded change.
// The owner first: a key of another owner is apikey.ErrNotFound, whatever
// its groups, so that nothing tells it exists; groups other than the
// guard's are apikey.ErrConflict.
func checkGuard(guard *apikey.Guard, owner, groupsJSON string) error {
	if guard == nil {
		return nil
	}
	if guard.Owner != "" && owner != guard.Owner {
		return apikey.ErrNotFound
	}
	if guard.Groups != nil {
		want, err := encodeGroups(guard.Groups)
		if err != nil {
			return err
		}
		if groupsJSON != want {
			return apikey.ErrConflict
		}
	}
	return nil
}
