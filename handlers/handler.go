// Package handlers holds the HTTP side of Webmin: one Handler with its
// dependencies, one file per area, each action named by what it does. A
// handler parses input, calls the users service and renders or redirects.
package handlers

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"

	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/oauth"
)

// Options are the settings the handlers need from the configuration.
type Options struct {
	SiteName     string
	BaseURL      string
	Registration string // open, confirm or closed
	Development  bool   // show template errors to the designer
	Require2FA   int    // accounts at or above this level (0: none) set up two-factor before using the console
	Passkeys     bool   // passkeys work here (BASE_URL names a host)
	Version      string
}

// Mailer is what the pages need of the mail queue; app/mailer implements
// it and app wires it in.
type Mailer interface {
	Send(models.MailRequest) // queue a message; never waits for delivery
	Transport() string       // models.TransportSMTP or TransportOutbox
	SMTPAddress() string     // the SMTP server's address, "" without one
}

// Handler carries the dependencies of every HTTP handler.
type Handler struct {
	Users     *models.Service
	Views     *html.Engine
	Sessions  *Sessions
	CSRF      *CSRFTokens
	SetupLink *SetupToken
	Log       *slog.Logger
	Opts      Options
	// Mail queues the site's e-mail (confirmation, reset); see mail_flows.go.
	Mail Mailer

	// AfterRegister runs after a self-registration that needs its e-mail
	// confirmed (the mail flows send the link); nil does nothing.
	AfterRegister func(c *fiber.Ctx, u *models.User)
	// ChangeEmail, when set, handles the settings form instead of a direct
	// update (the mail flows confirm a new address before it takes effect).
	ChangeEmail func(c *fiber.Ctx, p models.ProfilePatch) error

	// Providers are the sign-in providers (OAUTH_PROVIDERS); none when nil.
	Providers *oauth.Providers
	// OAuthCookies seals the provider sign-in cookies; see oauth.go.
	OAuthCookies *OAuthCookies

	charts chartCache // the console's drawn charts; see admin_dashboard.go
	rows   rowCache   // the console user list's and audit log's drawn rows; see admin_users.go

	// APIDocument is the JSON API's OpenAPI document, drawn by /api/docs.
	APIDocument []byte
	apiDocs     apiDocsCache // api_docs.go

	draining atomic.Bool // set by Drain when the server is told to stop

	guestHome pageCache     // the home page as every visitor without a session sees it
	fragments fragmentCache // drawn nav bars and keyed pages; see fragments.go
	lists     fragmentCache // drawn list pages (Page.ListKey); see fragments.go
}

// Locals keys.
const (
	localMe      = "me"
	localSession = "session"
	localCSRF    = "csrf"
	localVisitor = "visitor"
	localAuth    = "auth"    // the *models.Session of a signed-in request
	localPending = "pending" // the *models.Session waiting for a second factor
)

// Me is the signed-in account of the request, or nil: the one way to read
// the current user, loaded once per request by LoadSession.
func Me(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(localMe).(*models.User)
	return u
}

// actor is the signed-in account as the actor of a service call.
func actor(c *fiber.Ctx) models.Actor {
	return models.Actor{User: Me(c), Meta: meta(c)}
}

func meta(c *fiber.Ctx) models.Meta {
	return models.Meta{IP: c.IP(), UserAgent: string(c.Request().Header.UserAgent())}
}

