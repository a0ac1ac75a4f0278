package app_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/webmin/webmin/app"
	"github.com/webmin/webmin/app/apptest"
	"github.com/webmin/webmin/models/modelstest"
)

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// SIGTERM: /readyz answers 503 at once, the server goes on serving through
// SHUTDOWN_DRAIN (asking keep-alive clients to reconnect elsewhere), then
// finishes the request in flight and returns without error (exit 0).
func TestShutdownDrains(t *testing.T) {
	for _, dbName := range modelstest.DBNames {
		t.Run(dbName, func(t *testing.T) {
			dir := t.TempDir()
			dsn := filepath.Join(dir, "webmin.db")
			if dbName == "pg" {
				dsn = modelstest.DatabaseURL(t)
			}
			port := freePort(t)
			env := map[string]string{
				"PORT": strconv.Itoa(port), "DATA_DIR": dir, "DATABASE_URL": dsn, "SHUTDOWN_DRAIN": "1500ms",
				"SESSION_SECRET": "test-secret-test-secret-test-secret-0123456789",
			}
			cfg, err := app.LoadConfig(apptest.Lookup(env))
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- app.Serve(context.Background(), cfg, slog.New(slog.DiscardHandler)) }()
			base := "http://127.0.0.1:" + strconv.Itoa(port)
			get := func(path string) (*http.Response, error) {
				res, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}).Get(base + path)
				if err == nil {
					_, _ = io.Copy(io.Discard, res.Body)
					_ = res.Body.Close()
				}
				return res, err
			}
			for i := 0; ; i++ {
				if res, err := get("/readyz"); err == nil && res.StatusCode == http.StatusOK {
					break
				}
				if i == 300 {
					t.Fatal("the server did not become ready")
				}
				time.Sleep(100 * time.Millisecond)
			}

			// A request whose body is still on its way when the signal comes.
			inflight, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				t.Fatal(err)
			}
			defer inflight.Close()
			body := "login=x&password=y"
			_, _ = io.WriteString(inflight, "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"+
				"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body[:5])

			if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var ready *http.Response
			for range 50 {
				if ready, err = get("/readyz"); err == nil && ready.StatusCode == http.StatusServiceUnavailable {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if err != nil || ready.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("/readyz after SIGTERM: %v %v", ready, err)
			}
			// Still serving, and asking clients to go elsewhere.
			res, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/healthz")
			if err != nil || res.StatusCode != http.StatusOK || !res.Close {
				t.Fatalf("/healthz while draining: %v (close %v) %v", res, res != nil && res.Close, err)
			}
			_ = res.Body.Close()
			select {
			case err := <-done:
				t.Fatalf("Serve returned during the drain: %v", err)
			default:
			}

			// The listener closes after the drain…
			for i := 0; ; i++ {
				c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
				if err != nil {
					break
				}
				_ = c.Close()
				if i == 500 {
					t.Fatal("still listening long after the drain")
				}
				time.Sleep(10 * time.Millisecond)
			}
			// …and the request in flight, its body finished late, is answered.
			_, _ = io.WriteString(inflight, body[5:])
			_ = inflight.SetReadDeadline(time.Now().Add(20 * time.Second))
			line, err := bufio.NewReader(inflight).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "HTTP/1.1 ") {
				t.Fatalf("request in flight: %q %v", line, err)
			}

			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Serve: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Serve did not return after the drain")
			}
			if _, err := get("/healthz"); err == nil {
				t.Fatal("still listening after shutdown")
			}
		})
	}
}
