package models

import "context"

// Reads as a given viewer sees them, for the JSON API, where anyone with a
// key (whatever their creator's level now is) may read accounts.

// CanSeeAccount reports whether viewer may see target at all: anyone may
// see an account that isn't deleted (a public profile); a deleted one only
// staff.
func CanSeeAccount(viewer, target *User) bool {
	if target == nil {
		return false
	}
	return target.Type != TypeDeleted || viewer.IsStaff()
}

// ListAs is List as viewer may see it (its pages kept, as ConsoleList's): below staff, deleted accounts are
// left out and asking for them is denied; below admin, the search looks at
// usernames and names only, so that it can't reveal e-mail addresses.
func (s *Service) ListAs(ctx context.Context, viewer *User, f Filter) (Page[User], error) {
	if err := f.Normalize(DefaultLimit); err != nil {
		return Page[User]{}, err
	}
	staff := viewer.IsStaff()
	if !staff && f.Type == "deleted" {
		return Page[User]{}, denied("only staff can list deleted accounts")
	}
	if !viewer.IsAdmin() {
		f.NoEmailSearch = true
	}
	f.NotDeleted = !staff
	// Kept like the console's pages (ConsoleList), until the next change
	// of accounts: a client polling a page, or many asking at once, costs
	// no query.
	return s.ConsoleList(ctx, f)
}

// DefaultLevel is the level a new account gets when none is asked for.
func (s *Service) DefaultLevel() int { return s.opts.DefaultLevel }
