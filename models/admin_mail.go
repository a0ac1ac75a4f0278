package models

import (
	"context"
	"time"
)

// AdminMail decides whether by may have a link of kind (MailReset or
// MailConfirm) e-mailed to account id, and records that it was sent; the
// caller then queues the message. The console's buttons and the API's
// password-reset and resend-confirmation go through it, so they refuse
// alike: a *ConflictError (field "email") for an account with no address,
// a banned or deleted one, or a confirmed address; a *LockedError when the
// account was already sent MailPerAccountPerHour such messages this hour.
func (s *Service) AdminMail(ctx context.Context, by Actor, id int64, kind string) (*User, error) {
	act, event := ActSendReset, EvMailSendReset
	if kind == MailConfirm {
		act, event = ActConfirm, EvMailResendConfirm
	} else if kind != MailReset {
		return nil, fieldError("kind", "Unknown kind of message.")
	}
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := Authorize(by.User, act, u); err != nil {
		return nil, err
	}
	switch {
	case u.EmailAddress() == "":
		return nil, &ConflictError{Field: "email", Message: u.Username + " has no e-mail address to send a link to."}
	case u.Type == TypeBanned || u.Type == TypeDeleted:
		return nil, &ConflictError{Field: "email", Message: "A banned or deleted account can't be sent a link; unban or restore it first."}
	case kind == MailConfirm && u.Type != TypeInactive && u.EmailVerifiedAt != nil:
		return nil, &ConflictError{Field: "email", Message: u.Username + "'s e-mail address is already confirmed."}
	}
	allowed, err := s.MailAllowed(ctx, u.ID, kind)
	if err != nil {
		return nil, err
	}
	if !allowed {
		_ = s.record(ctx, s.db, by, EvMailLimited, &u.ID, kind+": at most "+itoa(MailPerAccountPerHour)+" an hour per account")
		return nil, &LockedError{RetryAfter: time.Hour}
	}
	_ = s.record(ctx, s.db, by, event, &u.ID, "")
	return u, nil
}
