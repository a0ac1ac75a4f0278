package app_test

// Every template in views/ is drawn through HTTP on a seeded site, so that
// a designer's broken edit fails a test instead of a visitor's page; and a
// template error shows the designer its file and line in development, and
// a clean 500 page with a request id (no internals) in production.

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/oauth/oauthtest"
	"github.com/webmin/webmin/views"
)

// tplPage is one request that draws a template: who asks, what, the
// status it must answer and a piece of markup only that template writes.
type tplPage struct {
	template string // views/<template>.html
	client   *apptest.Client
	method   string // GET (default) or POST
	path     string
	form     url.Values
	status   int
	marker   string
}

func TestEveryTemplateRenders(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		ctx := context.Background()
		drawn := map[string]bool{}
		check := func(p tplPage) *apptest.Response {
			t.Helper()
			var res *apptest.Response
			if p.method == http.MethodPost {
				res = p.client.Post(p.path, p.form)
			} else {
				res = p.client.Get(p.path)
			}
			if res.StatusCode != p.status {
				t.Fatalf("%s %s (template %s): status %d, want %d\n%s", tplOr(p.method, "GET"), p.path, p.template,
					res.StatusCode, p.status, res.Text())
			}
			if !strings.Contains(res.Body, p.marker) {
				t.Fatalf("%s %s: no %q, so it isn't views/%s.html\n%s", tplOr(p.method, "GET"), p.path, p.marker, p.template, res.Body)
			}
			if !strings.Contains(res.Body, `<footer class="site-footer`) {
				t.Fatalf("%s %s: the page is not inside the layout\n%s", tplOr(p.method, "GET"), p.path, res.Body)
			}
			drawn[p.template] = true
			return res
		}

		// First run: the one-time /setup link makes the superadmin.
		guest := env.Client()
		token := env.Server.Handler.SetupLink.Token()
		check(tplPage{template: "auth/setup", client: guest, path: "/setup?token=" + token, status: 200, marker: `action="/setup"`})
		check(tplPage{template: "auth/setup", client: guest, method: http.MethodPost, path: "/setup", status: 422, marker: `field-error`,
			form: url.Values{"token": {token}, "username": {"x"}, "password": {"short"}}})
		root := env.Client()
		if res := root.Post("/setup", url.Values{"token": {token}, "username": {"root"}, "email": {"root@example.com"},
			"password": {apptest.Password}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("setup: %d\n%s", res.StatusCode, res.Text())
		}

		// A site with people in it: demo accounts, a member, a banned one.
		if err := env.Users.Seed(ctx, 60, nil); err != nil {
			t.Fatal(err)
		}
		ada := env.User("ada", 1)
		mallory := env.User("mallory", 1)
		if _, err := env.Users.Block(ctx, models.System, mallory.ID, "Spam <b>in</b> every thread"); err != nil {
			t.Fatal(err)
		}
		member := env.SignedIn("ada")
		env.User("tess", 1)
		env.TurnOnMFA("tess")
		halfway := env.Client()
		if res := halfway.Post("/login", url.Values{"login": {"tess"}, "password": {apptest.Password}}); res.Location() != "/login/2fa" {
			t.Fatalf("sign-in with two-factor: %d → %q", res.StatusCode, res.Location())
		}
		adaPath := "/admin/users/" + strconv.FormatInt(ada.ID, 10)
		mallPath := "/admin/users/" + strconv.FormatInt(mallory.ID, 10)

		// Mail: an e-mail change and its notice, a confirmation, a reset link.
		grace := env.User("grace", 1) // not confirmed yet
		member.Post("/settings", url.Values{"name": {"Ada Lovelace"}, "email": {"ada.lovelace@example.com"}, "avatar": {""}})
		if res := member.Get(tplLink(t, env, outbox(t, env), models.MailEmailChange)); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("following the e-mail change link: %d\n%s", res.StatusCode, res.Text())
		}
		root.Post("/admin/users/"+strconv.FormatInt(grace.ID, 10)+"/resend", nil)
		guest.Post("/password/forgot", url.Values{"email": {"ada.lovelace@example.com"}})
		mails := outbox(t, env)
		kinds := map[string]bool{}
		for _, m := range mails {
			if strings.TrimSpace(m.Text) == "" || strings.TrimSpace(m.HTML) == "" || strings.TrimSpace(m.Subject) == "" {
				t.Errorf("mail %s to %s has an empty subject, text or HTML part", m.Kind, m.To)
			}
			kinds[m.Kind] = true
		}
		for _, k := range []string{models.MailReset, models.MailConfirm, models.MailEmailChange, models.MailEmailChanged} {
			if !kinds[k] {
				t.Errorf("no %s mail in the outbox: views/mail/%s.{txt,html} did not render (see the log)", k, k)
			}
			drawn["mail/"+k] = true
		}
		resetPath := tplLink(t, env, mails, models.MailReset)

		for _, p := range []tplPage{
			// Visitors
			{template: "home", client: guest, path: "/", status: 200, marker: `id="online-badge"`},
			{template: "auth/login", client: guest, path: "/login?next=/settings", status: 200, marker: `action="/login"`},
			{template: "auth/login", client: guest, method: http.MethodPost, path: "/login", status: 401, marker: `flash-error`,
				form: url.Values{"login": {"ada"}, "password": {"wrong password"}}},
			{template: "auth/register", client: guest, path: "/register", status: 200, marker: `action="/register"`},
			{template: "auth/register", client: guest, method: http.MethodPost, path: "/register", status: 422, marker: `field-error`,
				form: url.Values{"username": {"a"}, "email": {"nope"}, "password": {"x"}}},
			{template: "auth/banned", client: guest, method: http.MethodPost, path: "/login", status: 403, marker: "Spam &lt;b&gt;in&lt;/b&gt; every thread",
				form: url.Values{"login": {"mallory"}, "password": {apptest.Password}}},
			{template: "auth/forgot", client: guest, path: "/password/forgot", status: 200, marker: `action="/password/forgot"`},
			{template: "auth/check_mail", client: guest, path: "/password/forgot/sent", status: 200, marker: `check-mail`},
			{template: "auth/check_mail", client: guest, path: "/confirm/sent", status: 200, marker: `check-mail`},
			{template: "auth/reset", client: guest, path: resetPath, status: 200, marker: `action="` + resetPath + `"`},
			{template: "auth/link_invalid", client: guest, path: "/password/reset/not-a-token", status: 404, marker: `<h1`},
			{template: "profile/show", client: guest, path: "/profile/ADA", status: 200, marker: `Ada Lovelace`},
			{template: "errors/error", client: guest, path: "/no/such/page", status: 404, marker: `error-code`},
			{template: "api/docs", client: guest, path: "/api/docs", status: 200, marker: `class="card api-operation"`},

			// Members
			{template: "member/dashboard", client: member, path: "/dashboard", status: 200, marker: `Hello, Ada Lovelace`},
			{template: "member/settings", client: member, path: "/settings", status: 200, marker: `action="/settings/password"`},
			{template: "member/security", client: member, path: "/settings/security", status: 200, marker: `id="identities"`},
			{template: "member/settings", client: member, method: http.MethodPost, path: "/settings/password", status: 422, marker: `field-error`,
				form: url.Values{"current_password": {"wrong"}, "password": {"x"}}},
			{template: "member/tokens", client: member, path: "/settings/tokens", status: 200, marker: `action="/settings/tokens"`},
			{template: "member/tokens", client: member, method: http.MethodPost, path: "/settings/tokens", status: 422, marker: `field-error`,
				form: url.Values{"name": {""}, "scope": {"all"}}},
			{template: "profile/show", client: member, path: "/profile/ada", status: 200, marker: `href="/settings"`},
			{template: "member/sessions", client: member, path: "/settings/sessions", status: 200, marker: `data-current`},
			{template: "member/security", client: member, path: "/settings/security", status: 200, marker: `id="totp-begin-form"`},
			{template: "auth/second_factor", client: halfway, path: "/login/2fa", status: 200, marker: `name="code"`},
			{template: "auth/second_factor", client: halfway, method: http.MethodPost, path: "/login/2fa", status: 401, marker: `id="e-code"`,
				form: url.Values{"code": {"000000"}}},
			{template: "errors/error", client: member, path: "/admin", status: 403, marker: `error-code`},

			// The console
			{template: "admin/dashboard", client: root, path: "/admin", status: 200, marker: `class="admin-nav"`},
			{template: "admin/users", client: root, path: "/admin/users?search=a&sort=-username&type=all&limit=20&page=2", status: 200, marker: `id="user-search"`},
			{template: "admin/users", client: root, path: "/admin/users?sort=bogus&level=99&created_from=yesterday", status: 422, marker: `id="user-search"`},
			{template: "admin/user", client: root, path: adaPath, status: 200, marker: `id="ban-form"`},
			{template: "admin/user", client: root, path: mallPath, status: 200, marker: `id="unban-form"`},
			{template: "admin/new", client: root, path: "/admin/users/new", status: 200, marker: `action="/admin/users"`},
			{template: "admin/new", client: root, method: http.MethodPost, path: "/admin/users", status: 422, marker: `field-error`,
				form: url.Values{"username": {"!"}, "password": {"x"}, "level": {"1"}}},
			{template: "admin/online", client: root, path: "/admin/online", status: 200, marker: `class="admin-nav"`},
			{template: "admin/events", client: root, path: "/admin/events", status: 200, marker: `event-row`},
			{template: "admin/outbox", client: root, path: "/admin/outbox", status: 200, marker: `class="mail`},
			{template: "admin/keys", client: root, path: "/admin/keys", status: 200, marker: `action="/admin/keys"`},
			{template: "admin/scripts", client: root, path: "/admin/scripts", status: 200, marker: `id="snippet-form"`},
			{template: "admin/scripts", client: root, method: http.MethodPost, path: "/admin/scripts/run", status: 200,
				marker: `id="snippet-output"`, form: url.Values{"code": {"print(1)"}}},
			{template: "admin/bulk", client: root, path: "/admin/users/bulk?action=ban&type=active&reason=spam", status: 200, marker: `id="bulk-start"`},
			{template: "admin/bulk", client: root, path: "/admin/users/bulk?action=explode", status: 422, marker: `flash-error`},
			{template: "admin/bulk_jobs", client: root, path: "/admin/users/bulk", status: 200, marker: `Bulk jobs</h1>`},
		} {
			check(p)
		}
		if res := root.Post("/admin/users/bulk", url.Values{"action": {"revoke_sessions"}, "search": {"ada"}}); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("start a bulk job: %d\n%s", res.StatusCode, res.Text())
		} else {
			check(tplPage{template: "admin/bulk_job", client: root, path: res.Location(), status: 200, marker: `id="bulk-progress"`})
		}

		// Sign-in providers: a site with them (and e-mail confirmation on),
		// a new member whose provider gave no verified address, a refusal.
		pv := startProviders(t)
		withProviders := apptest.New(t, env.DBName, pv.site(app.RegistrationConfirm))
		newcomer := withProviders.Client()
		pv.github.SignInAs(&oauthtest.Person{Subject: "42", Username: "newcomer"})
		want303(t, signInWith(t, newcomer, "github", ""), "/auth/github/email", "provider sign-up without an address")
		for _, p := range []tplPage{
			{template: "auth/oauth_email", client: newcomer, path: "/auth/github/email", status: 200, marker: `action="/auth/github/email"`},
			{template: "auth/oauth_email", client: newcomer, method: http.MethodPost, path: "/auth/github/email", status: 422, marker: `field-error`,
				form: url.Values{"email": {"nope"}}},
			{template: "auth/oauth_error", client: withProviders.Client(), path: "/auth/github/callback?state=forged&code=x", status: 400, marker: `data-problem="state"`},
		} {
			check(p)
		}

		// Every template in views/ was drawn by one of the requests above.
		var missing []string
		for _, name := range tplNames(t) {
			if !drawn[name] {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			t.Errorf("no request in TestEveryTemplateRenders draws %s: add one, so that a broken edit is caught",
				strings.Join(missing, ", "))
		}
	})
}

