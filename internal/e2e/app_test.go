package e2e

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/app"
)

// appStartLimit bounds migrations plus loading the demo province.
const appStartLimit = 60 * time.Second

// slowStart is set when serve did not listen within appStartLimit, so that
// later tests fail at once instead of each waiting as long again.
var slowStart atomic.Bool

// startApp runs the real application (gongjiang serve --demo --demo-scale small) on a fresh
// SQLite database and a free port, and returns its base URL. At the end of
// t it cancels the context and requires a graceful shutdown: Main must
// return nil.
func startApp(t *testing.T) string {
	t.Helper()
	addr, _ := startAppWithDB(t)
	return addr
}

// startAppWithDB is startApp that also says where the database is, for
// tests that read what only the database holds (a certificate's
// signature, from which its QR payload is made).
func startAppWithDB(t *testing.T) (string, string) {
	t.Helper()
	if slowStart.Load() {
		t.Fatalf("an earlier test's serve --demo did not listen within %v; not waiting again", appStartLimit)
	}
	db := filepath.Join(t.TempDir(), "e2e.db")
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	listening := make(chan string, 1)
	done := make(chan error, 1)
	env := app.Env{
		Stdout:   &stdout,
		Stderr:   &stderr,
		Getenv:   func(string) string { return "" },
		OnListen: func(addr string) { listening <- addr },
	}
	start := time.Now()
	go func() {
		done <- app.Main(ctx, []string{"serve", "--demo", "--demo-scale", "small", "--db", db, "--addr", "127.0.0.1:0"}, env)
	}()
	dump := func() {
		t.Logf("serve stdout:\n%s", tail(stdout.String(), 4000))
		t.Logf("serve stderr (request log):\n%s", tail(stderr.String(), 8000))
	}

	var addr string
	select {
	case addr = <-listening:
	case err := <-done:
		cancel()
		dump()
		t.Fatalf("serve returned before listening: %v", err)
	case <-time.After(appStartLimit):
		slowStart.Store(true)
		cancel()
		select { // let Main close the database before t.TempDir is removed
		case err := <-done:
			t.Logf("serve returned %v after its context was cancelled", err)
		case <-time.After(app.ShutdownGrace):
		}
		dump()
		t.Fatalf("serve did not listen within %v", appStartLimit)
	}
	t.Logf("app listening on %s after %v", addr, time.Since(start).Round(time.Millisecond))

	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve did not shut down cleanly: Main returned %v", err)
			}
		case <-time.After(app.ShutdownGrace + 5*time.Second):
			t.Errorf("serve still running %v after its context was cancelled", app.ShutdownGrace+5*time.Second)
		}
		if t.Failed() {
			dump()
		}
	})
	return "http://" + addr, db
}
