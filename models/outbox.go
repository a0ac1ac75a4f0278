package models

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Kinds of e-mail the site sends.
const (
	MailConfirm      = "confirm"       // confirm the address of a new account
	MailReset        = "reset"         // reset a forgotten password
	MailEmailChange  = "email_change"  // confirm a new address before it takes effect
	MailEmailChanged = "email_changed" // tell the old address that it was replaced
)

// Outbox statuses: a message waits for the SMTP server (pending), was
// handed to it (sent), was given up on after every retry (failed), or, with
// no SMTP server configured, stays in the outbox for an admin (outbox).
const (
	MailPending = "pending"
	MailSent    = "sent"
	MailFailed  = "failed"
	MailOutbox  = "outbox"
)

// Transports a message goes out by.
const (
	TransportSMTP   = "smtp"
	TransportOutbox = "outbox"
)

// MailRequest asks for one message. The account is found by UserID, Email
// (the forgotten-password form) or Login (username or e-mail, the sign-in
// page's "send again"); no account, or one that can't receive this kind,
// sends nothing and says nothing. The mail queue (app/mailer) takes them.
type MailRequest struct {
	Kind     string // MailConfirm, MailReset, MailEmailChange, MailEmailChanged
	UserID   int64
	Email    string
	Login    string
	NewEmail string // MailEmailChange: the address to confirm; MailEmailChanged: the new address
	OldEmail string // MailEmailChanged: where the notice goes
	By       Actor
}

// MailPerAccountPerHour is how many e-mails of one kind an account may be
// sent within an hour, whoever asks for them, so that nobody can flood an
// inbox through "forgot password" or "resend".
const MailPerAccountPerHour = 3

// Events of the mail flows.
const (
	EvMailLimited         = "mail.limited"         // a request refused by a rate limit
	EvMailFailed          = "mail.failed"          // a message given up on
	EvMailSendReset       = "mail.send_reset"      // an admin sent a reset link
	EvMailResendConfirm   = "mail.resend_confirm"  // an admin resent the confirmation
	EvPasswordForgot      = "password.forgot"      // someone asked for a reset link
	EvEmailChangeRequest  = "email.change_request" // a new address waits for confirmation
	EvEmailChange         = "email.change"         // the new address was confirmed
	EvConfirmationRequest = "confirm.request"      // someone asked for the confirmation again
)

func init() {
	// The audit log's filter lists these too; they are declared here
	// with the rest of the mail flows.
	EventActions = append(EventActions, EvPasswordForgot, EvConfirmationRequest, EvEmailChangeRequest,
		EvEmailChange, EvMailSendReset, EvMailResendConfirm, EvMailLimited, EvMailFailed)
}

// Mail is one message in the outbox.
type Mail struct {
	bun.BaseModel `bun:"table:outbox,alias:o"`

	ID            int64      `bun:"id,pk,autoincrement" json:"id"`
	Kind          string     `bun:"kind" json:"kind"`
	UserID        *int64     `bun:"user_id" json:"user_id"`
	To            string     `bun:"to_addr" json:"to"`
	Subject       string     `bun:"subject" json:"subject"`
	Text          string     `bun:"text_body" json:"text"`
	HTML          string     `bun:"html_body" json:"html"`
	Transport     string     `bun:"transport" json:"transport"`
	Status        string     `bun:"status" json:"status"`
	Attempts      int        `bun:"attempts" json:"attempts"`
	LastError     string     `bun:"last_error" json:"last_error"`
	CreatedAt     time.Time  `bun:"created_at" json:"created_at"`
	NextAttemptAt *time.Time `bun:"next_attempt_at" json:"next_attempt_at"`
	SentAt        *time.Time `bun:"sent_at" json:"sent_at"`

	User *User `bun:"rel:belongs-to,join:user_id=id" json:"user,omitempty"`
}

// AddMail stores a new message. With transport SMTP it is pending and due
// at once; otherwise it stays in the outbox.
func (s *Service) AddMail(ctx context.Context, m *Mail) error {
	m.CreatedAt = s.now()
	m.Subject = clip(m.Subject, 500)
	if m.Transport == TransportSMTP {
		m.Status = MailPending
		m.NextAttemptAt = &m.CreatedAt
	} else {
		m.Transport, m.Status = TransportOutbox, MailOutbox
	}
	_, err := s.db.NewInsert().Model(m).Returning("id").Exec(ctx)
	return err
}

