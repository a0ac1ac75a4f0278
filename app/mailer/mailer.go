// Package mailer sends the site's e-mail: confirmation links, password
// resets and notices. Every message is rendered from views/mail/, kept in
// the outbox table, and, when SMTP_URL is set, delivered by a background
// queue that retries with back-off; without SMTP the outbox is where
// admins read the messages. Requests never wait for any of it.
package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/webmin/webmin/models"
)

// Config is what the mailer needs from the configuration.
type Config struct {
	SMTPURL string      // SMTP_URL; "" keeps every message in the outbox
	From    string      // MAIL_FROM
	BaseURL string      // BASE_URL: links in messages are absolute
	Site    string      // the site's name, for subjects and greetings
	Views   fs.FS       // holds mail/KIND.txt and mail/KIND.html
	Reload  bool        // re-read the templates for every message (VIEWS_DIR)
	TLS     *tls.Config // optional TLS settings for the SMTP server (tests: a private CA)

	PollEvery  time.Duration // how often the queue looks for retries that came due (15s)
	QueueLimit int           // requests held in memory at most (10,000)
}

// Retries: a failed delivery is tried again after each of these, then
// given up on (status failed, logged and shown in the outbox).
var Retries = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 4 * time.Hour}

// Mailer renders, stores and sends messages through a queue of one worker.
type Mailer struct {
	users *models.Service
	cfg   Config
	tpl   *templates
	smtp  *smtpSender // nil: outbox only
	log   *slog.Logger

	mu      sync.Mutex
	queue   []item
	wake    chan struct{}
	room    chan struct{} // a request left the queue (SendWait)
	running bool
	stopped bool
	cancel  context.CancelFunc
	done    chan struct{}
}

// item is a request, or a flush marker to close once everything before it is done.
type item struct {
	req     models.MailRequest
	flushed chan struct{}
}

// maxQueue bounds the requests held in memory by default (the
// per-address and per-account limits keep the pages' mail far below; a
// bulk resend waits for room: SendWait).
const maxQueue = 10000

var kinds = []string{models.MailConfirm, models.MailReset, models.MailEmailChange, models.MailEmailChanged}

// New checks the configuration and loads the templates. The queue starts
// with Start, or by itself with the first request.
func New(cfg Config, users *models.Service, log *slog.Logger) (*Mailer, error) {
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = 15 * time.Second
	}
	if cfg.QueueLimit <= 0 {
		cfg.QueueLimit = maxQueue
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if _, err := mail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("MAIL_FROM: %q is not an address such as \"Site <no-reply@example.com>\"", cfg.From)
	}
	tpl, err := newTemplates(cfg.Views, cfg.Reload, kinds)
	if err != nil {
		return nil, err
	}
	m := &Mailer{users: users, cfg: cfg, tpl: tpl, log: log, wake: make(chan struct{}, 1), room: make(chan struct{}, 1)}
	if cfg.SMTPURL != "" {
		if m.smtp, err = parseSMTPURL(cfg.SMTPURL, cfg.TLS); err != nil {
			return nil, err
		}
		m.smtp.from = cfg.From
	}
	return m, nil
}

// Transport is how messages leave: models.TransportSMTP or TransportOutbox.
func (m *Mailer) Transport() string {
	if m.smtp != nil {
		return models.TransportSMTP
	}
	return models.TransportOutbox
}

// SMTPAddress is the SMTP server's host:port, or "".
func (m *Mailer) SMTPAddress() string {
	if m.smtp == nil {
		return ""
	}
	return m.smtp.address()
}

// Send queues a request and returns at once (a full or stopped queue
// refuses it, with a log line).
func (m *Mailer) Send(r models.MailRequest) {
	if !m.enqueue(r) {
		m.log.Error("mail queue refused a request", "kind", r.Kind, "stopped", m.isStopped())
	}
}

// SendWait queues a request, waiting while the queue is full: for senders
// of many messages (a bulk resend), which must lose none and may go at
// the mail's pace. It reports false only when the mailer has stopped.
func (m *Mailer) SendWait(r models.MailRequest) bool {
	for !m.enqueue(r) {
		if m.isStopped() {
			m.log.Error("mail queue stopped: a request was not queued", "kind", r.Kind)
			return false
		}
		select {
		case <-m.room:
		case <-time.After(100 * time.Millisecond): // Stop, or a missed wake-up
		}
	}
	return true
}

