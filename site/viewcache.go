package site

import (
	"html/template"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/template/parse"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/webmin/webmin/models"
)

// Drawn views are kept, like the built-in pages' pieces (views/README.md,
// "Pieces drawn once and kept"): html/template costs about a microsecond
// per {{…}}, and most views draw the same data again and again (a
// profile). A view is kept by the values of the top-level fields it uses,
// which the parse tree tells; a view that uses the time (ago), passes the
// whole data on, or is given a value that can't be named (an account
// without a snapshot, a flash) is drawn every time.

const (
	viewTTL     = time.Minute
	viewKeepMax = 10000
)

// viewDeps are what a view's output depends on.
type viewDeps struct {
	fields []string // top-level fields used, sorted
	never  bool     // can't be kept
}

// depsOf reads what view name uses, following the views it calls.
func depsOf(set *template.Template, name string) viewDeps {
	d := &depWalk{set: set, fields: map[string]bool{}, seen: map[string]bool{}}
	d.template(name)
	out := viewDeps{never: d.never}
	for f := range d.fields {
		out.fields = append(out.fields, f)
	}
	sort.Strings(out.fields)
	return out
}

type depWalk struct {
	set    *template.Template
	fields map[string]bool
	seen   map[string]bool
	never  bool
}

func (d *depWalk) template(name string) {
	if d.seen[name] {
		return
	}
	d.seen[name] = true
	t := d.set.Lookup(name)
	if t == nil || t.Tree == nil {
		d.never = true
		return
	}
	d.node(t.Tree.Root, true)
}

// node walks n; top says whether dot is still the view's data.
func (d *depWalk) node(n parse.Node, top bool) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			d.node(c, top)
		}
	case *parse.ActionNode:
		d.pipe(n.Pipe, top)
	case *parse.IfNode:
		d.pipe(n.Pipe, top)
		d.node(n.List, top)
		d.node(n.ElseList, top)
	case *parse.RangeNode:
		d.pipe(n.Pipe, top)
		d.node(n.List, false)
		d.node(n.ElseList, top)
	case *parse.WithNode:
		d.pipe(n.Pipe, top)
		d.node(n.List, false)
		d.node(n.ElseList, top)
	case *parse.TemplateNode:
		if n.Pipe == nil {
			d.template(n.Name) // called with no data: depends on nothing of ours
			return
		}
		if len(n.Pipe.Cmds) == 1 && len(n.Pipe.Cmds[0].Args) == 1 {
			if _, dot := n.Pipe.Cmds[0].Args[0].(*parse.DotNode); dot && top {
				d.template(n.Name) // the same data: what it uses counts
				return
			}
		}
		d.pipe(n.Pipe, top)
		d.never = d.never || d.calls(n.Name)
	case *parse.TextNode, *parse.CommentNode, *parse.BreakNode, *parse.ContinueNode:
	default:
		d.never = true
	}
}

// calls reports whether a view called with other data can't be kept (it
// uses the time): its fields are the caller's argument, already counted.
func (d *depWalk) calls(name string) bool {
	sub := &depWalk{set: d.set, fields: map[string]bool{}, seen: d.seen}
	sub.template(name)
	return sub.never
}

func (d *depWalk) pipe(p *parse.PipeNode, top bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			d.arg(a, top)
		}
	}
}

func (d *depWalk) arg(a parse.Node, top bool) {
	switch a := a.(type) {
	case *parse.FieldNode:
		if top {
			d.fields[a.Ident[0]] = true
		}
	case *parse.VariableNode:
		if a.Ident[0] == "$" {
			if len(a.Ident) > 1 {
				d.fields[a.Ident[1]] = true
			} else {
				d.never = true // the whole data
			}
		}
	case *parse.DotNode:
		if top {
			d.never = true // the whole data, to a function
		}
	case *parse.IdentifierNode:
		if a.Ident == "ago" {
			d.never = true // drawn from the clock
		}
	case *parse.ChainNode:
		d.arg(a.Node, top)
	case *parse.PipeNode:
		d.pipe(a, top)
	}
}

// viewKey names the drawing of a view with data, or "" when it can't be kept.
func viewKey(name string, deps viewDeps, data map[string]any) string {
	return drawingKey(name, deps, nil, data)
}

// drawingKey names the drawing of a view with the script's table lt (a
// field there wins) and the page's data, or "" when it can't be kept.
func drawingKey(name string, deps viewDeps, lt *lua.LTable, page map[string]any) string {
	if deps.never {
		return ""
	}
	var b strings.Builder
	b.WriteString(name)
	for _, f := range deps.fields {
		b.WriteByte(0)
		b.WriteString(f)
		b.WriteByte('=')
		if lt != nil {
			if val := lt.RawGetString(f); val != lua.LNil {
				b.WriteByte('L')
				if !luaFingerprint(&b, val, 0) {
					return ""
				}
				continue
			}
		}
		b.WriteByte('G')
		if !fingerprint(&b, page[f], 0) {
			return ""
		}
	}
	return b.String()
}

