package site

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	lua "github.com/yuin/gopher-lua"

	"github.com/webmin/webmin/models"
)

// Bounds of one Lua state: its call depth and value stack (which is what a
// runaway recursion grows), and the longest string its builders make.
const (
	callStackSize = 200
	registrySize  = 1024
	registryMax   = 256 * 1024
	maxString     = 4 << 20
	maxOutput     = 64 << 10 // print output kept per call
)

// vm is one Lua state with every script loaded: its route and hook
// functions, in the order the program lists them.
type vm struct {
	r      *Runtime
	L      *lua.LState
	prog   *program
	routes []*lua.LFunction
	hooks  []*lua.LFunction

	// set while the scripts run at load time: what they declare
	loading  bool
	defRoute []*route
	defHook  []*hookDef

	// the globals a call may not lose (reset before each call)
	globals map[string]lua.LValue
	users   *lua.LTable // api.users, to tell api.users:list{} from api.users.list{}
	null    *lua.LUserData
	errMeta *lua.LTable
	ctxMeta *lua.LTable
	// userIndex is the __index of user tables (see userTable).
	userIndex *lua.LFunction

	// the tables of a route call, filled again for each (see newCtx)
	ctxT, paramsT, reqT, envT *lua.LTable
	paramKeys                 []string

	cur    *call
	broken bool // a call ended abnormally: don't reuse the state
}

// callKind says what a script runs for, which decides what it may do.
type callKind int

const (
	kindRoute   callKind = iota // an HTTP request: it may answer, flash, sign in
	kindHook                    // an event: no request to answer
	kindSnippet                 // the console: output only
)

// call is what one run of a script function acts on and as.
type call struct {
	kind callKind
	c    *fiber.Ctx      // nil for hooks
	ctx  context.Context // for the service calls: the request's
	// budget is the script's own time; service calls pause it.
	budget *budget
	actor  models.Actor
	out    strings.Builder
	// responded is set once the function answered the request.
	responded bool
	// errs keeps the Go error behind each error value raised to the script.
	errs map[*lua.LTable]error
}

func (cl *call) me() *models.User { return cl.actor.User }

// newVM makes a sandboxed state and runs every script of p in it. With
// learn, the routes and hooks declared become p's; otherwise the state
// must declare the same ones.
func (r *Runtime) newVM(p *program, learn bool) (*vm, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: callStackSize,
		RegistrySize: registrySize, RegistryMaxSize: registryMax})
	v := &vm{r: r, L: L, prog: p, loading: true}
	v.openSandbox()
	v.installAPI()
	for _, f := range p.files {
		fn := L.NewFunctionFromProto(f.proto)
		cl := &call{kind: kindSnippet, ctx: context.Background()}
		if err := v.run(cl, r.cfg.Timeout*10, fn); err != nil {
			L.Close()
			return nil, err
		}
		if learn {
			for _, rt := range v.defRoute[len(p.routes):] {
				rt.File = f.Name
			}
			f.Routes = len(v.defRoute) - len(p.routes)
			f.Hooks = len(v.defHook) - len(p.hooks)
			p.routes, p.hooks = v.defRoute, v.defHook
		}
	}
	v.loading = false
	if !learn && (len(v.routes) != len(p.routes) || len(v.hooks) != len(p.hooks)) {
		L.Close()
		return nil, errors.New("site scripts: a script declared different routes or hooks in a second state; declare them at the top level, unconditionally")
	}
	return v, nil
}

// openSandbox opens the safe part of the standard library: no io, os,
// debug, package/require, dofile, loadfile or load; string.rep bounded.
func (v *vm) openSandbox() {
	L := v.L
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath}, {lua.CoroutineLibName, lua.OpenCoroutine}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	for _, name := range []string{"dofile", "loadfile", "load", "loadstring", "require", "module",
		"collectgarbage", "_printregs", "getfenv", "setfenv", "newproxy", "_GOPHER_LUA_VERSION"} {
		L.SetGlobal(name, lua.LNil)
	}
	L.SetGlobal("print", L.NewFunction(v.print))
	// pairs and next see the fields of a user table, which are read from
	// its account on access until then (see userTable).
	for _, name := range []string{"pairs", "next"} {
		orig := L.GetGlobal(name).(*lua.LFunction)
		L.SetGlobal(name, L.NewFunction(func(L *lua.LState) int {
			if t, ok := L.Get(1).(*lua.LTable); ok {
				materialize(L, t)
			}
			n := L.GetTop()
			L.Push(orig)
			for i := 1; i <= n; i++ {
				L.Push(L.Get(i))
			}
			L.Call(n, lua.MultRet)
			return L.GetTop() - n
		}))
	}
	str := L.GetGlobal("string").(*lua.LTable)
	str.RawSetString("rep", L.NewFunction(strRep))
	tbl := L.GetGlobal("table").(*lua.LTable)
	concat := tbl.RawGetString("concat").(*lua.LFunction)
	tbl.RawSetString("concat", L.NewFunction(func(L *lua.LState) int {
		t := L.CheckTable(1)
		sep := L.OptString(2, "")
		size := 0
		t.ForEach(func(_, val lua.LValue) {
			if s, ok := val.(lua.LString); ok {
				size += len(s) + len(sep)
			}
		})
		if size > maxString {
			L.RaiseError("table.concat: the result would be longer than %d bytes", maxString)
		}
		n := L.GetTop()
		L.Push(concat)
		for i := 1; i <= n; i++ {
			L.Push(L.Get(i))
		}
		L.Call(n, 1)
		return 1
	}))
}

