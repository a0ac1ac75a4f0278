package site

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/webmin/webmin/models"
)

// installAPI sets the globals every script gets: app (routes, hooks),
// api.users (seed 000, and seed 002's colon style), core.users (seed
// 001's callbacks) and validator.
func (v *vm) installAPI() {
	L := v.L
	v.null = L.NewUserData()
	nullMeta := L.NewTable()
	nullMeta.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int { L.Push(lua.LString("NULL")); return 1 }))
	v.null.Metatable = nullMeta

	v.errMeta = L.NewTable()
	v.errMeta.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(L.CheckTable(1).RawGetString("message"))
		return 1
	}))
	v.ctxMeta = v.ctxMethods()
	v.userIndex = L.NewFunction(userIndexFn)

	app := L.NewTable()
	v.globals = map[string]lua.LValue{"app": app}
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		app.RawSetString(strings.ToLower(m), L.NewFunction(v.declareRoute(m)))
	}
	app.RawSetString("on", L.NewFunction(v.declareHook))

	users := L.NewTable()
	v.users = users
	for name, fn := range map[string]lua.LGFunction{
		"get": v.usersGet, "list": v.usersList, "create": v.usersCreate, "update": v.usersUpdate,
		"login": v.usersLogin, "online": v.usersOnline, "me": v.usersMe, "getMe": v.usersMe,
		"delete": v.usersDelete, "stats": v.usersStats,
	} {
		users.RawSetString(name, L.NewFunction(v.service(fn)))
	}
	api := L.NewTable()
	api.RawSetString("users", users)
	v.globals["api"] = api

	core := L.NewTable()
	coreUsers := L.NewTable()
	for name, fn := range map[string]lua.LGFunction{
		"create": v.usersCreate, "login": v.usersLogin, "get": v.usersGet, "update": v.usersUpdate,
		"delete": v.usersDelete, "resendConfirmation": v.resendConfirmation,
	} {
		coreUsers.RawSetString(name, L.NewFunction(v.callback(name, v.service(fn))))
	}
	coreUsers.RawSetString("NULL", v.null)
	core.RawSetString("users", coreUsers)
	v.globals["core"] = core

	v.globals["validator"] = L.NewFunction(v.newValidator)
	for name, val := range v.globals {
		L.SetGlobal(name, val)
	}
}

// service wraps a function that calls the service: its time is not the
// script's own (see budget).
func (v *vm) service(fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		b := v.cur.budget
		b.pause()
		defer b.resume()
		return fn(L)
	}
}

// selfArg is the index of the first real argument: 2 when called with a
// colon on self (api.users:list{…}), else 1.
func (v *vm) selfArg(L *lua.LState, self lua.LValue) int {
	if L.GetTop() >= 1 && L.Get(1) == self {
		return 2
	}
	return 1
}

// raise hands a Go error to the script as an error value (a table with
// message, status and fields, which pcall catches); uncaught, the route
// fails with it: a typed service error becomes its page.
func (v *vm) raise(L *lua.LState, err error) {
	t := L.CreateTable(0, 4)
	status, msg := http.StatusInternalServerError, "something went wrong"
	var ve *models.ValidationError
	var ce *models.ConflictError
	var de *models.DeniedError
	var le *models.LockedError
	var se *ScriptError
	fields := L.CreateTable(0, 0)
	switch {
	case errors.Is(err, models.ErrNotFound):
		status, msg = http.StatusNotFound, "not found"
	case errors.As(err, &ve):
		status, msg = http.StatusUnprocessableEntity, strings.TrimPrefix(ve.Error(), "invalid input: ")
		for k, m := range ve.Fields {
			fields.RawSetString(k, lua.LString(m))
		}
	case errors.As(err, &ce):
		status, msg = http.StatusConflict, ce.Message
		if ce.Field != "" {
			fields.RawSetString(ce.Field, lua.LString(ce.Message))
		}
	case errors.As(err, &de):
		status, msg = http.StatusForbidden, "you can't do that: "+de.Reason
	case errors.As(err, &le):
		status, msg = http.StatusTooManyRequests, "too many attempts; try again later"
	case errors.As(err, &se):
		msg = se.Error()
	default:
		v.r.log.Error("site script: service call failed", "err", err)
	}
	t.RawSetString("message", lua.LString(msg))
	t.RawSetString("status", lua.LNumber(status))
	t.RawSetString("fields", fields)
	where, _ := splitWhere(L.Where(1))
	t.RawSetString("where", lua.LString(where))
	L.SetMetatable(t, v.errMeta)
	if cl := v.cur; cl != nil {
		if cl.errs == nil {
			cl.errs = map[*lua.LTable]error{}
		}
		cl.errs[t] = err
	}
	L.Error(t, 1)
}