// enqueue adds r when the queue has room and runs.
func (m *Mailer) enqueue(r models.MailRequest) bool {
	m.mu.Lock()
	if m.stopped || len(m.queue) >= m.cfg.QueueLimit {
		m.mu.Unlock()
		return false
	}
	m.queue = append(m.queue, item{req: r})
	m.startLocked(context.Background())
	m.mu.Unlock()
	m.signal()
	return true
}

func (m *Mailer) isStopped() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopped
}

// Flush waits until every request queued before it was handled and every
// delivery due by now was tried.
func (m *Mailer) Flush(ctx context.Context) error {
	ch := make(chan struct{})
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		return errors.New("mail queue stopped")
	}
	m.queue = append(m.queue, item{flushed: ch})
	m.startLocked(context.Background())
	m.mu.Unlock()
	m.signal()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start runs the queue until ctx ends or Stop; it also delivers messages
// left pending by an earlier run.
func (m *Mailer) Start(ctx context.Context) {
	m.mu.Lock()
	m.startLocked(ctx)
	m.mu.Unlock()
	m.signal()
}

func (m *Mailer) startLocked(ctx context.Context) {
	if m.running || m.stopped {
		return
	}
	ctx, m.cancel = context.WithCancel(ctx)
	m.running, m.done = true, make(chan struct{})
	go m.run(ctx)
}

// Stop handles what is still queued and stops the worker, waiting for it
// until ctx ends.
func (m *Mailer) Stop(ctx context.Context) error {
	m.mu.Lock()
	m.stopped = true
	running, done := m.running, m.done
	if running {
		m.cancel()
	}
	m.mu.Unlock()
	if !running {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mail queue still busy: %w", ctx.Err())
	}
}

func (m *Mailer) signal() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

func (m *Mailer) pop() (item, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.queue) == 0 {
		return item{}, false
	}
	it := m.queue[0]
	m.queue[0] = item{}
	m.queue = m.queue[1:]
	select {
	case m.room <- struct{}{}:
	default:
	}
	return it, true
}

func (m *Mailer) run(ctx context.Context) {
	defer close(m.done)
	poll := time.NewTicker(m.cfg.PollEvery)
	defer poll.Stop()
	var pruned time.Time
	for {
		m.drain(ctx)
		if time.Since(pruned) > 24*time.Hour {
			pruned = time.Now()
			if n, err := m.users.PruneMail(ctx, 30*24*time.Hour); err != nil {
				m.log.Warn("prune outbox", "err", err)
			} else if n > 0 {
				m.log.Info("pruned outbox", "messages", n)
			}
		}
		select {
		case <-ctx.Done():
			// Shutting down: what was asked for is still prepared and stored.
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			m.drain(last)
			cancel()
			return
		case <-m.wake:
		case <-poll.C:
		}
	}
}

// drain handles every queued item, then tries the deliveries that are due.
func (m *Mailer) drain(ctx context.Context) {
	for {
		it, ok := m.pop()
		if !ok {
			break
		}
		if it.flushed != nil {
			m.deliverDue(ctx)
			close(it.flushed)
			continue
		}
		if err := m.prepare(ctx, it.req); err != nil {
			m.log.Error("mail not prepared", "kind", it.req.Kind, "err", err)
		}
	}
	m.deliverDue(ctx)
}

// purposes maps a kind of message to the token its link carries and the path of that link.
var purposes = map[string]struct{ token, path string }{
	models.MailConfirm:     {models.TokenConfirm, "/confirm/"},
	models.MailReset:       {models.TokenReset, "/password/reset/"},
	models.MailEmailChange: {models.TokenEmail, "/confirm/"},
}