// luaFingerprint writes a value that names a Lua value exactly (as the
// view would get it); false when it can't. A user table is named by its
// account's snapshot and what its viewer may see.
func luaFingerprint(b *strings.Builder, v lua.LValue, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch v := v.(type) {
	case *lua.LNilType:
		b.WriteString("n")
	case lua.LString:
		b.WriteString("s")
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(string(v))
	case lua.LNumber:
		b.WriteString("f")
		b.WriteString(strconv.FormatFloat(float64(v), 'g', -1, 64))
	case lua.LBool:
		if v {
			b.WriteString("T")
		} else {
			b.WriteString("F")
		}
	case *lua.LTable:
		if uv := userOf(v); uv != nil {
			if uv.u.Snapshot == 0 || countKeys(v) > 0 {
				return false // not named, or changed by the script
			}
			b.WriteString("u")
			b.WriteString(strconv.FormatInt(uv.u.ID, 10))
			b.WriteByte('.')
			b.WriteString(strconv.FormatUint(uv.u.Snapshot, 10))
			b.WriteByte('.')
			b.WriteString(strconv.FormatBool(uv.online))
			b.WriteString(strconv.FormatBool(uv.email))
			return true
		}
		if v.Metatable != lua.LNil {
			return false
		}
		var keys []string
		ok := true
		v.ForEach(func(k, _ lua.LValue) {
			switch k := k.(type) {
			case lua.LString:
				keys = append(keys, "s"+string(k))
			case lua.LNumber:
				keys = append(keys, "n"+k.String())
			default:
				ok = false
			}
		})
		if !ok {
			return false
		}
		sort.Strings(keys)
		b.WriteString("{")
		for _, k := range keys {
			b.WriteString(strconv.Itoa(len(k)))
			b.WriteByte(':')
			b.WriteString(k)
			var val lua.LValue
			if k[0] == 's' {
				val = v.RawGetString(k[1:])
			} else {
				n, _ := strconv.ParseFloat(k[1:], 64)
				val = v.RawGet(lua.LNumber(n))
			}
			if !luaFingerprint(b, val, depth+1) {
				return false
			}
			b.WriteByte(',')
		}
		b.WriteString("}")
	default:
		return false
	}
	return true
}

// fingerprint writes a value that names v exactly; false when it can't.
func fingerprint(b *strings.Builder, v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch v := v.(type) {
	case nil:
		b.WriteString("n")
	case string:
		b.WriteString("s")
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	case template.HTML:
		b.WriteString("h")
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(string(v))
	case int64:
		b.WriteString("i")
		b.WriteString(strconv.FormatInt(v, 10))
	case int:
		b.WriteString("i")
		b.WriteString(strconv.Itoa(v))
	case float64:
		b.WriteString("f")
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case bool:
		if v {
			b.WriteString("T")
		} else {
			b.WriteString("F")
		}
	case *models.User:
		if v == nil {
			b.WriteString("n")
			return true
		}
		if v.Snapshot == 0 {
			return false
		}
		b.WriteString("u")
		b.WriteString(strconv.FormatInt(v.ID, 10))
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(v.Snapshot, 10))
	case []any:
		b.WriteString("[")
		for _, x := range v {
			if !fingerprint(b, x, depth+1) {
				return false
			}
			b.WriteByte(',')
		}
		b.WriteString("]")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString("{")
		for _, k := range keys {
			b.WriteString(strconv.Itoa(len(k)))
			b.WriteByte(':')
			b.WriteString(k)
			if !fingerprint(b, v[k], depth+1) {
				return false
			}
			b.WriteByte(',')
		}
		b.WriteString("}")
	default:
		return false // a flash list, anything else: draw it
	}
	return true
}

// viewCache keeps drawn views by key, for viewTTL.
type viewCache struct {
	mu sync.RWMutex
	m  map[string]keptView
}

type keptView struct {
	html    template.HTML
	expires time.Time
}

func (vc *viewCache) get(key string, now time.Time) (template.HTML, bool) {
	vc.mu.RLock()
	k, ok := vc.m[key]
	vc.mu.RUnlock()
	if !ok || now.After(k.expires) {
		return "", false
	}
	return k.html, true
}

func (vc *viewCache) put(key string, html template.HTML, now time.Time) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	if vc.m == nil {
		vc.m = map[string]keptView{}
	}
	if _, ok := vc.m[key]; !ok && len(vc.m) >= viewKeepMax {
		for k, v := range vc.m { // an arbitrary victim, expired ones first
			delete(vc.m, k)
			if now.Before(v.expires) {
				break
			}
		}
	}
	vc.m[key] = keptView{html: html, expires: now.Add(viewTTL)}
}
