package app_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models"
	"github.com/webmin/webmin/models/modelstest"
)

// runCLI runs the command line with env and stdin, returning exit code and output.
func runCLI(env map[string]string, stdin string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := app.Main(app.CLI{
		Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut,
		LookupEnv: apptest.Lookup(env),
	})
	return code, out.String(), errOut.String()
}

// cliEnv is the environment of a command line on each database.
func cliEnv(t *testing.T, db string) map[string]string {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "LOG_LEVEL": "error"}
	if db == "pg" {
		env["DATABASE_URL"] = modelstest.DatabaseURL(t)
	} else {
		env["DATABASE_URL"] = filepath.Join(dir, "cli.db")
	}
	return env
}

func TestCLIUsersAndMigrations(t *testing.T) {
	for _, db := range modelstest.DBNames {
		t.Run(db, func(t *testing.T) {
			env := cliEnv(t, db)
			code, out, errOut := runCLI(env, "", "migrate", "status")
			if code != 0 || !strings.Contains(out, "pending") {
				t.Fatalf("migrate status before: %d %q %q", code, out, errOut)
			}
			if code, out, errOut = runCLI(env, "", "migrate", "up"); code != 0 || !strings.Contains(out, "Migrated") {
				t.Fatalf("migrate up: %d %q %q", code, out, errOut)
			}
			if code, out, _ = runCLI(env, "", "migrate", "up"); code != 0 || !strings.Contains(out, "up to date") {
				t.Fatalf("migrate up again: %d %q", code, out)
			}
			code, out, errOut = runCLI(env, "s3cret-password\n", "user", "create", "--username", "Root", "--email", "root@example.com", "--level", "10", "--password-stdin")
			if code != 0 || !strings.Contains(out, "Created Root") || strings.Contains(out+errOut, "s3cret") {
				t.Fatalf("user create: %d %q %q", code, out, errOut)
			}
			code, _, errOut = runCLI(env, "another-password\n", "user", "create", "--username", "root", "--password-stdin")
			if code != 1 || !strings.Contains(errOut, "already taken") {
				t.Fatalf("duplicate: %d %q", code, errOut)
			}
			code, _, errOut = runCLI(env, "short\n", "user", "create", "--username", "x", "--password-stdin")
			if code != 1 || !strings.Contains(errOut, "username:") || !strings.Contains(errOut, "password:") {
				t.Fatalf("invalid: %d %q", code, errOut)
			}
			if code, out, errOut = runCLI(env, "a-new-password\n", "user", "passwd", "ROOT", "--password-stdin"); code != 0 || !strings.Contains(out, "Password of Root changed") {
				t.Fatalf("passwd: %d %q %q", code, out, errOut)
			}
			if code, _, errOut = runCLI(env, "a-new-password\n", "user", "passwd", "nobody", "--password-stdin"); code != 1 || !strings.Contains(errOut, "no such account") {
				t.Fatalf("passwd unknown: %d %q", code, errOut)
			}
			if code, out, errOut = runCLI(env, "", "demo", "--users", "50"); code != 0 || !strings.Contains(out, "Added 50 demo accounts") {
				t.Fatalf("demo: %d %q %q", code, out, errOut)
			}

			// The password set from the command line signs in.
			sqlDB, err := models.Open(context.Background(), env["DATABASE_URL"])
			if err != nil {
				t.Fatal(err)
			}
			defer sqlDB.Close()
			users := models.NewService(sqlDB, models.Options{})
			if _, err := users.Login(context.Background(), models.Meta{}, "root@EXAMPLE.com", "a-new-password"); err != nil {
				t.Errorf("login with the new password: %v", err)
			}
			page, err := users.List(context.Background(), models.Filter{})
			if err != nil || page.Total != 51 {
				t.Errorf("accounts after demo: %d %v", page.Total, err)
			}

			if code, out, errOut = runCLI(env, "", "migrate", "down"); code != 0 || !strings.Contains(out, "Rolled back") {
				t.Fatalf("migrate down: %d %q %q", code, out, errOut)
			}
		})
	}
}

func TestCLIRefusesBadArguments(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir()}
	for _, args := range [][]string{
		{"frobnicate"},
		{"migrate"},
		{"migrate", "sideways"},
		{"user"},
		{"user", "create", "--password-stdin"},
		{"user", "create", "--username", "bob"},
		{"user", "create", "--username", "bob", "--password", "x"},
		{"user", "passwd", "--password-stdin"},
		{"user", "passwd", "bob"},
		{"demo", "--users", "0"},
		{"demo", "--users", "many"},
		{"serve", "extra"},
	} {
		code, _, errOut := runCLI(env, "", args...)
		if code != 2 || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	code, _, errOut := runCLI(map[string]string{"PORT": "nope", "REGISTRATION": "maybe"}, "", "serve")
	if code != 1 || !strings.Contains(errOut, "PORT") || !strings.Contains(errOut, "REGISTRATION") {
		t.Errorf("bad configuration: %d %q", code, errOut)
	}
	if code, out, _ := runCLI(nil, "", "version"); code != 0 || !strings.HasPrefix(out, "webmin ") {
		t.Errorf("version: %d %q", code, out)
	}
	code, _, errOut = runCLI(env, "", "user", "create", "--username", "bob", "--password-stdin")
	if code != 1 || !strings.Contains(errOut, "no password") {
		t.Errorf("empty stdin: %d %q", code, errOut)
	}
}

// TestServeStopsGracefully runs the real server and stops it the way
// SIGTERM does (through the context), after a request was answered.
func TestServeStopsGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	dir := t.TempDir()
	cfg, err := app.LoadConfig(apptest.Lookup(map[string]string{"PORT": strconv.Itoa(port), "DATA_DIR": dir, "LOG_LEVEL": "error"}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, cfg, app.NewLogger(cfg)) }()
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	var res *http.Response
	for i := 0; i < 100; i++ {
		if res, err = http.Get(base + "/readyz"); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("server did not start: %v", err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %d", res.StatusCode)
	}
	if res, err = http.Get(base + "/"); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("home: %v %v", res, err)
	}
	_ = res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(25 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}