// cl is the current call (always set while a script runs).
func (v *vm) cl() *call { return v.cur }

// signedIn is the actor of a change, which must be a signed-in account:
// the service takes an actor without one for the system (the command
// line), which a visitor's script must never be.
func (v *vm) signedIn(L *lua.LState) models.Actor {
	cl := v.cl()
	if cl.me() == nil {
		v.raise(L, &models.DeniedError{Reason: "sign in first"})
	}
	return cl.actor
}

// userID reads an account id: a number, or digits in a string.
func userID(val lua.LValue) (int64, bool) {
	switch x := val.(type) {
	case lua.LNumber:
		return int64(x), float64(x) == float64(int64(x)) && x > 0
	case lua.LString:
		id, err := strconv.ParseInt(strings.TrimSpace(string(x)), 10, 64)
		return id, err == nil && id > 0
	}
	return 0, false
}

// api.users.get(id) → the account or nil. id may also be a username.
func (v *vm) usersGet(L *lua.LState) int {
	b := v.selfArg(L, v.users)
	cl := v.cl()
	arg := L.Get(b)
	if t, ok := arg.(*lua.LTable); ok { // core.users.get{user_id=…}
		arg = t.RawGetString("user_id")
		if arg == lua.LNil {
			arg = t.RawGetString("id")
		}
	}
	var u *models.User
	var err error
	if id, ok := userID(arg); ok {
		u, err = v.r.users.Get(cl.ctx, id)
	} else if s, ok := arg.(lua.LString); ok && s != "" {
		u, err = v.r.users.GetByUsername(cl.ctx, string(s))
	} else {
		L.ArgError(b, "an account id (or username)")
	}
	if errors.Is(err, models.ErrNotFound) || (err == nil && !models.CanSeeAccount(cl.me(), u)) {
		L.Push(lua.LNil)
		return 1
	}
	if err != nil {
		v.raise(L, err)
	}
	L.Push(v.userTable(cl.me(), u))
	return 1
}

// listFilter reads list's filter table: type, level, role, search, sort,
// group, page, limit (50 by default).
func listFilter(L *lua.LState, t *lua.LTable) models.Filter {
	f := models.Filter{}
	if t == nil {
		return f
	}
	f.Search = lua.LVAsString(t.RawGetString("search"))
	f.Role = lua.LVAsString(t.RawGetString("role"))
	f.Sort = lua.LVAsString(t.RawGetString("sort"))
	f.Group = lua.LVAsString(t.RawGetString("group"))
	switch ty := t.RawGetString("type").(type) {
	case lua.LNumber:
		f.Type = map[int]string{1: "active", 2: "blocked", 3: "inactive", 4: "deleted"}[int(ty)]
		if f.Type == "" {
			f.Type = ty.String()
		}
	case lua.LString:
		f.Type = string(ty)
		if f.Type == "banned" {
			f.Type = "blocked"
		}
	}
	if lv, ok := t.RawGetString("level").(lua.LNumber); ok {
		l := int(lv)
		f.Level = &l
	}
	if p, ok := t.RawGetString("page").(lua.LNumber); ok {
		f.Page = int(p)
	}
	if n, ok := t.RawGetString("limit").(lua.LNumber); ok {
		f.Limit = int(n)
	}
	return f
}

// api.users.list(filter) → { items, total, page, limit }.
func (v *vm) usersList(L *lua.LState) int {
	b := v.selfArg(L, v.users)
	cl := v.cl()
	var ft *lua.LTable
	if t, ok := L.Get(b).(*lua.LTable); ok {
		ft = t
	}
	page, err := v.r.users.ListAs(cl.ctx, cl.me(), listFilter(L, ft))
	if err != nil {
		v.raise(L, err)
	}
	items := L.CreateTable(len(page.Items), 0)
	for i := range page.Items {
		items.Append(v.userTable(cl.me(), &page.Items[i]))
	}
	out := L.CreateTable(0, 4)
	out.RawSetString("items", items)
	out.RawSetString("total", lua.LNumber(page.Total))
	out.RawSetString("page", lua.LNumber(page.Page))
	out.RawSetString("limit", lua.LNumber(page.Limit))
	L.Push(out)
	return 1
}