// prepare finds the account, applies the per-account limit, makes the
// token and stores the rendered message.
func (m *Mailer) prepare(ctx context.Context, r models.MailRequest) error {
	u, err := m.find(ctx, r)
	if errors.Is(err, models.ErrNotFound) {
		m.log.Debug("mail request for no account", "kind", r.Kind)
		return nil
	}
	if err != nil {
		return err
	}
	to, ok := recipient(r, u)
	if !ok {
		m.log.Debug("mail request for an account that can't receive it", "kind", r.Kind, "user_id", u.ID, "type", u.Type)
		return nil
	}
	switch {
	case r.Email != "" && r.Kind == models.MailReset:
		_ = m.users.Record(ctx, r.By, models.EvPasswordForgot, &u.ID, "")
	case r.Login != "" && r.Kind == models.MailConfirm:
		_ = m.users.Record(ctx, r.By, models.EvConfirmationRequest, &u.ID, "")
	}
	allowed, err := m.users.MailAllowed(ctx, u.ID, r.Kind)
	if err != nil {
		return err
	}
	if !allowed {
		_ = m.users.Record(ctx, r.By, models.EvMailLimited, &u.ID,
			fmt.Sprintf("%s: at most %d an hour per account", r.Kind, models.MailPerAccountPerHour))
		return nil
	}
	d := Data{Site: m.cfg.Site, BaseURL: m.cfg.BaseURL, Username: u.Username, To: to, NewEmail: r.NewEmail}
	if p, ok := purposes[r.Kind]; ok {
		raw, t, err := m.users.IssueToken(ctx, u, p.token, to)
		if err != nil {
			return err
		}
		d.Link = m.cfg.BaseURL + p.path + raw
		d.Expires = inWords(t.ExpiresAt.Sub(t.CreatedAt))
	}
	subject, text, html, err := m.tpl.render(r.Kind, d)
	if err != nil {
		return err
	}
	msg := &models.Mail{Kind: r.Kind, UserID: &u.ID, To: to, Subject: subject, Text: text, HTML: html,
		Transport: m.Transport()}
	if err := m.users.AddMail(ctx, msg); err != nil {
		return err
	}
	m.log.Info("mail queued", "kind", r.Kind, "outbox_id", msg.ID, "transport", msg.Transport)
	return nil
}

func (m *Mailer) find(ctx context.Context, r models.MailRequest) (*models.User, error) {
	switch {
	case r.UserID != 0:
		return m.users.Get(ctx, r.UserID)
	case r.Email != "":
		return m.users.GetByEmail(ctx, r.Email)
	case strings.Contains(r.Login, "@"):
		return m.users.GetByEmail(ctx, r.Login)
	case r.Login != "":
		return m.users.GetByUsername(ctx, r.Login)
	}
	return nil, models.ErrNotFound
}

// recipient says where a message of this kind goes for u, and whether
// u may receive it at all: nothing for banned or deleted accounts, a
// confirmation only while the address is unconfirmed.
func recipient(r models.MailRequest, u *models.User) (string, bool) {
	if u.Type == models.TypeBanned || u.Type == models.TypeDeleted {
		return "", false
	}
	switch r.Kind {
	case models.MailConfirm:
		pending := u.Type == models.TypeInactive || u.EmailVerifiedAt == nil
		return u.EmailAddress(), pending && u.EmailAddress() != ""
	case models.MailReset:
		return u.EmailAddress(), u.EmailAddress() != ""
	case models.MailEmailChange:
		return r.NewEmail, r.NewEmail != "" && u.Type == models.TypeActive
	case models.MailEmailChanged:
		return r.OldEmail, r.OldEmail != ""
	}
	return "", false
}

// deliverDue sends the pending messages whose time has come.
func (m *Mailer) deliverDue(ctx context.Context) {
	if m.smtp == nil {
		return
	}
	for {
		due, err := m.users.ClaimDueMail(ctx, 2*time.Minute, 20)
		if err != nil {
			m.log.Error("read the mail queue", "err", err)
			return
		}
		for i := range due {
			m.deliver(ctx, &due[i])
		}
		if len(due) < 20 || ctx.Err() != nil {
			return
		}
	}
}

func (m *Mailer) deliver(ctx context.Context, msg *models.Mail) {
	err := m.smtp.send(ctx, msg)
	if err == nil {
		if err := m.users.MailSent(ctx, msg.ID); err != nil {
			m.log.Error("mark mail sent", "outbox_id", msg.ID, "err", err)
		}
		m.log.Info("mail sent", "kind", msg.Kind, "outbox_id", msg.ID, "smtp", m.smtp.address())
		return
	}
	var next time.Time
	if msg.Attempts < len(Retries) {
		next = m.users.Now().Add(Retries[msg.Attempts])
	}
	if next.IsZero() {
		m.log.Error("mail given up", "kind", msg.Kind, "outbox_id", msg.ID, "attempts", msg.Attempts+1, "err", err)
	} else {
		m.log.Warn("mail not sent; will retry", "kind", msg.Kind, "outbox_id", msg.ID,
			"attempt", msg.Attempts+1, "retry_at", next.UTC().Format(time.RFC3339), "err", err)
	}
	if err := m.users.MailAttemptFailed(ctx, msg, err.Error(), next); err != nil {
		m.log.Error("record mail failure", "outbox_id", msg.ID, "err", err)
	}
}

// inWords writes a link's lifetime the way the templates say it.
func inWords(d time.Duration) string {
	switch h := int(d.Round(time.Hour) / time.Hour); {
	case h == 1:
		return "1 hour"
	case h > 1:
		return fmt.Sprintf("%d hours", h)
	}
	return d.String()
}
