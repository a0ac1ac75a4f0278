// Package site runs the site's own Lua scripts (SITE_DIR/*.lua): routes
// declared with app:get/post/put/delete, views in SITE_DIR/views, hooks on
// the users service's events, and the api.users library of the seeds, all
// through the same service and permission rules as the pages. Scripts are
// compiled once and run in a pool of sandboxed Lua states, each call with
// a time limit. docs/scripting.md is the script author's manual.
package site

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/ast"
	"github.com/yuin/gopher-lua/parse"

	"github.com/webmin/webmin/models"
)

// Pages is what scripts need from the page side (package handlers): the
// visitor, flashes, the one sign-in path and the layout. app wires it.
type Pages interface {
	CurrentUser(c *fiber.Ctx) *models.User
	Actor(c *fiber.Ctx) models.Actor
	Flash(c *fiber.Ctx, kind, text string)
	// SignInWithPassword checks the password with the service's throttling
	// and starts the visitor's session: the sign-in page's own path.
	SignInWithPassword(c *fiber.Ctx, login, password string, remember bool) (*models.User, error)
	Registration() string
	Registered(c *fiber.Ctx, u *models.User)
	ResendConfirmationFor(ctx context.Context, by models.Actor, id int64) error
	RenderSiteView(c *fiber.Ctx, status int, title string, draw func(page map[string]any) (template.HTML, error)) error
	RenderPage(c *fiber.Ctx, name, title string, data map[string]any) error
	ErrorPage(c *fiber.Ctx, status int, message string) error
}

// Config says where the scripts are and how they run.
type Config struct {
	Dir         string        // SITE_DIR; a missing folder means no scripts
	Prefix      string        // SITE_PREFIX: "" mounts script routes at the root
	Timeout     time.Duration // SITE_TIMEOUT: the time limit of one call
	Development bool          // re-read changed files; errors in the page
	Funcs       template.FuncMap
	Log         *slog.Logger
}

// ReservedPaths are the paths scripts can never shadow, even at the root.
var ReservedPaths = []string{"/admin", "/api", "/static", "/setup", "/healthz", "/readyz"}

// maxIdleStates is how many Lua states wait in the pool at most: as many
// as requests run at once, so that a busy server doesn't make a state (and
// run every script) for each request, and bounded, at about 100 KB each.
const maxIdleStates = 256

// Runtime holds the compiled scripts and the pool of Lua states that run them.
type Runtime struct {
	cfg   Config
	users *models.Service
	pages Pages
	log   *slog.Logger

	prog    atomic.Pointer[program]
	reload  sync.Mutex // one reload at a time (development)
	pool    chan *vm
	errs    errorLog
	hooks   hookQueue
	snippet atomic.Int64 // snippets run, for their chunk names
}

// program is one compiled generation of the site's files.
type program struct {
	files   []*scriptFile
	views   *template.Template
	viewSet []string
	deps    map[string]viewDeps // what each view's drawing depends on (viewcache.go)
	kept    viewCache
	routes  []*route
	hooks   []*hookDef
	stamp   string // names, sizes and times of the files it was read from
	err     error  // development: the files failed to load; every script page shows it
}

type scriptFile struct {
	Name    string // as shown in messages: SITE_DIR/name.lua
	Size    int64
	ModTime time.Time
	proto   *lua.FunctionProto
	Routes  int
	Hooks   int
}

// New loads and compiles every script of cfg.Dir and runs each once to
// learn its routes and hooks. An error names the file and line.
func New(cfg Config, users *models.Service, pages Pages) (*Runtime, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.Prefix = strings.TrimRight(cfg.Prefix, "/")
	r := &Runtime{cfg: cfg, users: users, pages: pages, log: cfg.Log,
		pool: make(chan *vm, maxIdleStates)}
	p, err := r.load()
	if err != nil {
		return nil, err
	}
	r.prog.Store(p)
	r.hooks.r = r
	users.Subscribe(r.onEvent)
	return r, nil
}

// program is the current generation of the scripts (read again first,
// in development, when a file changed).
func (r *Runtime) program() *program {
	p := r.prog.Load()
	if r.cfg.Development {
		p = r.reloadIfChanged(p)
	}
	return p
}

