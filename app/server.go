package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/etag"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/helmet"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/gofiber/fiber/v2/middleware/requestid"
	"github.com/gofiber/template/html/v2"

	"github.com/webmin/webmin/app/mailer"
	"github.com/webmin/webmin/handlers"
	"github.com/webmin/webmin/handlers/api"
	"github.com/webmin/webmin/migrations"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/oauth"
	"github.com/webmin/webmin/site"
	"github.com/webmin/webmin/static"
	"github.com/webmin/webmin/views"
)

// Version is set at build time with -ldflags "-X github.com/webmin/webmin/app.Version=...".
var Version = "dev"

// Server is a wired application: the Fiber app, the users service and the
// handlers, ready to listen or to be tested with Fiber's app.Test.
type Server struct {
	Fiber   *fiber.App
	Users   *models.Service
	Handler *handlers.Handler
	API     *api.Handler   // the JSON API under /api/v1
	Mailer  *mailer.Mailer // the mail queue: started by Serve, or by the first message (tests)
	Site    *site.Runtime  // the site's Lua scripts (SITE_DIR)
	Config  Config
	Log     *slog.Logger
}

// NewLogger makes the structured logger for the configured level.
func NewLogger(cfg Config) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
}

// NewServer wires the application on an open, migrated database; the
// users service comes tuned by the caller (tests use cheap hashing and
// their own clock).
func NewServer(cfg Config, users *models.Service, log *slog.Logger) (*Server, error) {
	secret, err := cfg.Secret()
	if err != nil {
		return nil, err
	}
	engine, err := newViews(cfg)
	if err != nil {
		return nil, err
	}
	h := &handlers.Handler{
		Users:     users,
		Views:     engine,
		Sessions:  handlers.NewSessions(deriveKey(secret, "session-hash"), deriveKey(secret, "session-block"), cfg.SecureCookies()),
		SetupLink: handlers.NewSetupToken(),
		Log:       log,
		Opts: handlers.Options{
			SiteName:     "Webmin",
			BaseURL:      cfg.BaseURL,
			Registration: cfg.Registration,
			Development:  cfg.Development(),
			Require2FA:   cfg.Require2FA,
			Version:      Version,
		},
	}
	// E-mail flows: the mailer, and the hooks of registration and settings.
	mailViews := fs.FS(views.FS)
	if cfg.ViewsDir != "" {
		mailViews = os.DirFS(cfg.ViewsDir)
	}
	mail, err := mailer.New(mailer.Config{SMTPURL: cfg.SMTPURL, From: cfg.MailFrom, BaseURL: cfg.BaseURL,
		Site: h.Opts.SiteName, Views: mailViews, Reload: cfg.ViewsDir != ""}, users, log)
	if err != nil {
		return nil, err
	}
	h.APIDocument = api.Document
	h.Mail = mail
	// Passkeys need a host name for their relying party: a site served at
	// an IP address runs without them (the pages hide their buttons).
	if err := users.ConfigurePasskeys(cfg.BaseURL, h.Opts.SiteName); err != nil {
		log.Warn("passkeys are off: BASE_URL must name the site by a host name", "base_url", cfg.BaseURL, "err", err)
	} else {
		h.Opts.Passkeys = true
	}
	h.Providers = oauth.New(cfg.OAuth, nil, nil)
	h.OAuthCookies = handlers.NewOAuthCookies(deriveKey(secret, "oauth-hash"), deriveKey(secret, "oauth-block"))
	h.AfterRegister = h.SendConfirmation
	users.OnBulkConfirmation(func(id int64, by models.Actor) {
		// A bulk job's goroutine: it waits for room rather than lose mail.
		mail.SendWait(models.MailRequest{Kind: models.MailConfirm, UserID: id, By: by})
	})
	h.ChangeEmail = h.ChangeSettingsByMail
	fcfg := fiber.Config{
		AppName:               "Webmin",
		Immutable:             true, // Fiber reuses request buffers; keep strings we hold safe
		ErrorHandler:          h.ErrorHandler,
		ReadTimeout:           15 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           90 * time.Second,
		BodyLimit:             1 << 20,
		DisableStartupMessage: true,
	}
	if len(cfg.TrustedProxies) > 0 {
		fcfg.ProxyHeader = fiber.HeaderXForwardedFor
		fcfg.EnableTrustedProxyCheck = true
		fcfg.TrustedProxies = cfg.TrustedProxies
		fcfg.EnableIPValidation = true
	}
	// Site scripts: compiled now, so that a broken script stops the start.
	scripts, err := site.New(site.Config{Dir: cfg.SiteDir, Prefix: cfg.SitePrefix, Timeout: cfg.SiteTimeout,
		Development: cfg.Env == "development", Funcs: handlers.TemplateFuncs(), Log: log}, users, h)
	if err != nil {
		return nil, err
	}
	app := fiber.New(fcfg)
	s := &Server{Fiber: app, Users: users, Handler: h, Mailer: mail, Site: scripts, Config: cfg, Log: log,
		API: &api.Handler{Users: users, Log: log, Mail: mail}}

	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		log.Error("panic", "panic", fmt.Sprint(e), "path", c.Path(), "request_id", c.Locals("requestid"))
	}}))
	app.Use(requestid.New())
	app.Use(accessLog(log))
	app.Use(h.CloseWhenDraining)
	app.Use(helmet.New(helmet.Config{
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; " +
			"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
		XFrameOptions:             "DENY",
		ReferrerPolicy:            "strict-origin-when-cross-origin",
		CrossOriginEmbedderPolicy: "unsafe-none", // avatars may be images from other sites
		CrossOriginResourcePolicy: "same-origin",
		HSTSMaxAge:                31536000,
	}))
	app.Use(compress.New())

	h.CSRF = &handlers.CSRFTokens{Key: deriveKey(secret, "csrf"), MaxAge: 7 * 24 * time.Hour, Secure: cfg.SecureCookies()}
	s.routes()
	return s, nil
}