// api.users.create(data) → the new account. An admin creates it as the
// console does; anyone else registers (e-mail required, the default
// level, confirmation by mail when the site asks for it).
func (v *vm) usersCreate(L *lua.LState) int {
	b := v.selfArg(L, v.users)
	cl := v.cl()
	t := L.CheckTable(b)
	text := func(k string) string { return lua.LVAsString(t.RawGetString(k)) }
	n := models.NewUser{Username: text("username"), Email: text("email"), Name: text("name"),
		Password: text("password"), Avatar: text("avatar"), Group: text("group")}
	vars := t.RawGetString("var")
	if vars == lua.LNil {
		vars = t.RawGetString("extra") // seed 001's name
	}
	if vt, ok := vars.(*lua.LTable); ok {
		n.Var = v.varMap(vt)
	}
	_, wantConfirm := t.RawGetString("confirmation").(*lua.LTable)
	var u *models.User
	var err error
	if cl.me() != nil && models.Can(cl.me(), models.ActCreate, nil) {
		n.Level = v.r.users.DefaultLevel()
		if lv, ok := t.RawGetString("level").(lua.LNumber); ok {
			n.Level = int(lv)
		}
		if ty, ok := t.RawGetString("type").(lua.LNumber); ok {
			n.Type = int(ty)
		}
		u, err = v.r.users.Create(cl.ctx, cl.actor, n)
	} else {
		mode := v.r.pages.Registration()
		if mode == "closed" {
			v.raise(L, &models.DeniedError{Reason: "registration is closed on this site"})
		}
		confirm := mode == "confirm" || wantConfirm
		u, err = v.r.users.Register(cl.ctx, cl.actor.Meta, n, confirm)
		if err == nil && confirm && cl.c != nil {
			v.r.pages.Registered(cl.c, u)
		}
	}
	if err != nil {
		v.raise(L, err)
	}
	L.Push(v.userTable(cl.me(), u))
	return 1
}

// varMap converts a var/extra table; core.users.NULL removes a key.
func (v *vm) varMap(t *lua.LTable) map[string]any {
	m := map[string]any{}
	t.ForEach(func(k, val lua.LValue) {
		key, ok := k.(lua.LString)
		if !ok {
			return
		}
		if val == v.null {
			m[string(key)] = nil
			return
		}
		switch x := val.(type) {
		case lua.LString, lua.LBool:
			m[string(key)] = fromLua(x, 0)
		case lua.LNumber:
			m[string(key)] = float64(x)
		default:
			m[string(key)] = fromLua(x, 0) // refused by the service's check
		}
	})
	return m
}

// api.users.update(id, data) → the account as changed. The service's
// rules apply: admins edit accounts below their level.
func (v *vm) usersUpdate(L *lua.LState) int {
	b := v.selfArg(L, v.users)
	cl := v.cl()
	id, ok := userID(L.Get(b))
	data := L.OptTable(b+1, nil)
	if t, isT := L.Get(b).(*lua.LTable); isT { // core.users.update{user_id=…, update={…}}
		id, ok = userID(t.RawGetString("user_id"))
		data, _ = t.RawGetString("update").(*lua.LTable)
	}
	if !ok {
		L.ArgError(b, "an account id")
	}
	if data == nil {
		L.ArgError(b+1, "a table of the fields to change")
	}
	p := models.Patch{}
	text := func(k string) *string {
		switch x := data.RawGetString(k).(type) {
		case lua.LString:
			s := string(x)
			return &s
		case lua.LNumber:
			s := x.String()
			return &s
		case *lua.LUserData:
			if x == v.null {
				s := ""
				return &s
			}
		}
		return nil
	}
	num := func(k string) *int {
		if x, ok := data.RawGetString(k).(lua.LNumber); ok {
			n := int(x)
			return &n
		}
		return nil
	}
	p.Username, p.Email, p.Name, p.Password = text("username"), text("email"), text("name"), text("password")
	p.Avatar, p.Group = text("avatar"), text("group")
	p.Level, p.Type = num("level"), num("type")
	for _, k := range []string{"points", "point"} {
		if x, ok := data.RawGetString(k).(lua.LNumber); ok {
			n := int64(x)
			p.Points = &n
		}
	}
	for _, k := range []string{"var", "extra"} {
		if vt, ok := data.RawGetString(k).(*lua.LTable); ok {
			p.Var = v.varMap(vt)
		}
	}
	u, err := v.r.users.Update(cl.ctx, v.signedIn(L), id, p)
	if err != nil {
		v.raise(L, err)
	}
	L.Push(v.userTable(cl.me(), u))
	return 1
}