// tplNames lists the templates of views/ that pages or mails are drawn
// from (layouts and partials are drawn inside them), and checks that every
// partial is called from somewhere.
func tplNames(t *testing.T) []string {
	t.Helper()
	var names []string
	var sources strings.Builder
	partials := map[string]bool{}
	err := fs.WalkDir(views.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (!strings.HasSuffix(path, ".html") && !strings.HasSuffix(path, ".txt")) {
			return err
		}
		b, err := fs.ReadFile(views.FS, path)
		if err != nil {
			return err
		}
		sources.Write(b)
		name := strings.TrimSuffix(strings.TrimSuffix(path, ".html"), ".txt")
		switch {
		case strings.HasPrefix(path, "partials/"):
			partials[name] = true
		case strings.HasPrefix(path, "layouts/"):
		default:
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A partial may also be drawn by a handler, named there as a string
	// (the console's charts are drawn once per figures, the nav bar once
	// per account); the requests above draw them through HTTP all the same.
	handlerSources, err := filepath.Glob("../handlers/*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range handlerSources {
		if b, err := os.ReadFile(f); err == nil && !strings.HasSuffix(f, "_test.go") {
			sources.Write(b)
		}
	}
	for p := range partials {
		if !strings.Contains(sources.String(), `template "`+p+`"`) && !strings.Contains(sources.String(), `"`+p+`"`) {
			t.Errorf("views/%s.html is called by no template", p)
		}
	}
	sort.Strings(names)
	return slices.Compact(names)
}

var tplLinkRE = regexp.MustCompile(`https?://[^\s"<>]+/(confirm|password/reset)/[A-Za-z0-9_-]+`)

// tplLink is the path of the link in the newest mail of a kind.
func tplLink(t *testing.T, env *apptest.Env, mails []models.Mail, kind string) string {
	t.Helper()
	for _, m := range mails {
		if m.Kind == kind {
			if l := tplLinkRE.FindString(m.Text); l != "" {
				return strings.TrimPrefix(l, env.Config.BaseURL)
			}
		}
	}
	t.Fatalf("no %s mail with a link in the outbox", kind)
	return ""
}

func tplOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// copyViews copies the embedded templates to a folder, as a designer's VIEWS_DIR.
func copyViews(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	err := fs.WalkDir(views.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, path), 0o755)
		}
		b, err := fs.ReadFile(views.FS, path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, path), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTemplateErrorsInDevelopmentAndProduction: with VIEWS_DIR a designer's
// edit shows on the next request, and a broken one shows its file and line;
// in production the same break is a clean 500 page with the request id.
func TestTemplateErrorsInDevelopmentAndProduction(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		dir := env.Config.ViewsDir
		home := filepath.Join(dir, "home.html")
		orig, err := os.ReadFile(home)
		if err != nil {
			t.Fatal(err)
		}
		write := func(path, s string) {
			t.Helper()
			if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c := env.Client()

		// An edit shows on reload, with no restart.
		write(home, string(orig)+"\n<p id=\"designer-edit\">Edited</p>\n")
		if res := c.Get("/"); res.StatusCode != 200 || !strings.Contains(res.Body, `id="designer-edit"`) {
			t.Fatalf("the edited home.html is not served: %d", res.StatusCode)
		}

		// So are the pieces that production keeps once drawn (the nav bar,
		// a profile), for visitors and members alike.
		env.User("ann", 1)
		member := env.SignedIn("ann")
		for _, f := range []string{"partials/nav.html", "profile/show.html"} {
			path := filepath.Join(dir, f)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for i, cl := range []*apptest.Client{c, member} {
				cl.Get("/profile/ann")
				mark := fmt.Sprintf(`<p id="edit-%d">Edited</p>`, i)
				write(path, string(before)+mark)
				if res := cl.Get("/profile/ann"); !strings.Contains(res.Body, mark) {
					t.Fatalf("the edited %s is not served (client %d)", f, i)
				}
			}
			write(path, string(before))
		}

		// A parse error breaks the whole set of templates, the error page's
		// too, so its 500 is the plain-text one; an execution error gets the
		// 500 page in the layout.
		breaks := []struct {
			name, text, want string
			inLayout         bool
		}{
			{"execution", "<h1>Home</h1>\n<p>\n{{.Counts.Total.Nope}}</p>\n", "views/home.html:3", true},
			{"parse", "<h1>Home</h1>\n\n{{if .Me}}unclosed", "views/home.html:3", false},
		}
		for _, br := range breaks {
			write(home, br.text)
			env.Server.Handler.Opts.Development = true
			res := c.Get("/")
			if res.StatusCode != http.StatusInternalServerError {
				t.Fatalf("%s error in development: status %d", br.name, res.StatusCode)
			}
			if !strings.Contains(res.Body, br.want) {
				t.Errorf("%s error in development: the page doesn't say where (%q):\n%s", br.name, br.want, res.Text())
			}

			env.Server.Handler.Opts.Development = false // production
			res = c.Get("/")
			if res.StatusCode != http.StatusInternalServerError {
				t.Fatalf("%s error in production: status %d", br.name, res.StatusCode)
			}
			id := res.Header.Get("X-Request-Id")
			if id == "" || !strings.Contains(res.Body, id) {
				t.Errorf("%s error in production: the page doesn't show the request id %q:\n%s", br.name, id, res.Text())
			}
			for _, leak := range []string{"home:", "Nope", "template", "unclosed", "executing", dir} {
				if strings.Contains(res.Body, leak) {
					t.Errorf("%s error in production: the page shows %q:\n%s", br.name, leak, res.Text())
				}
			}
			if br.inLayout && !strings.Contains(res.Body, `<footer class="site-footer`) {
				t.Errorf("%s error in production: the 500 page is not in the layout", br.name)
			}
		}

		// A broken layout: even the error page can't be drawn; a plain-text 500, still no internals.
		write(home, string(orig))
		write(filepath.Join(dir, "layouts", "main.html"), "<!doctype html>\n<title>{{.Title}}</title>\n{{.Me.Nope}}\n{{.Content}}\n")
		env.Server.Handler.Opts.Development = false
		res := c.Get("/")
		id := res.Header.Get("X-Request-Id")
		if res.StatusCode != http.StatusInternalServerError || id == "" || !strings.Contains(res.Body, id) {
			t.Errorf("broken layout in production: %d, request id %q in %q", res.StatusCode, id, res.Body)
		}
		if strings.Contains(res.Body, "Nope") || strings.Contains(res.Body, "layouts/main") {
			t.Errorf("broken layout in production shows internals: %q", res.Body)
		}
		env.Server.Handler.Opts.Development = true
		if res := c.Get("/"); !strings.Contains(res.Body, "views/layouts/main.html:3") {
			t.Errorf("broken layout in development doesn't say where: %q", res.Body)
		}
	}, func(c *app.Config) { c.ViewsDir = copyViews(t) })
}