// newViews loads the templates: embedded, or from VIEWS_DIR re-read on every render.
func newViews(cfg Config) (*html.Engine, error) {
	var engine *html.Engine
	if cfg.ViewsDir != "" {
		engine = html.New(cfg.ViewsDir, ".html")
		engine.Reload(true)
	} else {
		engine = html.NewFileSystem(http.FS(views.FS), ".html")
	}
	engine.AddFuncMap(handlers.TemplateFuncs())
	if err := engine.Load(); err != nil {
		return nil, fmt.Errorf("load templates: %w", err)
	}
	return engine, nil
}

// mountStatic serves /static from the embedded files (cached a day, with
// ETags) or from STATIC_DIR (no cache, for designers).
func (s *Server) mountStatic() {
	if s.Config.StaticDir != "" {
		s.Fiber.Use("/static", filesystem.New(filesystem.Config{Root: http.Dir(s.Config.StaticDir)}))
		return
	}
	sub, _ := fs.Sub(static.FS, ".")
	s.Fiber.Use("/static", etag.New(), filesystem.New(filesystem.Config{Root: http.FS(sub), MaxAge: 86400}))
}

// accessLog logs each request with its request id, status and duration.
func accessLog(log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			// Let the one error path answer now, so that the status it
			// decides is the one logged; the error is handled.
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				return herr
			}
			err = nil
		}
		status := c.Response().StatusCode()
		if log.Enabled(c.UserContext(), slog.LevelInfo) {
			log.LogAttrs(c.UserContext(), slog.LevelInfo, "request",
				slog.String("method", c.Method()), slog.String("path", handlers.LogPath(c.Path())),
				slog.Int("status", status), slog.Duration("took", time.Since(start)),
				slog.String("ip", c.IP()), slog.Any("request_id", c.Locals("requestid")))
		}
		return err
	}
}

