package app

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/webmin/webmin/migrations"
	"github.com/webmin/webmin/models"
)

const usage = `Webmin: a web console for the user accounts of a website.

Usage:
  webmin [serve]                       run the server (configured by environment variables)
  webmin migrate up|down|status        apply, roll back (last group) or list migrations
  webmin user create --username U [--email E] [--name N] [--level L] --password-stdin
  webmin user passwd USERNAME --password-stdin
  webmin key create --user USERNAME --name NAME [--scope read] [--expires 30d]
                                       make an API key acting as USERNAME; prints only the key
  webmin key list                      list the API keys and personal tokens
  webmin key revoke ID                 revoke a key or token for good
  webmin demo --users N                add N realistic demo accounts
  webmin version                       print the version

The password is read from standard input (one line), never from the arguments.
Environment: PORT, DATABASE_URL, DATA_DIR, SESSION_SECRET, BASE_URL, SMTP_URL,
MAIL_FROM, ONLINE_WINDOW, REGISTRATION, VIEWS_DIR, STATIC_DIR, LOG_LEVEL, APP_ENV,
DEFAULT_LEVEL, TRUSTED_PROXIES, API_RATE_LIMIT.
`

// CLI is the command line's input and output, so tests can drive it.
type CLI struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// LookupEnv reads the environment (os.LookupEnv): a variable set
	// empty is not one left unset (SITE_PREFIX).
	LookupEnv func(string) (string, bool)
}

// usageError is a bad command line: the message and the usage, exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// Main runs the command line and returns the process exit code.
func Main(cli CLI) int {
	err := cli.run(context.Background())
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(cli.Stderr, "webmin: %s\n\n%s", ue.msg, usage)
		return 2
	default:
		fmt.Fprintf(cli.Stderr, "webmin: %s\n", err)
		return 1
	}
}

