package site

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	lua "github.com/yuin/gopher-lua"
)

// serve runs route i of p for the request.
func (r *Runtime) serve(c *fiber.Ctx, p *program, i int, params map[string]string) error {
	v, p2, err := r.get()
	if err != nil {
		return r.failed(c, err)
	}
	if p2 != p { // reloaded meanwhile (development): ask again
		r.put(v)
		return r.Handler(c)
	}
	cl := &call{kind: kindRoute, c: c, ctx: c.UserContext(), actor: r.pages.Actor(c)}
	err = v.run(cl, r.cfg.Timeout, v.routes[i], v.newCtx(cl, params))
	r.put(v)
	if cl.out.Len() > 0 {
		r.log.DebugContext(c.UserContext(), "site script output", "route", p.routes[i].Method+" "+p.routes[i].Pattern,
			"output", cl.out.String())
	}
	if err != nil {
		return r.failed(c, err)
	}
	if !cl.responded {
		rt := p.routes[i]
		return r.failed(c, &ScriptError{Where: rt.File + ":" + itoa(rt.Line),
			Message: "the route sent no answer: end it with ctx:render, ctx:redirect, ctx:json, ctx:text or ctx:error"})
	}
	return nil
}

// failed logs a script error with its file and line and hands it to the
// one error path (the 500 page with the request id; the detail in
// development). The service's typed errors keep their own pages.
func (r *Runtime) failed(c *fiber.Ctx, err error) error {
	var se *ScriptError
	if errors.As(err, &se) {
		rid, _ := c.Locals("requestid").(string)
		r.errs.add(se, rid, c.Path())
		r.log.ErrorContext(c.UserContext(), "site script failed", "where", se.Where, "err", se.Message,
			"path", c.Path(), "request_id", rid)
	}
	return err
}

// newCtx fills the ctx table a route gets (params, query, method, path,
// and the methods of ctxMeta) and the req and env globals. The tables are
// the state's own, filled again for each call: a table with named fields
// costs several allocations to make, and a call runs to its end before
// the state serves another (so ctx, req and env are valid during the call).
func (v *vm) newCtx(cl *call, params map[string]string) *lua.LTable {
	L, c := v.L, cl.c
	if v.ctxT == nil {
		v.ctxT, v.paramsT, v.reqT = L.CreateTable(0, 4), L.CreateTable(0, 2), L.CreateTable(0, 5)
		v.envT = L.CreateTable(0, 5)
		L.SetMetatable(v.ctxT, v.ctxMeta)
	}
	t, p := v.ctxT, v.paramsT
	for _, k := range v.paramKeys {
		p.RawSetString(k, lua.LNil)
	}
	v.paramKeys = v.paramKeys[:0]
	for k, val := range params {
		p.RawSetString(k, lua.LString(val))
		v.paramKeys = append(v.paramKeys, k)
	}
	t.RawSetString("params", p)
	q := L.CreateTable(0, c.Context().QueryArgs().Len())
	c.Context().QueryArgs().VisitAll(func(k, val []byte) {
		q.RawSetString(string(k), lua.LString(val))
	})
	t.RawSetString("query", q)
	method, path := lua.LValue(lua.LString(c.Method())), lua.LValue(lua.LString(c.Path()))
	t.RawSetString("method", method)
	t.RawSetString("path", path)
	if t.Metatable != v.ctxMeta {
		L.SetMetatable(t, v.ctxMeta)
	}

	// req and env are globals in the seed: set for this call.
	form := L.CreateTable(0, 0)
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		if mf, err := c.MultipartForm(); err == nil && mf != nil {
			for k, vals := range mf.Value {
				if k != "_csrf" && len(vals) > 0 {
					form.RawSetString(k, lua.LString(vals[0]))
				}
			}
		} else {
			c.Context().PostArgs().VisitAll(func(k, val []byte) {
				if string(k) != "_csrf" && form.RawGetString(string(k)) == lua.LNil {
					form.RawSetString(string(k), lua.LString(val))
				}
			})
		}
	}
	req := v.reqT
	req.RawSetString("post", form)
	req.RawSetString("get", q)
	req.RawSetString("method", method)
	req.RawSetString("path", path)
	req.RawSetString("ip", lua.LString(c.IP()))
	v.setGlobal("req", req)
	v.fillEnv(v.envT, cl)
	v.setGlobal("env", v.envT)
	return t
}

// setGlobal sets a global unless it already holds val (a read is cheaper).
func (v *vm) setGlobal(name string, val lua.LValue) {
	if v.L.GetGlobal(name) != val {
		v.L.SetGlobal(name, val)
	}
}

// envTable describes who the script runs for.
func (v *vm) envTable(cl *call) *lua.LTable {
	env := v.L.CreateTable(0, 5)
	v.fillEnv(env, cl)
	return env
}

func (v *vm) fillEnv(env *lua.LTable, cl *call) {
	me := cl.me()
	env.RawSetString("is_user", lua.LBool(me != nil))
	env.RawSetString("is_guest", lua.LBool(me == nil))
	env.RawSetString("is_staff", lua.LBool(me.IsStaff()))
	env.RawSetString("is_admin", lua.LBool(me.IsAdmin()))
	if me != nil {
		env.RawSetString("user_id", lua.LNumber(me.ID))
	} else {
		env.RawSetString("user_id", lua.LNil)
	}
}

