package mailer

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/webmin/webmin/models"
)

// smtpSender sends through one SMTP server, a new connection per message
// (the site sends few; nothing to keep open).
type smtpSender struct {
	host string
	port int
	opts []mail.Option
	from string
}

// parseSMTPURL reads SMTP_URL:
//
//	smtp://user:pass@host:587   STARTTLS, required (the default port 587)
//	smtps://user:pass@host:465  TLS from the first byte (the default port 465)
//
// ?tls=opportunistic uses STARTTLS only when offered and ?tls=none never
// (for a relay on the same machine). Credentials are optional; the best
// mechanism the server offers is used, or the one named by ?auth= (plain,
// login, cram-md5, scram-sha-256…).
func parseSMTPURL(raw string, tlsConfig *tls.Config) (*smtpSender, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("SMTP_URL: %q is not smtp://user:pass@host:port", redact(raw))
	}
	s := &smtpSender{host: u.Hostname()}
	opts := []mail.Option{mail.WithTimeout(30 * time.Second)}
	switch u.Scheme {
	case "smtp":
		s.port = 587
		switch strings.ToLower(u.Query().Get("tls")) {
		case "", "starttls", "mandatory":
			opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
		case "opportunistic":
			opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
		case "none":
			opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		default:
			return nil, fmt.Errorf("SMTP_URL: tls=%q must be starttls, opportunistic or none", u.Query().Get("tls"))
		}
	case "smtps":
		s.port = 465
		opts = append(opts, mail.WithSSL())
	default:
		return nil, fmt.Errorf("SMTP_URL: scheme %q must be smtp or smtps", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("SMTP_URL: %q is not a port", p)
		}
		s.port = n
	}
	opts = append(opts, mail.WithPort(s.port))
	if u.User != nil && u.User.Username() != "" {
		// The strongest mechanism the server offers; without TLS that
		// excludes PLAIN and LOGIN, so there it is PLAIN, which go-mail
		// only sends unencrypted to a server on this machine.
		auth := mail.SMTPAuthAutoDiscover
		if strings.EqualFold(u.Query().Get("tls"), "none") {
			auth = mail.SMTPAuthPlain
		}
		if v := u.Query().Get("auth"); v != "" {
			if err := auth.UnmarshalString(v); err != nil {
				return nil, fmt.Errorf("SMTP_URL: auth=%q: %w", v, err)
			}
		}
		pass, _ := u.User.Password()
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(u.User.Username()), mail.WithPassword(pass))
	}
	if tlsConfig != nil {
		opts = append(opts, mail.WithTLSConfig(tlsConfig))
	}
	s.opts = opts
	if _, err := mail.NewClient(s.host, opts...); err != nil {
		return nil, fmt.Errorf("SMTP_URL: %w", err)
	}
	return s, nil
}

// address is host:port, for the console.
func (s *smtpSender) address() string { return s.host + ":" + strconv.Itoa(s.port) }

// send delivers one stored message.
func (s *smtpSender) send(ctx context.Context, m *models.Mail) error {
	msg := mail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("MAIL_FROM: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetMessageID()
	msg.SetGenHeader("Auto-Submitted", "auto-generated")
	msg.SetBodyString(mail.TypeTextPlain, m.Text)
	if m.HTML != "" {
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	c, err := mail.NewClient(s.host, s.opts...)
	if err != nil {
		return err
	}
	return c.DialAndSendWithContext(ctx, msg)
}

// redact hides the password of an SMTP URL for messages.
func redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(unparseable URL)"
}
