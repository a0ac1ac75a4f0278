package mailer

import (
	"bytes"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"strings"
	"sync"
	texttemplate "text/template"
)

// Data is what every mail template gets.
type Data struct {
	Site     string // the site's name
	BaseURL  string // BASE_URL, without a trailing slash
	Username string // the account's username
	To       string // the address the message goes to
	Link     string // the absolute link to follow ("" for a notice)
	Expires  string // how long the link works, in words ("48 hours")
	NewEmail string // email_changed: the address that replaced this one
}

// templates renders views/mail/KIND.txt (whose first line is
// "Subject: …") and views/mail/KIND.html. Parsed once, or on every message
// when reload is set (a designer's VIEWS_DIR).
type templates struct {
	fsys   fs.FS
	reload bool

	mu   sync.Mutex
	text map[string]*texttemplate.Template
	html map[string]*htmltemplate.Template
}

func newTemplates(fsys fs.FS, reload bool, kinds []string) (*templates, error) {
	t := &templates{fsys: fsys, reload: reload,
		text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
	// Draw each once with sample data, so that a broken template stops
	// the start rather than a message.
	sample := Data{Site: "Site", BaseURL: "https://example.com", Username: "someone", To: "someone@example.com",
		Link: "https://example.com/x", Expires: "1 hour", NewEmail: "new@example.com"}
	var errs []error
	for _, k := range kinds {
		if _, _, _, err := t.render(k, sample); err != nil {
			errs = append(errs, err)
		}
	}
	return t, errors.Join(errs...)
}

func (t *templates) load(kind string) (*texttemplate.Template, *htmltemplate.Template, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.reload {
		if tt, ok := t.text[kind]; ok {
			return tt, t.html[kind], nil
		}
	}
	tt, err := texttemplate.ParseFS(t.fsys, "mail/"+kind+".txt")
	if err != nil {
		return nil, nil, fmt.Errorf("mail template: %w", err)
	}
	ht, err := htmltemplate.ParseFS(t.fsys, "mail/"+kind+".html")
	if err != nil {
		return nil, nil, fmt.Errorf("mail template: %w", err)
	}
	t.text[kind], t.html[kind] = tt, ht
	return tt, ht, nil
}

// render draws one message: its subject, plain text and HTML.
func (t *templates) render(kind string, d Data) (subject, text, html string, err error) {
	tt, ht, err := t.load(kind)
	if err != nil {
		return "", "", "", err
	}
	var buf bytes.Buffer
	if err := tt.Execute(&buf, d); err != nil {
		return "", "", "", fmt.Errorf("mail template mail/%s.txt: %w", kind, err)
	}
	subject, text, err = splitSubject(buf.String())
	if err != nil {
		return "", "", "", fmt.Errorf("mail template mail/%s.txt: %w", kind, err)
	}
	buf.Reset()
	if err := ht.Execute(&buf, d); err != nil {
		return "", "", "", fmt.Errorf("mail template mail/%s.html: %w", kind, err)
	}
	return subject, text, buf.String(), nil
}

// splitSubject takes the "Subject: …" first line off a rendered text template.
func splitSubject(s string) (subject, body string, err error) {
	s = strings.TrimLeft(s, " \t\r\n")
	first, rest, _ := strings.Cut(s, "\n")
	subject, ok := strings.CutPrefix(strings.TrimSpace(first), "Subject:")
	subject = strings.TrimSpace(subject)
	if !ok || subject == "" {
		return "", "", errors.New(`the first line must be "Subject: …"`)
	}
	body = strings.TrimLeft(strings.ReplaceAll(rest, "\r\n", "\n"), "\n")
	return subject, strings.TrimRight(body, " \t\n") + "\n", nil
}