// ctxMethods are ctx:flash, ctx:redirect, ctx:render, ctx:error, ctx:json and ctx:text.
func (v *vm) ctxMethods() *lua.LTable {
	L := v.L
	m := L.CreateTable(0, 0)
	m.RawSetString("flash", L.NewFunction(v.ctxFlash))
	m.RawSetString("redirect", L.NewFunction(v.ctxRedirect))
	m.RawSetString("render", L.NewFunction(v.service(v.ctxRender)))
	m.RawSetString("error", L.NewFunction(v.service(v.ctxError)))
	m.RawSetString("json", L.NewFunction(v.ctxJSON))
	m.RawSetString("text", L.NewFunction(v.ctxText))
	meta := L.CreateTable(0, 0)
	meta.RawSetString("__index", m)
	return meta
}

// request is the call's request, or an error for a hook or snippet.
func (v *vm) request(L *lua.LState, what string) (*call, *fiber.Ctx) {
	cl := v.cur
	if cl == nil || cl.kind != kindRoute {
		L.RaiseError("%s answers a request: it works in a route only", what)
	}
	return cl, cl.c
}

// answer marks the request answered; a second answer is a mistake.
func (v *vm) answer(L *lua.LState, cl *call, what string) {
	if cl.responded {
		L.RaiseError("%s: this request was already answered", what)
	}
	cl.responded = true
}

// ctxArgs skips ctx when called as ctx:method(…) rather than ctx.method(…).
func ctxArgs(L *lua.LState) int {
	if t, ok := L.Get(1).(*lua.LTable); ok && t.RawGetString("params") != lua.LNil {
		return 2
	}
	return 1
}

func (v *vm) ctxFlash(L *lua.LState) int {
	_, c := v.request(L, "ctx:flash")
	b := ctxArgs(L)
	kind, msg := L.CheckString(b), L.ToStringMeta(L.Get(b+1)).String()
	switch kind {
	case "success", "error", "info":
	case "warning", "danger":
		kind = "error"
	default:
		L.ArgError(b, "a flash is success, error or info")
	}
	v.r.pages.Flash(c, kind, msg)
	return 0
}

func (v *vm) ctxRedirect(L *lua.LState) int {
	cl, c := v.request(L, "ctx:redirect")
	b := ctxArgs(L)
	to := L.CheckString(b)
	if !localPath(to) {
		L.ArgError(b, "redirect to a path on this site (/…)")
	}
	v.answer(L, cl, "ctx:redirect")
	status := http.StatusFound
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		status = http.StatusSeeOther // Post/Redirect/Get
	}
	if err := c.Redirect(to, status); err != nil {
		v.raise(L, err)
	}
	return 0
}

// localPath accepts "/x" but not "//host", "/\host" or a URL.
func localPath(p string) bool {
	if p == "" || p[0] != '/' || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n\t") {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == ""
}

func (v *vm) ctxRender(L *lua.LState) int {
	cl, c := v.request(L, "ctx:render")
	b := ctxArgs(L)
	name := L.CheckString(b)
	lt, _ := L.Get(b + 1).(*lua.LTable)
	status := L.OptInt(b+2, http.StatusOK)
	t := v.prog.views.Lookup(name)
	if t == nil {
		L.RaiseError("ctx:render: there is no view %s/views/%s.html", v.r.cfg.Dir, name)
	}
	title := ""
	if lt != nil {
		if s, ok := lt.RawGetString("title").(lua.LString); ok {
			title = string(s)
		}
	}
	v.answer(L, cl, "ctx:render")
	p := v.prog
	err := v.r.pages.RenderSiteView(c, status, title, func(page map[string]any) (template.HTML, error) {
		// A kept drawing is found from the script's table itself, before
		// it is converted for the template.
		key := ""
		if !v.r.cfg.Development {
			key = drawingKey(name, p.deps[name], lt, page)
		}
		now := time.Now()
		if key != "" {
			if html, ok := p.kept.get(key, now); ok {
				return html, nil
			}
		}
		if lt != nil {
			if m, ok := fromLua(lt, 0).(map[string]any); ok {
				for k, val := range m {
					page[k] = val
				}
			}
		}
		var b strings.Builder
		if err := t.Execute(&b, page); err != nil {
			return "", viewError(v.r.cfg.Dir, err)
		}
		html := template.HTML(b.String()) //nolint:gosec // drawn by html/template
		if key != "" {
			p.kept.put(key, html, now)
		}
		return html, nil
	})
	if err != nil {
		v.raise(L, err)
	}
	return 0
}

func (v *vm) ctxError(L *lua.LState) int {
	cl, c := v.request(L, "ctx:error")
	b := ctxArgs(L)
	msg := L.ToStringMeta(L.Get(b)).String()
	status := L.OptInt(b+1, http.StatusBadRequest)
	if status < 400 || status > 599 {
		L.ArgError(b+1, "an error status is 400 to 599")
	}
	v.answer(L, cl, "ctx:error")
	if err := v.r.pages.ErrorPage(c, status, msg); err != nil {
		v.raise(L, err)
	}
	return 0
}

func (v *vm) ctxJSON(L *lua.LState) int {
	cl, c := v.request(L, "ctx:json")
	b := ctxArgs(L)
	val := fromLua(L.Get(b), 0)
	status := L.OptInt(b+1, http.StatusOK)
	v.answer(L, cl, "ctx:json")
	c.Set(fiber.HeaderCacheControl, "no-store")
	if err := c.Status(status).JSON(val); err != nil {
		v.raise(L, err)
	}
	return 0
}

func (v *vm) ctxText(L *lua.LState) int {
	cl, c := v.request(L, "ctx:text")
	b := ctxArgs(L)
	s := L.ToStringMeta(L.Get(b)).String()
	status := L.OptInt(b+1, http.StatusOK)
	v.answer(L, cl, "ctx:text")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	if err := c.Status(status).SendString(s); err != nil {
		v.raise(L, err)
	}
	return 0
}