func strRep(L *lua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	sep := L.OptString(3, "")
	if n <= 0 {
		L.Push(lua.LString(""))
		return 1
	}
	if (len(s)+len(sep))*n > maxString || n > maxString {
		L.RaiseError("string.rep: the result would be longer than %d bytes", maxString)
	}
	if sep == "" {
		L.Push(lua.LString(strings.Repeat(s, n)))
		return 1
	}
	L.Push(lua.LString(strings.Repeat(s+sep, n-1) + s))
	return 1
}

// print writes to the call's output: the console shows a snippet's, and
// a route's or hook's goes to the log (debug level).
func (v *vm) print(L *lua.LState) int {
	cl := v.cur
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			v.write(cl, "\t")
		}
		v.write(cl, L.ToStringMeta(L.Get(i)).String())
	}
	v.write(cl, "\n")
	return 0
}

func (v *vm) write(cl *call, s string) {
	if cl == nil || cl.out.Len() >= maxOutput {
		return
	}
	if room := maxOutput - cl.out.Len(); len(s) > room {
		s = s[:room]
	}
	cl.out.WriteString(s)
}

// run calls fn with args for cl within the time limit. An error that
// escapes the script comes back as a *ScriptError (with the file and
// line) or, for an error of the service the script didn't catch, as that
// typed error (a 404, 409, 422 … page).
func (v *vm) run(cl *call, limit time.Duration, fn *lua.LFunction, args ...lua.LValue) (err error) {
	L := v.L
	b := newBudget(cl.ctx, limit)
	defer b.release()
	cl.budget = b
	cl.errs = nil
	v.cur = cl
	for name, val := range v.globals {
		v.setGlobal(name, val)
	}
	if cl.kind != kindRoute { // a route's req and env are set by newCtx
		req := L.CreateTable(0, 0)
		req.RawSetString("post", L.CreateTable(0, 0))
		req.RawSetString("get", L.CreateTable(0, 0))
		L.SetGlobal("req", req)
		L.SetGlobal("env", v.envTable(cl))
	}
	L.SetContext(b)
	defer func() {
		L.RemoveContext()
		v.cur = nil
		if x := recover(); x != nil {
			v.broken = true
			err = &ScriptError{Message: fmt.Sprint(x)}
		}
	}()
	top := L.GetTop()
	L.Push(fn)
	for _, a := range args {
		L.Push(a)
	}
	perr := L.PCall(len(args), 0, nil)
	L.SetTop(top)
	if perr == nil {
		return nil
	}
	var ae *lua.ApiError
	if !errors.As(perr, &ae) {
		v.broken = true
		return &ScriptError{Message: perr.Error()}
	}
	if ae.Type == lua.ApiErrorPanic || b.Err() != nil {
		v.broken = true // stopped mid-way: start the next call on a fresh state
	}
	if t, ok := ae.Object.(*lua.LTable); ok {
		if goErr := cl.errs[t]; goErr != nil {
			var se *ScriptError
			if errors.As(goErr, &se) {
				return se
			}
			if isTyped(goErr) {
				return goErr
			}
			return &ScriptError{Where: lua.LVAsString(t.RawGetString("where")), Message: goErr.Error(), Err: goErr}
		}
	}
	where, text := splitWhere(ae.Object.String())
	if b.outOfMemory() {
		return &ScriptError{Where: where, Message: fmt.Sprintf("stopped: allocated more than %d MB", maxAlloc>>20)}
	}
	if b.timedOut() {
		return &ScriptError{Where: where, Message: fmt.Sprintf("stopped: ran longer than its limit of %s", limit), Timeout: true}
	}
	return &ScriptError{Where: where, Message: text, Trace: ae.StackTrace}
}

// get takes a state of the current program from the pool, or makes one.
func (r *Runtime) get() (*vm, *program, error) {
	p := r.program()
	if p.err != nil {
		return nil, p, p.err
	}
	for {
		select {
		case v := <-r.pool:
			if v.prog == p {
				return v, p, nil
			}
			v.L.Close()
		default:
			v, err := r.newVM(p, false)
			return v, p, err
		}
	}
}

// put returns a state to the pool, unless it broke or is outdated.
func (r *Runtime) put(v *vm) {
	if v.broken || v.prog != r.prog.Load() {
		v.L.Close()
		return
	}
	select {
	case r.pool <- v:
	default:
		v.L.Close()
	}
}
