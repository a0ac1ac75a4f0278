package models

import (
	"context"
	"time"
)

// AdminMail decides whether by may have a link of kind (MailReset or
// MailConfirm) e-mailed to account id, and records that it was sent; the
// caller then queues the message. The console's buttons and the API's
// password-reset and resend-confirmation go through it, so they refuse
// alike: a *ConflictError (field "email") where StateConflict says no (an
// account with no address, a banned or deleted one, a confirmed address
// to confirm); a *LockedError when the
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
	// The account's state (StateConflict, the rule the console's buttons
	// follow), for the system too: there is no mail to send.
	if msg := StateConflict(act, u); msg != "" {
		return nil, &ConflictError{Field: "email", Message: msg}
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