func (cli CLI) run(ctx context.Context) error {
	args := cli.Args
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "version" || cmd == "--version" {
		fmt.Fprintf(cli.Stdout, "webmin %s\n", Version)
		return nil
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(cli.Stdout, usage)
		return nil
	}
	cfg, err := LoadConfig(cli.LookupEnv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := NewLogger(cfg)
	switch cmd {
	case "serve":
		if len(args) > 0 {
			return usageError{"serve takes no arguments"}
		}
		return Serve(ctx, cfg, log)
	case "migrate":
		return cli.migrate(ctx, cfg, args)
	case "user":
		return cli.user(ctx, cfg, args)
	case "key":
		return cli.key(ctx, cfg, args)
	case "demo":
		return cli.demo(ctx, cfg, args)
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

func (cli CLI) migrate(ctx context.Context, cfg Config, args []string) error {
	if len(args) != 1 {
		return usageError{"migrate needs one of up, down, status"}
	}
	db, err := models.Open(ctx, cfg.DatabaseDSN())
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "up":
		g, err := migrations.Up(ctx, db)
		if err != nil {
			return err
		}
		if g.IsZero() {
			fmt.Fprintln(cli.Stdout, "Nothing to migrate: the database is up to date.")
		} else {
			fmt.Fprintf(cli.Stdout, "Migrated to %s\n", g)
		}
	case "down":
		g, err := migrations.Down(ctx, db)
		if err != nil {
			return err
		}
		if g.IsZero() {
			fmt.Fprintln(cli.Stdout, "Nothing to roll back.")
		} else {
			fmt.Fprintf(cli.Stdout, "Rolled back %s\n", g)
		}
	case "status":
		m := migrations.NewMigrator(db)
		if err := m.Init(ctx); err != nil {
			return err
		}
		ms, err := m.MigrationsWithStatus(ctx)
		if err != nil {
			return err
		}
		for _, mig := range ms {
			state := "pending"
			if mig.IsApplied() {
				state = "applied " + mig.MigratedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(cli.Stdout, "%-40s %s\n", mig.String(), state)
		}
	default:
		return usageError{fmt.Sprintf("migrate: unknown action %q (use up, down or status)", args[0])}
	}
	return nil
}

func (cli CLI) openService(ctx context.Context, cfg Config) (*models.Service, func(), error) {
	users, err := Open(ctx, cfg, NewLogger(Config{LogLevel: cfg.LogLevel + 4}))
	if err != nil {
		return nil, nil, err
	}
	return users, func() { _ = users.DB().Close() }, nil
}

func (cli CLI) user(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 {
		return usageError{"user needs create or passwd"}
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("user create", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		username := fs.String("username", "", "")
		email := fs.String("email", "", "")
		name := fs.String("name", "", "")
		level := fs.Int("level", 1, "")
		stdin := fs.Bool("password-stdin", false, "")
		if err := fs.Parse(args[1:]); err != nil {
			return usageError{"user create: " + err.Error()}
		}
		if fs.NArg() > 0 {
			return usageError{"user create: unexpected " + strings.Join(fs.Args(), " ")}
		}
		if *username == "" {
			return usageError{"user create: --username is required"}
		}
		pw, users, done, err := cli.passwordAndService(ctx, cfg, "user create", *stdin)
		if err != nil {
			return err
		}
		defer done()
		u, err := users.Create(ctx, models.System, models.NewUser{
			Username: *username, Email: *email, Name: *name, Password: pw, Level: *level,
		})
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(cli.Stdout, "Created %s (id %d, level %d, %s).\n", u.Username, u.ID, u.Level, u.Role())
		return nil
	case "passwd":
		fs := flag.NewFlagSet("user passwd", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		stdin := fs.Bool("password-stdin", false, "")
		// Accept the flag before or after the username.
		var rest []string
		for _, a := range args[1:] {
			if a == "--password-stdin" || a == "-password-stdin" {
				*stdin = true
			} else {
				rest = append(rest, a)
			}
		}
		if err := fs.Parse(rest); err != nil {
			return usageError{"user passwd: " + err.Error()}
		}
		if fs.NArg() != 1 {
			return usageError{"user passwd needs exactly one USERNAME"}
		}
		pw, users, done, err := cli.passwordAndService(ctx, cfg, "user passwd", *stdin)
		if err != nil {
			return err
		}
		defer done()
		u, err := users.GetByUsername(ctx, fs.Arg(0))
		if err != nil {
			return describe(err)
		}
		if _, err := users.SetPassword(ctx, models.System, u.ID, pw); err != nil {
			return describe(err)
		}
		fmt.Fprintf(cli.Stdout, "Password of %s changed; its sessions have ended.\n", u.Username)
		return nil
	}
	return usageError{fmt.Sprintf("user: unknown action %q (use create or passwd)", args[0])}
}

// passwordAndService reads the password from standard input (which the
// command must have been told with --password-stdin) and opens the service.
func (cli CLI) passwordAndService(ctx context.Context, cfg Config, cmd string, stdin bool) (string, *models.Service, func(), error) {
	if !stdin {
		return "", nil, nil, usageError{cmd + ": --password-stdin is required (the password is read from standard input)"}
	}
	pw, err := cli.readPassword()
	if err != nil {
		return "", nil, nil, err
	}
	users, done, err := cli.openService(ctx, cfg)
	return pw, users, done, err
}

// readPassword reads one line from standard input, without echo on a terminal.
func (cli CLI) readPassword() (string, error) {
	if f, ok := cli.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(cli.Stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cli.Stderr)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(cli.Stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

// describe turns a service error into a message for the terminal.
func describe(err error) error {
	var ve *models.ValidationError
	var ce *models.ConflictError
	var de *models.DeniedError
	switch {
	case errors.As(err, &ve):
		var b strings.Builder
		b.WriteString("invalid input:")
		for f, m := range ve.Fields {
			fmt.Fprintf(&b, "\n  %s: %s", f, m)
		}
		return errors.New(b.String())
	case errors.As(err, &ce):
		return errors.New(ce.Message)
	case errors.Is(err, models.ErrNotFound):
		return errors.New("no such account")
	case errors.As(err, &de):
		return errors.New("refused: " + de.Reason)
	}
	return err
}

// key manages API keys from the command line, for deploy scripts: create
// prints the key alone on standard output (KEY=$(webmin key create …)).
func (cli CLI) key(ctx context.Context, cfg Config, args []string) error {
	if len(args) == 0 {
		return usageError{"key needs create, list or revoke"}
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("key create", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		username := fs.String("user", "", "")
		name := fs.String("name", "", "")
		scope := fs.String("scope", models.ScopeReadWrite, "")
		expires := fs.String("expires", "", "")
		if err := fs.Parse(args[1:]); err != nil {
			return usageError{"key create: " + err.Error()}
		}
		if fs.NArg() > 0 {
			return usageError{"key create: unexpected " + strings.Join(fs.Args(), " ")}
		}
		if *username == "" || *name == "" {
			return usageError{"key create: --user and --name are required"}
		}
		if _, ok := models.ParseScope(*scope, ""); !ok || strings.TrimSpace(*scope) == "" {
			return usageError{fmt.Sprintf("key create: --scope %q: use read or \"read write\"", *scope)}
		}
		var lifetime time.Duration
		if *expires != "" {
			d, ok := models.ParseLifetime(*expires)
			if !ok {
				return usageError{fmt.Sprintf("key create: --expires %q: use a number and a unit, such as 12h, 30d, 2w or 1y", *expires)}
			}
			lifetime = d
		}
		users, done, err := cli.openService(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		u, err := users.GetByUsername(ctx, *username)
		if err != nil {
			return describe(err)
		}
		n := models.NewAPIKey{Name: *name, Scope: *scope, Owner: u}
		if lifetime > 0 {
			n.ExpiresAt = users.Now().Add(lifetime)
		}
		_, key, err := users.CreateKey(ctx, models.System, n)
		if err != nil {
			return describe(err)
		}
		fmt.Fprintln(cli.Stdout, key)
		return nil
	case "list":
		if len(args) != 1 {
			return usageError{"key list takes no arguments"}
		}
		users, done, err := cli.openService(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		now := users.Now()
		w := tabwriter.NewWriter(cli.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tPREFIX\tKIND\tSCOPE\tACCOUNT\tNAME\tCREATED\tEXPIRES\tLAST USED\tSTATUS")
		for page := 1; ; page++ {
			p, err := users.APIKeys(ctx, models.APIKeyFilter{Page: page, Limit: models.MaxLimit})
			if err != nil {
				return err
			}
			for _, k := range p.Items {
				account := "#" + strconv.FormatInt(k.CreatedBy, 10)
				if k.Creator != nil && k.Creator.ID != 0 {
					account = k.Creator.Username
				}
				status := "active"
				switch {
				case k.Revoked():
					status = "revoked"
				case k.Expired(now):
					status = "expired"
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Kind, k.Scope, account,
					strings.ReplaceAll(k.Name, "\t", " "), day(&k.CreatedAt), day(k.ExpiresAt), day(k.LastUsedAt), status)
			}
			if !p.HasNext() {
				break
			}
		}
		return w.Flush()
	case "revoke":
		if len(args) != 2 {
			return usageError{"key revoke needs exactly one ID (see webmin key list)"}
		}
		id, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || id <= 0 {
			return usageError{fmt.Sprintf("key revoke: %q is not a key's id (see webmin key list)", args[1])}
		}
		users, done, err := cli.openService(ctx, cfg)
		if err != nil {
			return err
		}
		defer done()
		k, err := users.RevokeAPIKey(ctx, models.System, id)
		if errors.Is(err, models.ErrNotFound) {
			return fmt.Errorf("no key with id %d", id)
		}
		if err != nil {
			return describe(err)
		}
		fmt.Fprintf(cli.Stdout, "Revoked %s (%s).\n", k.Prefix, k.Name)
		return nil
	}
	return usageError{fmt.Sprintf("key: unknown action %q (use create, list or revoke)", args[0])}
}

// day shows a time as its date, or "-".
func day(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.DateOnly)
}

func (cli CLI) demo(ctx context.Context, cfg Config, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	n := fs.Int("users", 1000, "")
	if err := fs.Parse(args); err != nil {
		return usageError{"demo: " + err.Error()}
	}
	if *n < 1 || *n > 10_000_000 {
		return usageError{"demo: --users must be 1 to 10000000"}
	}
	users, done, err := cli.openService(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	start := time.Now()
	bar := progressBar{w: cli.Stderr}
	if err := users.Seed(ctx, *n, bar.update); err != nil {
		return err
	}
	bar.finish()
	fmt.Fprintf(cli.Stdout, "Added %d demo accounts in %s.\n", *n, time.Since(start).Round(time.Second))
	return nil
}

// progressBar draws "[#####     ] 52% 520000/1000000" on one terminal line.
type progressBar struct {
	w    io.Writer
	last int
}

func (p *progressBar) update(done, total int) {
	if total <= 0 {
		return
	}
	pct := done * 100 / total
	if pct == p.last && done != total {
		return
	}
	p.last = pct
	const width = 30
	fill := pct * width / 100
	fmt.Fprintf(p.w, "\r[%s%s] %3d%% %d/%d", strings.Repeat("#", fill), strings.Repeat(" ", width-fill), pct, done, total)
}

func (p *progressBar) finish() { fmt.Fprintln(p.w) }