// api.users.login(login, password) → the account or nil (and a reason).
// In a route it signs the visitor in through the sign-in page's own path
// (same checks and throttling); a lock raises an error (a 429 page).
func (v *vm) usersLogin(L *lua.LState) int {
	b := v.selfArg(L, v.users)
	cl := v.cl()
	var login, password string
	if t, ok := L.Get(b).(*lua.LTable); ok { // core.users.login{username|email=…, password=…}
		login = lua.LVAsString(t.RawGetString("username"))
		if login == "" {
			login = lua.LVAsString(t.RawGetString("email"))
		}
		password = lua.LVAsString(t.RawGetString("password"))
	} else {
		login, password = lua.LVAsString(L.Get(b)), lua.LVAsString(L.Get(b+1))
	}
	var u *models.User
	var err error
	if cl.kind == kindRoute {
		u, err = v.r.pages.SignInWithPassword(cl.c, login, password, false)
		if err == nil {
			cl.actor.User = u // the rest of the call acts as the new member
			cl.actor.Meta = v.r.pages.Actor(cl.c).Meta
		}
	} else {
		u, err = v.r.users.Login(cl.ctx, cl.actor.Meta, login, password)
	}
	var banned *models.BannedError
	var unconfirmed *models.NotConfirmedError
	var second *models.SecondFactorError
	switch {
	case err == nil:
		L.Push(v.userTable(u, u))
		return 1
	case errors.As(err, &second):
		if cl.kind == kindRoute {
			cl.actor.User = nil // not signed in until the code is given
		}
		L.Push(lua.LNil)
		L.Push(lua.LString("A second factor is needed: continue at /login/2fa."))
	case errors.Is(err, models.ErrInvalidCredentials):
		L.Push(lua.LNil)
		L.Push(lua.LString("Invalid username, e-mail or password."))
	case errors.As(err, &banned):
		L.Push(lua.LNil)
		L.Push(lua.LString("This account is banned."))
	case errors.As(err, &unconfirmed):
		L.Push(lua.LNil)
		L.Push(lua.LString("This account's e-mail address is not confirmed yet."))
	default:
		v.raise(L, err)
	}
	return 2
}

// api.users.online(filter) → { items, total }: the visitors seen within
// the online window, members with their account (as the viewer may see
// it), guests as { guest = true }. Admins also get each visitor's page.
func (v *vm) usersOnline(L *lua.LState) int {
	b := v.selfArg(L, v.users)
	cl := v.cl()
	f := models.OnlineFilter{}
	if t, ok := L.Get(b).(*lua.LTable); ok {
		if id, ok := userID(t.RawGetString("id")); ok {
			f.UserID = id
		}
		f.PageID = lua.LVAsString(t.RawGetString("pageid"))
		f.Kind = lua.LVAsString(t.RawGetString("kind"))
		if p, ok := t.RawGetString("page").(lua.LNumber); ok {
			f.Page = int(p)
		}
		if n, ok := t.RawGetString("limit").(lua.LNumber); ok {
			f.Limit = int(n)
		}
	}
	page, err := v.r.users.Online(cl.ctx, f)
	if err != nil {
		v.raise(L, err)
	}
	admin := cl.me().IsAdmin()
	items := L.CreateTable(len(page.Items), 0)
	for _, p := range page.Items {
		it := L.CreateTable(0, 4)
		it.RawSetString("last_seen_at", toLua(L, p.LastSeenAt))
		if p.User != nil {
			it.RawSetString("user", v.userTable(cl.me(), p.User))
			it.RawSetString("guest", lua.LFalse)
		} else {
			it.RawSetString("guest", lua.LTrue)
		}
		if admin {
			it.RawSetString("page", lua.LString(p.Page))
		}
		items.Append(it)
	}
	out := L.CreateTable(0, 2)
	out.RawSetString("items", items)
	out.RawSetString("total", lua.LNumber(page.Total))
	L.Push(out)
	return 1
}

