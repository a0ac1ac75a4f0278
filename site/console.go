package site

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"
)

// The console page of the scripts: /admin/scripts (admins) lists the
// files, their routes and hooks and the recent errors; a superadmin can
// run a snippet there with their own permissions.

const tplConsole = "admin/scripts"

// EvScriptRun is the audit action of a snippet run from the console.
const EvScriptRun = "script.run"

// maxSnippet bounds a snippet's source.
const maxSnippet = 16 << 10

// ConsoleRoute is one script route as the console lists it.
type ConsoleRoute struct {
	Method, Path, File string
	Line               int
}

// ConsoleHook is one hook as the console lists it.
type ConsoleHook struct {
	Event, File string
	Line        int
}

// ShowConsole is GET /admin/scripts.
func (r *Runtime) ShowConsole(c *fiber.Ctx) error {
	return r.pages.RenderPage(c, tplConsole, "Site scripts", r.consoleData(c, nil))
}

// RunSnippet is POST /admin/scripts/run (superadmins): the field code runs
// as a fresh chunk with the superadmin's own permissions; its print
// output and returned values are shown, and the run is in the audit log.
func (r *Runtime) RunSnippet(c *fiber.Ctx) error {
	code := c.FormValue("code")
	run := map[string]any{"Code": code}
	switch {
	case strings.TrimSpace(code) == "":
		run["Error"] = "Write some Lua to run."
	case len(code) > maxSnippet || !utf8.ValidString(code):
		run["Error"] = "A snippet is at most 16 KB of UTF-8 text."
	default:
		out, err := r.runSnippet(c, code)
		run["Output"] = out
		if err != nil {
			run["Error"] = scriptErrorOf(err).Error()
			if isTyped(err) {
				run["Error"] = err.Error()
			}
		}
		detail := strings.TrimSpace(code)
		if len(detail) > 200 {
			detail = detail[:200] + "…"
		}
		if err := r.users.Record(c.UserContext(), r.pages.Actor(c), EvScriptRun, nil, detail); err != nil {
			return err
		}
	}
	return r.pages.RenderPage(c, tplConsole, "Site scripts", r.consoleData(c, run))
}

// runSnippet compiles and runs code in a state of its own (the site's
// files aren't run in it), with ten times the usual time limit.
func (r *Runtime) runSnippet(c *fiber.Ctx, code string) (string, error) {
	name := "snippet#" + strconv.FormatInt(r.snippet.Add(1), 10)
	chunk, err := parse.Parse(strings.NewReader(code), name)
	if err != nil {
		if pe, ok := err.(*parse.Error); ok {
			return "", &ScriptError{Where: name + ":" + itoa(pe.Pos.Line), Message: strings.TrimSpace(pe.Message) + " near '" + pe.Token + "'"}
		}
		return "", &ScriptError{Where: name, Message: err.Error()}
	}
	proto, err := compileChunk(chunk, name)
	if err != nil {
		return "", err
	}
	v, err := r.newVM(&program{views: r.prog.Load().views}, false)
	if err != nil {
		return "", err
	}
	defer v.L.Close()
	v.loading = false
	cl := &call{kind: kindSnippet, c: c, ctx: c.UserContext(), actor: r.pages.Actor(c)}
	fn := v.L.NewFunctionFromProto(proto)
	// Returned values are printed, as in a Lua prompt.
	wrapper := v.L.NewFunction(func(L *lua.LState) int {
		top := L.GetTop()
		L.Push(fn)
		L.Call(0, lua.MultRet)
		if n := L.GetTop() - top; n > 0 {
			parts := make([]string, n)
			for i := 0; i < n; i++ {
				parts[i] = L.ToStringMeta(L.Get(top + 1 + i)).String()
			}
			v.write(cl, strings.Join(parts, "\t")+"\n")
		}
		return 0
	})
	err = v.run(cl, 10*r.cfg.Timeout, wrapper)
	return cl.out.String(), err
}

func (r *Runtime) consoleData(c *fiber.Ctx, run map[string]any) map[string]any {
	p := r.prog.Load()
	var routes []ConsoleRoute
	for _, rt := range p.routes {
		routes = append(routes, ConsoleRoute{Method: rt.Method, Path: rt.FullPath(r.cfg.Prefix), File: rt.File, Line: rt.Line})
	}
	var hooks []ConsoleHook
	for _, h := range p.hooks {
		hooks = append(hooks, ConsoleHook{Event: h.Event, File: h.File, Line: h.Line})
	}
	me := r.pages.CurrentUser(c)
	prefix := r.cfg.Prefix
	if prefix == "" {
		prefix = "/"
	}
	loadErr := ""
	if p.err != nil {
		loadErr = p.err.Error()
	}
	return map[string]any{
		"Section":    "scripts",
		"Dir":        r.cfg.Dir,
		"Prefix":     prefix,
		"Timeout":    r.cfg.Timeout.String(),
		"Dev":        r.cfg.Development,
		"Files":      p.files,
		"Views":      p.viewSet,
		"Routes":     routes,
		"Hooks":      hooks,
		"Errors":     r.errs.list(),
		"LoadError":  loadErr,
		"CanRun":     me.IsSuperadmin(),
		"Run":        run,
		"HookEvents": hookNames(),
	}
}