// Page is what a handler adds to the data every page gets.
type Page struct {
	Title  string
	Status int
	Data   fiber.Map
	// Key, when set, names everything the page template shows, which must
	// then come from Data alone (not .Me, .CSRF or .Flashes): its drawing
	// is kept and reused for the same key (see fragments.go).
	Key string
	// ListKey is Key for a list page (the user list, the audit log): kept
	// the same way, in a smaller cache of its own (listFragmentMax), since
	// its drawings are big and there is one per filter, sort and page.
	ListKey string
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render draws a page inside the layout and sends it. Every template
// gets: Title, Me, Flashes, CSRF, Path, RequestID, Site, Registration,
// Version, Passkeys, plus the handler's own keys.
func (h *Handler) render(c *fiber.Ctx, name string, p Page) error {
	body, err := h.draw(c, name, p)
	if err != nil {
		return err
	}
	return sendPage(c, p.Status, body)
}

// draw renders a page inside the layout. The page is drawn first and
// handed to the layout as Content, so that pages render in parallel (the
// engine's own layout mechanism takes a global lock).
func (h *Handler) draw(c *fiber.Ctx, name string, p Page) ([]byte, error) {
	data := h.pageData(c, p.Title)
	for k, v := range p.Data {
		data[k] = v
	}
	navK := navKey(Me(c), data["Section"].(string), data["CSRF"])
	nav, err := h.fragment("partials/nav", navK, data)
	if err != nil {
		return nil, err
	}
	data["Nav"] = nav
	var content template.HTML
	switch {
	case p.Key != "":
		content, err = h.fragment(name, p.Key, data)
	case p.ListKey != "":
		content, err = h.listFragment(name, p.ListKey, data)
	default:
		content, err = h.drawFragment(name, data)
	}
	if err != nil {
		return nil, err
	}
	if key := shellKey(navK, data); key != "" && h.keepsDrawn() {
		// The layout around the page is kept too: drawn once with a mark
		// where the page goes, and cut there.
		data["Content"] = contentMark
		shell, err := h.fragment("layouts/main", key, data)
		if err != nil {
			return nil, err
		}
		if before, after, ok := strings.Cut(string(shell), string(contentMark)); ok {
			body := make([]byte, 0, len(before)+len(content)+len(after))
			return append(append(append(body, before...), content...), after...), nil
		}
	}
	data["Content"] = content
	out := bufPool.Get().(*bytes.Buffer)
	out.Reset()
	defer bufPool.Put(out)
	if err := h.execute(out, "layouts/main", data); err != nil {
		return nil, templateError("layouts/main", err)
	}
	// A copy: Send keeps the slice until the response is written, and out
	// goes back to the pool for another request when draw returns.
	return bytes.Clone(out.Bytes()), nil
}

// contentMark stands for the page in a kept layout: a comment no page
// draws (it ends in a number chosen at start).
var contentMark = template.HTML(fmt.Sprintf("<!--webmin:content:%d-->", rand.Uint64())) //nolint:gosec // not a secret, only unlikely

// shellKey names what layouts/main shows around a page: the nav bar (by
// its key), the title and the refresh, with the site's name and version
// constant for the process. Pages with flashes are drawn whole ("").
// layouts/main may read only these fields (views/README.md).
func shellKey(navKey string, data fiber.Map) string {
	if navKey == "" {
		return ""
	}
	if f, _ := data["Flashes"].([]Flash); len(f) > 0 {
		return ""
	}
	title, _ := data["Title"].(string)
	return navKey + "\x00" + title + "\x00" + fmt.Sprint(data["Refresh"])
}

// execute runs the named template. Templates read once (embedded) are
// executed straight from the parsed set: the engine's Render registers a
// function on the whole set at every call, under a write lock that every
// page being drawn at the same moment waits on. A designer's templates
// (VIEWS_DIR) go through Render, which reads them again first.
func (h *Handler) execute(w io.Writer, name string, data any) error {
	if h.Views.ShouldReload {
		return h.Views.Render(w, name, data)
	}
	t := h.Views.Templates.Lookup(name)
	if t == nil {
		return fmt.Errorf("render: template %s does not exist", name)
	}
	return t.Execute(w, data)
}

// sendPage sends a drawn page (status 0 means 200).
func sendPage(c *fiber.Ctx, status int, body []byte) error {
	if status == 0 {
		status = http.StatusOK
	}
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(body)
}

// pageCache keeps one drawn page and the key it was drawn for.
type pageCache struct {
	mu   sync.Mutex
	key  string
	body []byte
}

func (pc *pageCache) get(key string) []byte {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.key == key {
		return pc.body
	}
	return nil
}

func (pc *pageCache) put(key string, body []byte) {
	pc.mu.Lock()
	pc.key, pc.body = key, body
	pc.mu.Unlock()
}

// TemplateError is a template that failed to parse or execute.
type TemplateError struct {
	Name string
	Err  error
}

// Error names the file and line a designer should open ("views/home.html:3:
// …") when html/template says where it failed, which it does for parse and
// execution errors alike.
func (e *TemplateError) Error() string {
	msg := e.Err.Error()
	if m := templateWhere.FindStringSubmatch(msg); m != nil {
		return "views/" + m[1] + ".html:" + m[2] + ": " + m[3]
	}
	return "template " + e.Name + ": " + msg
}

// templateWhere finds html/template's "template: NAME:LINE[:COL]: message".
var templateWhere = regexp.MustCompile(`(?s)^template: ([^:]+):(\d+(?::\d+)?): (.*)$`)

func (e *TemplateError) Unwrap() error { return e.Err }

func templateError(name string, err error) error { return &TemplateError{Name: name, Err: err} }

// redirect answers a POST with 303 See Other (Post/Redirect/Get).
func redirect(c *fiber.Ctx, to string) error {
	return c.Redirect(to, fiber.StatusSeeOther)
}

func requestID(c *fiber.Ctx) string {
	if v, ok := c.Locals("requestid").(string); ok {
		return v
	}
	return c.GetRespHeader(fiber.HeaderXRequestID)
}

// paramID reads a positive integer route parameter; anything else is a 404.
func paramID(c *fiber.Ctx, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Params(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, models.ErrNotFound
	}
	return id, nil
}

// queryInt reads an integer query parameter, or def when absent or bad.
func queryInt(c *fiber.Ctx, name string, def int) int {
	v, err := strconv.Atoi(c.Query(name))
	if err != nil {
		return def
	}
	return v
}

// fieldErrors extracts the per-field messages of a validation or conflict
// error, for re-rendering a form; ok is false for any other error.
func fieldErrors(err error) (map[string]string, bool) {
	var ve *models.ValidationError
	if errors.As(err, &ve) {
		return ve.Fields, true
	}
	var ce *models.ConflictError
	if errors.As(err, &ce) {
		if len(ce.Fields) > 0 {
			return ce.Fields, true
		}
		field := ce.Field
		if field == "" {
			field = "form"
		}
		return map[string]string{field: ce.Message}, true
	}
	return nil, false
}

func itoa(n int) string { return strconv.Itoa(n) }
