package site

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/webmin/webmin/models"
)

// HookEvents maps the names scripts hook (app:on("user.created", fn)) to
// the service's audit actions behind them. A script may also hook an
// action by its own name ("user.ban").
var HookEvents = map[string][]string{
	"user.created":          {models.EvSignup, models.EvCreate},
	"user.registered":       {models.EvSignup},
	"user.login":            {models.EvLogin},
	"user.login_failed":     {models.EvLoginFailed, models.EvLoginLocked},
	"user.logout":           {models.EvLogout},
	"user.updated":          {models.EvUpdate, models.EvProfile, models.EvEmailChange},
	"user.banned":           {models.EvBan},
	"user.unbanned":         {models.EvUnban},
	"user.deleted":          {models.EvDelete},
	"user.restored":         {models.EvRestore},
	"user.purged":           {models.EvPurge},
	"user.password":         {models.EvPassword, models.EvPasswordChange},
	"user.confirmed":        {models.EvConfirm},
	"user.sessions_revoked": {models.EvSessionsRevoke},
}

// hookDef is one app:on of a script.
type hookDef struct {
	Event   string
	actions []string
	File    string
	Line    int
}

// declareHook is app:on(event, fn) at load time.
func (v *vm) declareHook(L *lua.LState) int {
	base := v.selfArg(L, v.globals["app"])
	name := L.CheckString(base)
	fn := L.CheckFunction(base + 1)
	if !v.loading {
		L.RaiseError("app:on: hooks are declared at the top level of a file in the site folder")
	}
	actions, ok := HookEvents[name]
	if !ok {
		if !knownAction(name) {
			L.RaiseError("app:on(%q): no such event; use one of %s", name, strings.Join(hookNames(), ", "))
		}
		actions = []string{name}
	}
	where, _ := splitWhere(L.Where(1))
	file, line := fileLine(where)
	v.defHook = append(v.defHook, &hookDef{Event: name, actions: actions, File: file, Line: line})
	v.hooks = append(v.hooks, fn)
	return 0
}

func hookNames() []string {
	names := make([]string, 0, len(HookEvents))
	for k := range HookEvents {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func knownAction(a string) bool {
	for _, actions := range HookEvents {
		for _, x := range actions {
			if x == a {
				return true
			}
		}
	}
	return false
}

// hookQueue runs hooks one after another on a goroutine of their own, so
// that the request that caused an event never waits for its hooks.
type hookQueue struct {
	r       *Runtime
	mu      sync.Mutex
	jobs    []hookJob
	running bool
	pending sync.WaitGroup
}

type hookJob struct {
	ev    models.Event
	index int // into program.hooks
	prog  *program
}

// maxQueuedHooks bounds the queue; past it, events are dropped (and logged).
const maxQueuedHooks = 10000

type inHookKey struct{}

// onEvent is the service's listener: it queues the hooks of the event.
// Events caused by a hook itself don't run hooks again.
func (r *Runtime) onEvent(ctx context.Context, ev models.Event) {
	if ctx.Value(inHookKey{}) != nil {
		return
	}
	p := r.prog.Load()
	for i, h := range p.hooks {
		for _, a := range h.actions {
			if a == ev.Action {
				r.hooks.push(hookJob{ev: ev, index: i, prog: p})
			}
		}
	}
}

func (q *hookQueue) push(j hookJob) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.jobs) >= maxQueuedHooks {
		q.r.log.Warn("site hooks: queue full, event dropped", "action", j.ev.Action)
		return
	}
	q.pending.Add(1)
	q.jobs = append(q.jobs, j)
	if !q.running {
		q.running = true
		go q.work()
	}
}

func (q *hookQueue) work() {
	for {
		q.mu.Lock()
		if len(q.jobs) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		j := q.jobs[0]
		q.jobs = q.jobs[1:]
		q.mu.Unlock()
		q.r.runHook(j)
		q.pending.Done()
	}
}

// WaitHooks waits until the queued hooks ran (or ctx ends).
func (r *Runtime) WaitHooks(ctx context.Context) error {
	done := make(chan struct{})
	go func() { r.hooks.pending.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runHook calls one hook with the event, acting as the account that
// caused it (with that account's permissions, as it is now).
func (r *Runtime) runHook(j hookJob) {
	v, p, err := r.get()
	if err != nil {
		r.log.Error("site hook", "err", err)
		return
	}
	defer r.put(v)
	if p != j.prog && len(p.hooks) != len(j.prog.hooks) {
		return // reloaded meanwhile (development)
	}
	ctx := context.WithValue(context.Background(), inHookKey{}, true)
	cl := &call{kind: kindHook, ctx: ctx, actor: models.Actor{Meta: models.Meta{IP: j.ev.IP, Via: "site hook"}}}
	if j.ev.ActorID != nil {
		if u, err := r.users.Get(ctx, *j.ev.ActorID); err == nil && u.Type == models.TypeActive {
			cl.actor.User = u
		}
	}
	L := v.L
	evt := L.CreateTable(0, 8)
	def := p.hooks[j.index]
	evt.RawSetString("name", lua.LString(def.Event))
	evt.RawSetString("action", lua.LString(j.ev.Action))
	evt.RawSetString("detail", lua.LString(j.ev.Detail))
	evt.RawSetString("time", lua.LString(j.ev.CreatedAt.UTC().Format(time.RFC3339)))
	if j.ev.ActorID != nil {
		evt.RawSetString("actor_id", lua.LNumber(*j.ev.ActorID))
	}
	if j.ev.TargetID != nil {
		evt.RawSetString("user_id", lua.LNumber(*j.ev.TargetID))
		if u, err := r.users.Get(ctx, *j.ev.TargetID); err == nil {
			evt.RawSetString("user", v.userTable(cl.me(), u))
		}
	}
	if err := v.run(cl, r.cfg.Timeout, v.hooks[j.index], evt); err != nil {
		se := scriptErrorOf(err)
		if se.Where == "" {
			se.Where = def.File + ":" + itoa(def.Line)
		}
		r.errs.add(se, "", "hook "+def.Event)
		r.log.Error("site hook failed", "event", def.Event, "where", se.Where, "err", se.Message)
	}
	if cl.out.Len() > 0 {
		r.log.Debug("site hook output", "event", def.Event, "output", cl.out.String())
	}
}