// Open opens and migrates the configured database and builds the users service.
func Open(ctx context.Context, cfg Config, log *slog.Logger) (*models.Service, error) {
	db, err := models.Open(ctx, cfg.DatabaseDSN())
	if err != nil {
		return nil, err
	}
	group, err := migrations.Up(ctx, db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if !group.IsZero() {
		log.Info("database migrated", "migrations", group.Migrations.String())
	}
	secret, err := cfg.Secret()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return models.NewService(db, models.Options{
		OnlineWindow: cfg.OnlineWindow,
		DefaultLevel: cfg.DefaultLevel,
		Logger:       log,
		SecretKey:    deriveKey(secret, "secrets-at-rest"),
	}), nil
}

// Serve runs the server until SIGINT or SIGTERM (or ctx ends), then
// drains for cfg.ShutdownDrain (/readyz answers 503, requests are still
// served), lets in-flight requests finish (up to 20 seconds) and closes
// the database.
func Serve(ctx context.Context, cfg Config, log *slog.Logger) error {
	users, err := Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer users.DB().Close()
	srv, err := NewServer(cfg, users, log)
	if err != nil {
		return err
	}
	if has, err := users.HasSuperadmin(ctx); err != nil {
		return err
	} else if !has {
		link := cfg.BaseURL + "/setup?token=" + srv.Handler.SetupLink.Token()
		fmt.Fprintf(os.Stderr, "\n  No superadmin yet. Open this one-time link to create one:\n\n    %s\n\n"+
			"  (or run: webmin user create --username NAME --email EMAIL --level 10 --password-stdin)\n\n", link)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go prunePresence(ctx, users, log)
	// Hear of other servers' and the command line's changes (ban, sign-out
	// everywhere, new accounts) as they commit.
	users.Follow(ctx)
	go users.RunBulkJobs(ctx, 5*time.Second) // bulk actions, also those another instance left
	// The mail queue outlives ctx: requests still finishing may queue mail,
	// and Stop below handles it after them.
	srv.Mailer.Start(context.WithoutCancel(ctx))

	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", cfg.Port, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Fiber.Listener(ln) }()
	db := "sqlite " + cfg.DatabaseDSN()
	if !cfg.SQLite() {
		db = "postgres"
	}
	log.Info("webmin listening", "addr", ln.Addr().String(), "url", cfg.BaseURL, "database", db, "version", Version)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Drain: /readyz says 503 at once while requests are still served, so
	// that a load balancer moves traffic away before the listener closes;
	// then requests in flight finish.
	srv.Handler.Drain()
	log.Info("shutting down: draining", "for", cfg.ShutdownDrain.String())
	time.Sleep(cfg.ShutdownDrain)
	log.Info("shutting down: letting requests in flight finish")
	if err := srv.Fiber.ShutdownWithTimeout(20 * time.Second); err != nil && !strings.Contains(err.Error(), "closed") {
		return err
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Users.FlushLimiters(stopCtx); err != nil { // hits the other instances haven't seen
		log.Warn("rate limits", "err", err)
	}
	if err := srv.Site.Close(stopCtx); err != nil { // hooks under way may queue mail
		log.Warn("site hooks", "err", err)
	}
	if err := srv.Mailer.Stop(stopCtx); err != nil {
		log.Warn("mail queue", "err", err)
	}
	log.Info("stopped")
	return nil
}

// prunePresence deletes, every hour, presence older than a day and
// expired sessions.
func prunePresence(ctx context.Context, users *models.Service, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := users.PrunePresence(ctx); err != nil {
				log.Warn("prune presence", "err", err)
			} else if n > 0 {
				log.Debug("pruned presence", "rows", n)
			}
			if n, err := users.PruneCounters(ctx); err != nil {
				log.Warn("prune failure counters and rate limits", "err", err)
			} else if n > 0 {
				log.Debug("pruned failure counters and rate limits", "rows", n)
			}
			if n, err := users.PruneSessions(ctx); err != nil {
				log.Warn("prune sessions", "err", err)
			} else if n > 0 {
				log.Debug("pruned expired sessions", "rows", n)
			}
		}
	}
}