// api.users.me() → the signed-in visitor, or nil.
func (v *vm) usersMe(L *lua.LState) int {
	me := v.cl().me()
	if me == nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(v.userTable(me, me))
	return 1
}

// api.users.delete(id): a soft delete (type 4), under the service's rules.
func (v *vm) usersDelete(L *lua.LState) int {
	b := v.selfArg(L, v.users)
	cl := v.cl()
	arg := L.Get(b)
	if t, ok := arg.(*lua.LTable); ok {
		arg = t.RawGetString("user_id")
	}
	id, ok := userID(arg)
	if !ok {
		L.ArgError(b, "an account id")
	}
	if _, err := v.r.users.Delete(cl.ctx, v.signedIn(L), id); err != nil {
		v.raise(L, err)
	}
	return 0
}

// api.users.stats() → the number of accounts (deleted ones left out), as
// the home page counts them.
func (v *vm) usersStats(L *lua.LState) int {
	counts, err := v.r.users.Counts(v.cl().ctx)
	if err != nil {
		v.raise(L, err)
	}
	L.Push(lua.LNumber(counts.Total))
	return 1
}

// callback wraps an api.users function in seed 001's style:
// core.users.NAME(params, listener) calls listener({ error = message })
// or listener({ result = … }).
func (v *vm) callback(name string, fn lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		params := L.CheckTable(1)
		listener := L.OptFunction(2, nil)
		var result lua.LValue
		var errMsg lua.LValue = lua.LNil
		call := L.NewFunction(fn)
		err := L.CallByParam(lua.P{Fn: call, NRet: 2, Protect: true}, params)
		if err != nil {
			var ae *lua.ApiError
			if errors.As(err, &ae) {
				if t, ok := ae.Object.(*lua.LTable); ok && t.Metatable == v.errMeta {
					errMsg = t.RawGetString("message")
				} else {
					errMsg = ae.Object
				}
			} else {
				errMsg = lua.LString(err.Error())
			}
			if ctxErr := v.cl().budget.Err(); ctxErr != nil {
				L.RaiseError("%s", ctxErr.Error()) // out of time: stop, don't call back
			}
		} else {
			second := L.Get(-1)
			result = L.Get(-2)
			L.Pop(2)
			switch name {
			case "delete":
				result = lua.LNumber(1)
			case "login", "get":
				if result == lua.LNil {
					if second != lua.LNil {
						errMsg = second
					} else {
						errMsg = lua.LString("not found")
					}
				}
			}
			if errMsg == lua.LNil {
				return v.callBack(L, listener, lua.LNil, result)
			}
		}
		return v.callBack(L, listener, errMsg, result)
	}
}

func (v *vm) callBack(L *lua.LState, listener *lua.LFunction, errMsg, result lua.LValue) int {
	if listener == nil {
		return 0
	}
	evt := L.CreateTable(0, 2)
	if errMsg != lua.LNil {
		evt.RawSetString("error", errMsg)
	} else {
		if result == nil {
			result = lua.LNil
		}
		evt.RawSetString("result", result)
	}
	L.Push(listener)
	L.Push(evt)
	L.Call(1, 0)
	return 0
}

// resendConfirmation{user_id} → the id, as a string (seed 001).
func (v *vm) resendConfirmation(L *lua.LState) int {
	cl := v.cl()
	t := L.CheckTable(1)
	id, ok := userID(t.RawGetString("user_id"))
	if !ok {
		L.ArgError(1, "user_id")
	}
	if err := v.r.pages.ResendConfirmationFor(cl.ctx, v.signedIn(L), id); err != nil {
		v.raise(L, err)
	}
	L.Push(lua.LString(strconv.FormatInt(id, 10)))
	L.Push(lua.LNil)
	return 2
}
