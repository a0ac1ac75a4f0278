package mailer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uptrace/bun"

	"github.com/webmin/webmin/app/mailer"
	"github.com/webmin/webmin/app/mailer/smtptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
	"github.com/webmin/webmin/views"
)

func TestMain(m *testing.M) { modelstest.Main(m) }

// testCert makes a self-signed certificate for 127.0.0.1 and a pool that trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mail test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

func newMailer(t *testing.T, db *bun.DB, smtpURL string, trust *x509.CertPool) (*mailer.Mailer, *models.Service) {
	t.Helper()
	users := modelstest.Service(db, modelstest.NewClock())
	cfg := mailer.Config{SMTPURL: smtpURL, From: "Webmin <no-reply@webmin.test>", BaseURL: "https://webmin.test/",
		Site: "Webmin", Views: views.FS}
	if trust != nil {
		cfg.TLS = &tls.Config{RootCAs: trust, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	}
	m, err := mailer.New(cfg, users, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Stop(context.Background()) })
	return m, users
}

// sendReset sends a reset link to a new account and returns the stored message.
func sendReset(t *testing.T, m *mailer.Mailer, users *models.Service, username string) models.Mail {
	t.Helper()
	ctx := context.Background()
	u, err := users.Create(ctx, models.System, models.NewUser{Username: username, Email: username + "@example.com", Password: "password123"})
	if err != nil {
		t.Fatal(err)
	}
	m.Send(models.MailRequest{Kind: models.MailReset, UserID: u.ID, By: models.System})
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := users.Outbox(ctx, models.OutboxFilter{})
	if err != nil || len(p.Items) == 0 || p.Items[0].To != u.EmailAddress() {
		t.Fatalf("outbox: %v %v", p.Items, err)
	}
	return p.Items[0]
}

// STARTTLS (the default of smtp://) and implicit TLS (smtps://) deliver
// to a server whose certificate is trusted, authenticating with PLAIN.
func TestDeliveryOverTLS(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		cert, pool := testCert(t)
		for _, tc := range []struct {
			name, scheme string
			implicit     bool
		}{{"starttls", "smtp", false}, {"implicit tls", "smtps", true}} {
			t.Run(tc.name, func(t *testing.T) {
				srv := smtptest.Start(t, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, tc.implicit)
				m, users := newMailer(t, db, srv.URL(tc.scheme, ""), pool)
				msg := sendReset(t, m, users, tc.scheme)
				if msg.Status != models.MailSent || len(srv.Messages()) != 1 {
					t.Fatalf("status %q (%s), %d delivered", msg.Status, msg.LastError, len(srv.Messages()))
				}
				p, err := srv.Messages()[0].Parse()
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(p.Text, "https://webmin.test/password/reset/") || p.Header.Get("Auto-Submitted") != "auto-generated" {
					t.Errorf("delivered message:\n%v\n%s", p.Header, p.Text)
				}
			})
		}
	})
}

// With STARTTLS required, a server that doesn't offer it gets nothing,
// credentials included: the message waits with the reason shown.
func TestStartTLSIsRequiredByDefault(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		srv := smtptest.Start(t, nil, false)
		m, users := newMailer(t, db, srv.URL("smtp", ""), nil)
		msg := sendReset(t, m, users, "rita")
		if msg.Status != models.MailPending || msg.Attempts != 1 || !strings.Contains(strings.ToLower(msg.LastError), "tls") ||
			len(srv.Messages()) != 0 {
			t.Errorf("status %q attempts %d error %q, %d delivered", msg.Status, msg.Attempts, msg.LastError, len(srv.Messages()))
		}
	})
}

