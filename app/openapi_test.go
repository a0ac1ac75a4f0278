package app_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/handlers/api"
)

// The document lists exactly the API's routes: a route added to
// app/routes.go without its description, or a description of a route
// that is gone, fails here. (Every answer in the tests is checked against
// the document by apptest's client.)
func TestOpenAPIListsEveryRouteAndNothingElse(t *testing.T) {
	env := apptest.New(t, "sqlite")
	if _, err := apptest.Contract(); err != nil {
		t.Fatal(err)
	}
	param := regexp.MustCompile(`:([A-Za-z_]+)`)
	inRoutes := map[string]bool{}
	for _, r := range env.Server.Fiber.GetRoutes(true) {
		if !strings.HasPrefix(r.Path, "/api/v1/") || r.Method == http.MethodHead {
			continue
		}
		inRoutes[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.Document, &doc); err != nil {
		t.Fatal(err)
	}
	inDoc := map[string]bool{}
	for path, methods := range doc.Paths {
		for m := range methods {
			inDoc[strings.ToUpper(m)+" "+path] = true
		}
	}
	var missing, extra []string
	for r := range inRoutes {
		if !inDoc[r] {
			missing = append(missing, r)
		}
	}
	for r := range inDoc {
		if !inRoutes[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes not described in handlers/api/openapi.json:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(extra) > 0 {
		t.Errorf("handlers/api/openapi.json describes routes app/routes.go doesn't have:\n  %s", strings.Join(extra, "\n  "))
	}
	if len(inRoutes) < 20 {
		t.Fatalf("only %d API routes found: is the route table read right? %v", len(inRoutes), inRoutes)
	}
}

// The document is served as is, and /api/docs draws every operation of it.
func TestOpenAPIDocumentAndReferencePage(t *testing.T) {
	apptest.EachDB(t, func(t *testing.T, env *apptest.Env) {
		c := env.Client()
		res := c.Get("/api/v1/openapi.json")
		wantStatus(t, res, http.StatusOK)
		if res.Body != string(api.Document) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("served %q:\n%.200s", res.Header.Get("Content-Type"), res.Body)
		}
		var doc struct {
			OpenAPI string `json:"openapi"`
			Paths   map[string]map[string]struct {
				ID string `json:"operationId"`
			} `json:"paths"`
		}
		res.JSON(t, &doc)
		if doc.OpenAPI != "3.1.0" {
			t.Fatalf("openapi %q", doc.OpenAPI)
		}
		page := c.Get("/api/docs")
		wantStatus(t, page, http.StatusOK)
		for path, methods := range doc.Paths {
			for m, op := range methods {
				wantContains(t, page, `id="`+op.ID+`" data-method="`+strings.ToUpper(m)+`" data-path="`+path+`"`)
			}
		}
		wantContains(t, page, `id="api-schema-User"`, `href="/api/v1/openapi.json"`)
		if hasInlineScript(page.Body) {
			t.Errorf("GET /api/docs has an inline script: the CSP forbids it")
		}
	})
}

// The check the client applies to every API answer catches what drifts:
// an undocumented field, a wrong type, an undocumented status, a missing
// field, an unlisted address answered with something else than an error.
func TestContractCheckCatchesDrift(t *testing.T) {
	answer := func(method, path string, status int, body string) string {
		req := httptest.NewRequest(method, path, nil)
		res := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}, Request: req}
		return apptest.CheckContract(req, res, []byte(body))
	}
	meta := `"meta":{"requestId":"r","timestamp":"2026-11-30T10:00:00Z"}`
	user := `{"id":1,"username":"ada","name":"","level":1,"role":"user","type":1,"type_label":"Active","is_online":false,` +
		`"points":0,"created_at":"2026-11-30T10:00:00Z","last_login_at":null,"avatar":"","var":{},"group":""`
	if msg := answer("GET", "/api/v1/users/1", 200, `{"data":`+user+`},`+meta+`}`); msg != "" {
		t.Fatalf("a right answer is refused: %s", msg)
	}
	for name, c := range map[string]struct {
		method, path string
		status       int
		body         string
	}{
		"an undocumented field":  {"GET", "/api/v1/users/1", 200, `{"data":` + user + `,"secret":1},` + meta + `}`},
		"a wrong type":           {"GET", "/api/v1/users/1", 200, `{"data":` + strings.Replace(user, `"level":1`, `"level":"1"`, 1) + `},` + meta + `}`},
		"a missing field":        {"GET", "/api/v1/users/1", 200, `{"data":` + strings.Replace(user, `"role":"user",`, ``, 1) + `},` + meta + `}`},
		"a bad date-time":        {"GET", "/api/v1/users/1", 200, `{"data":` + strings.Replace(user, `"last_login_at":null`, `"last_login_at":"yesterday"`, 1) + `},` + meta + `}`},
		"an undocumented status": {"GET", "/api/v1/users/1", 418, `{"error":{"code":"x","message":"x","fields":null},` + meta + `}`},
		"an error without meta":  {"GET", "/api/v1/users/1", 404, `{"error":{"code":"x","message":"x","fields":null}}`},
		"an unlisted address":    {"GET", "/api/v1/nope", 200, `{}`},
	} {
		if msg := answer(c.method, c.path, c.status, c.body); msg == "" {
			t.Errorf("%s passes the check", name)
		}
	}
}
