package site

import (
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	lua "github.com/yuin/gopher-lua"
)

// route is one app:get/post/put/delete of a script.
type route struct {
	Method  string
	Pattern string // as the script wrote it
	File    string
	Line    int
	segs    []segment
}

// segment is one /-separated piece of a pattern: a literal, a :parameter
// (optional with a trailing ?), or a * / + wildcard for the rest.
type segment struct {
	lit      string
	param    string
	optional bool
	rest     bool // * or +: the rest of the path
	nonEmpty bool // +
}

// FullPath is the route's path with the site prefix.
func (rt *route) FullPath(prefix string) string {
	if rt.Pattern == "/" && prefix != "" {
		return prefix
	}
	return prefix + rt.Pattern
}

// errInSegment refuses what Fiber's router reads inside a segment
// (/:from-:to, /:file.json, :id<int>, escapes, numbered wildcards): this
// matcher takes whole segments only, and must not read such a pattern
// another way than Fiber would.
var errInSegment = errors.New("a parameter takes a whole segment: write :name (letters, digits and _) or :name? for an optional last one; " +
	"Fiber's parameters inside a segment (such as /:from-:to, /:file.json or :id<int>) are not supported")

// paramName reports whether name is a whole-segment parameter's name.
func paramName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// parsePattern reads a Fiber-style path pattern of whole segments, and
// refuses (errInSegment) what Fiber would read differently.
func parsePattern(p string) ([]segment, error) {
	if !strings.HasPrefix(p, "/") {
		return nil, errors.New("a route path starts with /")
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		return nil, nil
	}
	segs := make([]segment, 0, len(parts))
	for i, part := range parts {
		last := i == len(parts)-1
		switch {
		case part == "*" || part == "+":
			if !last {
				return nil, errors.New(part + " may only end a route path")
			}
			segs = append(segs, segment{param: part, rest: true, nonEmpty: part == "+"})
		case strings.HasPrefix(part, ":"):
			name := strings.TrimPrefix(part, ":")
			opt := strings.HasSuffix(name, "?")
			name = strings.TrimSuffix(name, "?")
			if !paramName(name) {
				return nil, errInSegment
			}
			if opt && !last {
				return nil, errors.New("only the last parameter may be optional")
			}
			segs = append(segs, segment{param: name, optional: opt})
		case strings.ContainsAny(part, ":*+"):
			return nil, errInSegment
		case part == "" || strings.ContainsAny(part, "?<>\\"):
			return nil, errors.New("unexpected " + part + " in the route path")
		default:
			segs = append(segs, segment{lit: part})
		}
	}
	return segs, nil
}

// match tells whether path (without the prefix) fits the route, and its
// parameters. Like Fiber's defaults, letters match in any case and a
// trailing slash is ignored.
func (rt *route) match(path string) (map[string]string, bool) {
	path = strings.Trim(path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	var params map[string]string
	set := func(k, v string) {
		if params == nil {
			params = map[string]string{}
		}
		if u, err := url.PathUnescape(v); err == nil {
			v = u
		}
		params[k] = v
	}
	for i, s := range rt.segs {
		switch {
		case s.rest:
			rest := strings.Join(parts[min(i, len(parts)):], "/")
			if s.nonEmpty && rest == "" {
				return nil, false
			}
			set(s.param, rest)
			return params, true
		case i >= len(parts):
			if s.optional {
				set(s.param, "")
				return params, true
			}
			return nil, false
		case s.param != "":
			set(s.param, parts[i])
		case !strings.EqualFold(s.lit, parts[i]):
			return nil, false
		}
	}
	return params, len(parts) == len(rt.segs)
}

// Reserved reports whether path is (under) a path scripts can't shadow.
func Reserved(path string) bool {
	for _, p := range ReservedPaths {
		if len(path) >= len(p) && strings.EqualFold(path[:len(p)], p) && (len(path) == len(p) || path[len(p)] == '/') {
			return true
		}
	}
	return false
}

// declareRoute is app:get/post/put/delete(path, fn) at load time.
func (v *vm) declareRoute(method string) lua.LGFunction {
	return func(L *lua.LState) int {
		base := v.selfArg(L, v.globals["app"])
		path := L.CheckString(base)
		fn := L.CheckFunction(base + 1)
		if !v.loading {
			L.RaiseError("app:%s: routes are declared at the top level of a file in the site folder", strings.ToLower(method))
		}
		segs, err := parsePattern(path)
		if err != nil {
			L.RaiseError("app:%s(%q): %s", strings.ToLower(method), path, err.Error())
		}
		if v.r.cfg.Prefix == "" && Reserved(path) {
			L.RaiseError("app:%s(%q): scripts can't take over %s (reserved: %s)", strings.ToLower(method), path, path,
				strings.Join(ReservedPaths, ", "))
		}
		where, _ := splitWhere(L.Where(1))
		_, line := fileLine(where)
		v.defRoute = append(v.defRoute, &route{Method: method, Pattern: path, Line: line, segs: segs})
		v.routes = append(v.routes, fn)
		return 0
	}
}

// fileLine splits "file:line".
func fileLine(where string) (string, int) {
	i := strings.LastIndexByte(where, ':')
	if i < 0 {
		return where, 0
	}
	n := 0
	for _, c := range where[i+1:] {
		if c < '0' || c > '9' {
			return where, 0
		}
		n = n*10 + int(c-'0')
	}
	return where[:i], n
}

// Handler answers the requests a script route matches and passes the
// others on. app mounts it after the page middleware (session, CSRF,
// presence), under the prefix, or before the built-in pages when the
// prefix is empty.
func (r *Runtime) Handler(c *fiber.Ctx) error {
	path := c.Path()
	if r.cfg.Prefix != "" {
		if !strings.HasPrefix(strings.ToLower(path), strings.ToLower(r.cfg.Prefix)) {
			return c.Next()
		}
		path = path[len(r.cfg.Prefix):]
		if path != "" && path[0] != '/' {
			return c.Next() // /sitemap is not under /site
		}
	} else if Reserved(path) {
		return c.Next()
	}
	p := r.program()
	if p.err != nil {
		return p.err // development: the broken file, in every script page
	}
	method := c.Method()
	if method == fiber.MethodHead {
		method = fiber.MethodGet
	}
	for i, rt := range p.routes {
		if rt.Method != method {
			continue
		}
		if params, ok := rt.match(path); ok {
			return r.serve(c, p, i, params)
		}
	}
	return c.Next()
}