func TestNewRefusesBadSettings(t *testing.T) {
	users := (*models.Service)(nil)
	for name, cfg := range map[string]mailer.Config{
		"scheme":   {SMTPURL: "http://mail.example.com", From: "a@example.com", Views: views.FS},
		"no host":  {SMTPURL: "smtp://", From: "a@example.com", Views: views.FS},
		"port":     {SMTPURL: "smtp://mail.example.com:99999", From: "a@example.com", Views: views.FS},
		"tls":      {SMTPURL: "smtp://mail.example.com?tls=sometimes", From: "a@example.com", Views: views.FS},
		"auth":     {SMTPURL: "smtp://u:p@mail.example.com?auth=telepathy", From: "a@example.com", Views: views.FS},
		"from":     {From: "not an address", Views: views.FS},
		"template": {From: "a@example.com", Views: brokenViews()},
	} {
		if _, err := mailer.New(cfg, users, slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("%s: accepted %+v", name, cfg)
		}
	}
	for _, ok := range []string{"", "smtp://mail.example.com", "smtps://u:p%40ss@mail.example.com:2465", "smtp://relay:25?tls=none",
		"smtp://u:p@mail.example.com?tls=opportunistic&auth=login"} {
		if _, err := mailer.New(mailer.Config{SMTPURL: ok, From: "Site <a@example.com>", Views: views.FS}, users, slog.New(slog.DiscardHandler)); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

// brokenViews is views/ with a confirmation template that lacks its subject line.
func brokenViews() fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, k := range []string{"confirm", "reset", "email_change", "email_changed"} {
		for _, ext := range []string{".txt", ".html"} {
			b, err := views.FS.ReadFile("mail/" + k + ext)
			if err != nil {
				panic(err)
			}
			fsys["mail/"+k+ext] = &fstest.MapFile{Data: b}
		}
	}
	fsys["mail/confirm.txt"] = &fstest.MapFile{Data: []byte("Hello {{.Username}}, no subject line here.")}
	return fsys
}

// With Reload (a designer's VIEWS_DIR) an edited template shows in the
// next message without a restart.
func TestTemplatesReload(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		fsys := fstest.MapFS{}
		for k, v := range brokenViews() {
			fsys[k] = v
		}
		b, _ := views.FS.ReadFile("mail/confirm.txt")
		fsys["mail/confirm.txt"] = &fstest.MapFile{Data: b}
		users := modelstest.Service(db, modelstest.NewClock())
		m, err := mailer.New(mailer.Config{From: "a@example.com", BaseURL: "https://webmin.test", Site: "Webmin",
			Views: fsys, Reload: true}, users, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = m.Stop(context.Background()) }()
		if got := sendReset(t, m, users, "una").Subject; got != "Reset your Webmin password" {
			t.Fatalf("subject %q", got)
		}
		fsys["mail/reset.txt"] = &fstest.MapFile{Data: []byte("Subject: New password for {{.Username}}\n\n{{.Link}}\n")}
		if got := sendReset(t, m, users, "vic").Subject; got != "New password for vic" {
			t.Errorf("after editing the template: subject %q", got)
		}
	})
}

// SendWait loses nothing when the queue is full: it waits for room. (A
// queue of two behind a worker that renders and stores each message:
// Send would refuse most of these.)
func TestSendWaitWaitsForRoom(t *testing.T) {
	modelstest.EachDB(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		users := modelstest.Service(db, modelstest.NewClock())
		m, err := mailer.New(mailer.Config{From: "Webmin <no-reply@webmin.test>", BaseURL: "https://webmin.test/",
			Site: "Webmin", Views: views.FS, QueueLimit: 2}, users, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.Stop(context.Background()) })
		const n = 40
		for i := range n {
			name := fmt.Sprintf("waiter%02d", i)
			u, err := users.Create(ctx, models.System, models.NewUser{Username: name, Email: name + "@example.com", Password: "password123"})
			if err != nil {
				t.Fatal(err)
			}
			if !m.SendWait(models.MailRequest{Kind: models.MailReset, UserID: u.ID, By: models.System}) {
				t.Fatal("SendWait refused a request of a running mailer")
			}
		}
		if err := m.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		p, err := users.Outbox(ctx, models.OutboxFilter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) != n {
			t.Fatalf("%d messages in the outbox, want %d", len(p.Items), n)
		}
		if err := m.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if m.SendWait(models.MailRequest{Kind: models.MailReset, UserID: 1, By: models.System}) {
			t.Fatal("a stopped mailer took a request")
		}
	})
}
