package models

import (
	"context"
	"strings"

	"github.com/uptrace/bun"
)

// Messages of a username or an e-mail address that belongs to another
// account (the same words conflictOr gives when the unique index decides).
const (
	msgUsernameTaken = "This username is already taken."
	msgEmailTaken    = "An account with this e-mail address already exists."
)

// checkTaken adds to c a "taken" error for a username and an e-mail
// address that passed their own rules but belong to an account other than
// except (0 for a new account), so that a form reports every problem in one
// answer instead of one per round trip. The unique indexes still decide
// between two sign-ups at the same moment (conflictOr).
//
// With nothing else wrong, the answer is a ConflictError (409 in the API)
// naming every taken field; otherwise the "taken" messages join the
// ValidationError.
func (s *Service) checkTaken(ctx context.Context, c checker, username, email string, except int64) error {
	_, badName := c["username"]
	_, badEmail := c["email"]
	lname, lemail := strings.ToLower(username), strings.ToLower(email)
	if badName || username == "" {
		lname = ""
	}
	if badEmail || email == "" {
		lemail = ""
	}
	if lname == "" && lemail == "" {
		return nil
	}
	var found []User
	q := s.db.NewSelect().Model(&found).Column("id", "username", "email").
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			if lname != "" {
				q = q.WhereOr("lower(username) = ?", lname)
			}
			if lemail != "" {
				q = q.WhereOr("lower(email) = ?", lemail)
			}
			return q
		})
	if except != 0 {
		q = q.Where("id <> ?", except)
	}
	if err := q.Limit(2).Scan(ctx); err != nil {
		return err
	}
	taken := map[string]string{}
	for _, u := range found {
		if lname != "" && strings.ToLower(u.Username) == lname {
			taken["username"] = msgUsernameTaken
		}
		if lemail != "" && u.Email != nil && strings.ToLower(*u.Email) == lemail {
			taken["email"] = msgEmailTaken
		}
	}
	if len(taken) == 0 {
		return nil
	}
	if len(c) == 0 {
		field := "username"
		if taken[field] == "" {
			field = "email"
		}
		return &ConflictError{Field: field, Message: taken[field], Fields: taken}
	}
	for f, msg := range taken {
		c.add(f, msg)
	}
	return nil
}