// stampOf describes the files under dir, to see whether any changed.
func stampOf(dir string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && path == dir {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			fmt.Fprintf(&b, "%s %d %d\n", path, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return b.String(), err
}

// reloadIfChanged reads the files again when they changed (development).
func (r *Runtime) reloadIfChanged(p *program) *program {
	stamp, err := stampOf(r.cfg.Dir)
	if err == nil && stamp == p.stamp {
		return p
	}
	r.reload.Lock()
	defer r.reload.Unlock()
	if cur := r.prog.Load(); cur != p && cur.stamp == stamp {
		return cur
	}
	np, err := r.load()
	if err != nil {
		np = &program{err: err, stamp: stamp}
		r.errs.add(scriptErrorOf(err), "", "")
		r.log.Error("site scripts", "err", err)
	}
	r.prog.Store(np)
	return np
}

// load reads, compiles and runs every script once, and parses the views.
func (r *Runtime) load() (*program, error) {
	p := &program{}
	stamp, err := stampOf(r.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("site scripts: %w", err)
	}
	p.stamp = stamp
	entries, err := os.ReadDir(r.cfg.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, fmt.Errorf("site scripts: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".lua") {
			continue
		}
		f, err := compileFile(filepath.Join(r.cfg.Dir, e.Name()))
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, f)
	}
	if p.views, p.viewSet, err = r.parseViews(); err != nil {
		return nil, err
	}
	p.deps = map[string]viewDeps{}
	for _, name := range p.viewSet {
		p.deps[name] = depsOf(p.views, name)
	}
	// The first state learns the routes and hooks that every state will have.
	v, err := r.newVM(p, true)
	if err != nil {
		return nil, err
	}
	r.put(v)
	return p, nil
}

// compileFile parses and compiles one script; a syntax error reads
// "file:line: message".
func compileFile(path string) (*scriptFile, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	info, err := src.Stat()
	if err != nil {
		return nil, err
	}
	name := filepath.Clean(path)
	chunk, err := parse.Parse(src, name)
	if err != nil {
		var pe *parse.Error
		if errors.As(err, &pe) {
			msg := strings.TrimSpace(pe.Message)
			if pe.Token != "" {
				msg += " near '" + pe.Token + "'"
			}
			line := pe.Pos.Line
			if line <= 0 {
				return nil, &ScriptError{Where: name, Message: msg + " at the end of the file"}
			}
			return nil, &ScriptError{Where: fmt.Sprintf("%s:%d", name, line), Message: msg}
		}
		return nil, &ScriptError{Where: name, Message: err.Error()}
	}
	proto, err := compileChunk(chunk, name)
	if err != nil {
		return nil, err
	}
	return &scriptFile{Name: name, Size: info.Size(), ModTime: info.ModTime(), proto: proto}, nil
}

// compileChunk compiles a parsed chunk; gopher-lua reports some errors
// (e.g. a misplaced ...) at this step, by panicking with a CompileError.
func compileChunk(chunk []ast.Stmt, name string) (proto *lua.FunctionProto, err error) {
	defer func() {
		if x := recover(); x != nil {
			if ce, ok := x.(*lua.CompileError); ok {
				err = &ScriptError{Where: fmt.Sprintf("%s:%d", name, ce.Line), Message: ce.Message}
				return
			}
			panic(x)
		}
	}()
	proto, err = lua.Compile(chunk, name)
	if err != nil {
		var ce *lua.CompileError
		if errors.As(err, &ce) {
			return nil, &ScriptError{Where: fmt.Sprintf("%s:%d", name, ce.Line), Message: ce.Message}
		}
		return nil, &ScriptError{Where: name, Message: err.Error()}
	}
	return proto, nil
}

// parseViews parses SITE_DIR/views/**.html into one set, each named by its
// path without .html ("profile", "partials/card").
func (r *Runtime) parseViews() (*template.Template, []string, error) {
	dir := filepath.Join(r.cfg.Dir, "views")
	set := template.New("").Funcs(r.cfg.Funcs)
	var names []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && path == dir {
				return filepath.SkipAll
			}
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".html") {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		name := strings.TrimSuffix(filepath.ToSlash(rel), ".html")
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if _, err := set.New(name).Parse(string(src)); err != nil {
			return viewError(r.cfg.Dir, err)
		}
		names = append(names, name)
		return nil
	})
	sort.Strings(names)
	return set, names, err
}

// Prefix is where script routes are mounted ("" for the root).
func (r *Runtime) Prefix() string { return r.cfg.Prefix }

// Close waits for the hooks under way (up to ctx) and closes the idle states.
func (r *Runtime) Close(ctx context.Context) error {
	err := r.WaitHooks(ctx)
	for {
		select {
		case v := <-r.pool:
			v.L.Close()
		default:
			return err
		}
	}
}