// ClaimDueMail takes up to limit pending messages whose time has come and
// pushes their next attempt lease into the future, so that another server
// on the same database doesn't send them too.
func (s *Service) ClaimDueMail(ctx context.Context, lease time.Duration, limit int) ([]Mail, error) {
	now := s.now()
	var due []Mail
	err := s.db.NewSelect().Model(&due).
		Where("o.status = ? AND o.next_attempt_at <= ?", MailPending, now).
		OrderExpr("o.next_attempt_at, o.id").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, err
	}
	out := due[:0]
	until := now.Add(lease)
	for _, m := range due {
		res, err := s.db.NewUpdate().Model((*Mail)(nil)).
			Where("id = ? AND status = ? AND next_attempt_at <= ?", m.ID, MailPending, now).
			Set("next_attempt_at = ?", until).Exec(ctx)
		if err != nil {
			return out, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			out = append(out, m)
		}
	}
	return out, nil
}

// MailSent marks a message as handed to the SMTP server.
func (s *Service) MailSent(ctx context.Context, id int64) error {
	now := s.now()
	_, err := s.db.NewUpdate().Model((*Mail)(nil)).Where("id = ?", id).
		Set("status = ?", MailSent).Set("attempts = attempts + 1").Set("sent_at = ?", now).
		Set("next_attempt_at = NULL").Set("last_error = ''").Exec(ctx)
	return err
}

// MailAttemptFailed records a failed delivery: retry at next, or, when
// next is zero, give up (status failed, with an event).
func (s *Service) MailAttemptFailed(ctx context.Context, m *Mail, reason string, next time.Time) error {
	q := s.db.NewUpdate().Model((*Mail)(nil)).Where("id = ?", m.ID).
		Set("attempts = attempts + 1").Set("last_error = ?", clip(reason, 2000))
	if next.IsZero() {
		q.Set("status = ?", MailFailed).Set("next_attempt_at = NULL")
	} else {
		q.Set("next_attempt_at = ?", next.UTC())
	}
	if _, err := q.Exec(ctx); err != nil {
		return err
	}
	if next.IsZero() {
		_ = s.record(ctx, s.db, System, EvMailFailed, m.UserID, "outbox #"+itoa(m.ID)+" ("+m.Kind+") given up: "+clip(reason, 300))
	}
	return nil
}

// OutboxFilter selects outbox messages.
type OutboxFilter struct {
	Status string // "" for all
	Page   int
	Limit  int
}

// Outbox lists messages newest first, with the account they concern.
func (s *Service) Outbox(ctx context.Context, f OutboxFilter) (Page[Mail], error) {
	if f.Limit <= 0 {
		f.Limit = 20
	}
	f.Limit = min(f.Limit, MaxLimit)
	f.Page = min(max(f.Page, 1), MaxPage)
	items := []Mail{}
	q := s.db.NewSelect().Model(&items).Relation("User")
	if f.Status != "" {
		q.Where("o.status = ?", f.Status)
	}
	q.OrderExpr("o.id DESC").Limit(int64(f.Limit)).Offset(int64((f.Page - 1) * f.Limit))
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return Page[Mail]{}, err
	}
	return Page[Mail]{Items: items, Total: int(total), Page: f.Page, Limit: f.Limit}, nil
}

// MailAllowed reports whether one more e-mail of kind may go to the
// account now (at most MailPerAccountPerHour per kind per hour).
func (s *Service) MailAllowed(ctx context.Context, userID int64, kind string) (bool, error) {
	n, err := s.db.NewSelect().Model((*Mail)(nil)).
		Where("o.user_id = ? AND o.kind = ? AND o.created_at > ?", userID, kind, s.now().Add(-time.Hour)).
		Count(ctx)
	return n < MailPerAccountPerHour, err
}

// PruneMail deletes delivered and outbox messages older than age, and
// tokens that expired that long ago; failed and pending ones stay.
func (s *Service) PruneMail(ctx context.Context, age time.Duration) (int64, error) {
	before := s.now().Add(-age)
	res, err := s.db.NewDelete().Model((*Mail)(nil)).
		Where("status IN (?) AND created_at < ?", bun.In([]string{MailSent, MailOutbox}), before).Exec(ctx)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if _, err := s.db.NewDelete().Model((*Token)(nil)).Where("expires_at < ?", before).Exec(ctx); err != nil {
		return n, err
	}
	return n, nil
}
