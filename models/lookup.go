package models

import (
	"context"
	"strconv"
	"strings"
)

// FindAs finds an account by its id, its username or its e-mail address
// (usernames are never all digits, and never hold an @), as viewer may:
// looking up by address is for those who may see addresses (admins; a
// *DeniedError for others, whether or not the address exists), and a
// deleted account is ErrNotFound below staff.
func (s *Service) FindAs(ctx context.Context, viewer *User, ref string) (*User, error) {
	ref = strings.TrimSpace(ref)
	var u *User
	var err error
	switch id, perr := strconv.ParseInt(ref, 10, 64); {
	case ref == "":
		return nil, ErrNotFound
	case perr == nil:
		if id <= 0 {
			return nil, ErrNotFound
		}
		u, err = s.Get(ctx, id)
	case strings.Contains(ref, "@"):
		if viewer != nil && !viewer.IsAdmin() {
			return nil, denied("looking an account up by e-mail address needs the admin role")
		}
		u, err = s.GetByEmail(ctx, ref)
	default:
		u, err = s.GetByUsername(ctx, ref)
	}
	if err != nil {
		return nil, err
	}
	if viewer != nil && !CanSeeAccount(viewer, u) {
		return nil, ErrNotFound
	}
	return u, nil
}
