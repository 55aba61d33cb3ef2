package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	envChromium          = "GONGJIANG_CHROMIUM"
	envRequireBrowser    = "GONGJIANG_REQUIRE_BROWSER"
	envScreenshotDir     = "GONGJIANG_SCREENSHOT_DIR"
	defaultChromium      = "/usr/bin/chromium"
	browserStartLimit    = 45 * time.Second
	stepTimeout          = 20 * time.Second
	viewportW, viewportH = 1280, 900
)

// syncBuffer is a bytes.Buffer that several goroutines may write while a
// test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the end of s, at most n bytes, for failure messages.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// browserUnavailable skips t, or fails it when GONGJIANG_REQUIRE_BROWSER=1.
func browserUnavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(envRequireBrowser) == "1" {
		t.Fatalf("%s (%s=1: an unavailable browser is a failure)", msg, envRequireBrowser)
	}
	t.Skipf("%s (set %s=1 to fail instead of skipping)", msg, envRequireBrowser)
}

func chromiumPath() string {
	if p := os.Getenv(envChromium); p != "" {
		return p
	}
	return defaultChromium
}

// newBrowser starts headless Chromium with a fresh profile and returns a
// chromedp context that holds it. The browser stops at the end of t. When no
// browser can be started, t skips (or fails, see browserUnavailable).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath(chromiumPath())
	if err != nil {
		browserUnavailable(t, "no Chromium at %s: %v", chromiumPath(), err)
	}
	var output syncBuffer
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(&output),
	)
	// chromedp may report from its own goroutines; only pass that on to t
	// while the test runs.
	var live atomic.Bool
	live.Store(true)
	logf := func(format string, args ...any) {
		if live.Load() {
			t.Logf("chromedp: "+format, args...)
		}
	}
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc() // waits for the browser process to exit
		live.Store(false)
	})

	// The first run starts the browser and binds it to ctx, so it must not
	// carry a timeout; a watchdog bounds it instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			browserUnavailable(t, "cannot start %s: %v\nbrowser output:\n%s", path, err, tail(output.String(), 4000))
		}
	case <-time.After(browserStartLimit):
		cancel()
		browserUnavailable(t, "%s did not start within %v\nbrowser output:\n%s", path, browserStartLimit, tail(output.String(), 4000))
	}
	return ctx
}

// tab is one tab in its own browser context (own cookies), pointed at the
// application at base. It records what the page logs: uncaught exceptions,
// console errors and Content Security Policy violations fail the test.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string // fail the test
	notes    []string // shown when the test fails, e.g. 4xx responses
}

// newTab opens a tab in a new, empty browser context of browser.
func newTab(t *testing.T, browser context.Context, base string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, base: base}
	if err := chromedp.Do(ctx); err != nil { // creates the target; no timeout here
		t.Fatalf("open tab: %v", err)
	}
	if err := chromedp.Listen(ctx, tb.observe); err != nil {
		t.Fatalf("listen to tab: %v", err)
	}
	// Runs before cancel (cleanups run last-in first-out).
	t.Cleanup(tb.checkConsole)
	tb.do(chromedp.EmulateViewport(viewportW, viewportH))
	return tb
}

// observe runs in chromedp's read loop: it must return fast.
func (tb *tab) observe(ev any) {
	var problem, note string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		problem = "JavaScript exception: " + d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			problem += " " + d.Exception.Description
		}
		problem += fmt.Sprintf(" (%s:%d:%d)", d.URL, d.LineNumber+1, d.ColumnNumber+1)
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range ev.Args {
			switch {
			case a.Description != "":
				parts = append(parts, a.Description)
			case len(a.Value) > 0:
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			default:
				parts = append(parts, string(a.Type))
			}
		}
		text := fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(parts, " "))
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert || isCSP(text) {
			problem = text
		} else {
			note = text
		}
	case *log.EventEntryAdded:
		e := ev.Entry
		text := fmt.Sprintf("log %s/%s: %s %s", e.Source, e.Level, e.Text, e.URL)
		switch {
		case isCSP(e.Text) || e.Source == log.EntrySourceSecurity:
			problem = text
		case e.Level == log.EntryLevelError && e.Source != log.EntrySourceNetwork:
			problem = text
		default:
			// Network errors include the 4xx pages that tests provoke
			// on purpose (a wrong password answers 401).
			note = text
		}
	default:
		return
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if problem != "" {
		tb.problems = append(tb.problems, problem)
	}
	if note != "" {
		tb.notes = append(tb.notes, note)
	}
}

func isCSP(s string) bool {
	return strings.Contains(s, "Content Security Policy") || strings.Contains(s, "Content-Security-Policy")
}

// consoleProblems returns what the page reported that should fail a test.
func (tb *tab) consoleProblems() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.problems...)
}

// checkConsole fails the test on the problems the page reported so far.
func (tb *tab) checkConsole() {
	tb.t.Helper()
	tb.mu.Lock()
	problems, notes := append([]string(nil), tb.problems...), append([]string(nil), tb.notes...)
	tb.mu.Unlock()
	for _, p := range problems {
		tb.t.Errorf("browser console: %s", p)
	}
	if tb.t.Failed() {
		for _, n := range notes {
			tb.t.Logf("browser console (not an error by itself): %s", n)
		}
	}
}

// step returns a context for one browser step, bounded by stepTimeout.
func (tb *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(tb.ctx, stepTimeout)
}

// do runs actions in the tab and fails the test on an error.
func (tb *tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("browser: %v (page %s)", err, tb.location())
	}
}

// run runs one action that returns a value.
func run[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("browser: %v (page %s)", err, tb.location())
	}
	return v
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](tb *tab, expr string) T {
	tb.t.Helper()
	return run(tb, chromedp.Evaluate[T](expr))
}

// location is the page's URL, or "?" when it cannot be read.
func (tb *tab) location() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 2*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "?"
	}
	return loc
}

// path is the path and query of the page's URL, relative to the app.
func (tb *tab) path() string {
	tb.t.Helper()
	u, err := url.Parse(run(tb, chromedp.Location()))
	if err != nil {
		tb.t.Fatalf("page URL: %v", err)
	}
	return u.RequestURI()
}

// navigate loads path (relative to the app) and returns the response of
// the document; a status other than 200 fails the test.
func (tb *tab) navigate(path string) *network.Response {
	tb.t.Helper()
	resp := run(tb, chromedp.NavigateResponse(tb.base+path))
	if resp.Status != 200 {
		tb.t.Fatalf("GET %s: status %d, want 200", path, resp.Status)
	}
	return resp
}

// submit runs actions that load a new document (a click on a submit button
// or a link) and returns the document's response, after redirects.
func (tb *tab) submit(actions ...chromedp.Action[chromedp.Void]) *network.Response {
	tb.t.Helper()
	ctx, cancel := tb.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, actions...)
	if err != nil {
		tb.t.Fatalf("browser: %v (page %s)", err, tb.location())
	}
	return resp
}

// text is the visible text of the first element matching css.
func (tb *tab) text(css string) string {
	tb.t.Helper()
	return strings.TrimSpace(run(tb, chromedp.Text(chromedp.CSS(css))))
}

// poll waits until the JavaScript expression is truthy.
func (tb *tab) poll(expr string) {
	tb.t.Helper()
	run(tb, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(stepTimeout-time.Second)))
}

// screenshot saves a full-page PNG of the tab under t.TempDir() and, when
// GONGJIANG_SCREENSHOT_DIR is set, there too. It returns the first path.
func (tb *tab) screenshot(name string) string {
	tb.t.Helper()
	buf := run(tb, chromedp.FullScreenshot(100)) // 100: PNG
	cfg, err := png.DecodeConfig(bytes.NewReader(buf))
	if err != nil || cfg.Width == 0 || cfg.Height == 0 {
		tb.t.Fatalf("screenshot %s is not a usable PNG (%d bytes): %v", name, len(buf), err)
	}
	path := filepath.Join(tb.t.TempDir(), name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		tb.t.Fatal(err)
	}
	tb.t.Logf("screenshot %s: %dx%d, %d bytes", path, cfg.Width, cfg.Height, len(buf))
	if dir := os.Getenv(envScreenshotDir); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.t.Fatal(err)
		}
		extra := filepath.Join(dir, name)
		if err := os.WriteFile(extra, buf, 0o644); err != nil {
			tb.t.Fatal(err)
		}
		tb.t.Logf("screenshot copied to %s", extra)
	}
	return path
}

// cjkGlyphCheck draws a Chinese character and a code point no font has in
// the page's font and compares the pixels: when no CJK font is installed
// both come out as the same fallback box (or nothing). Canvas drawing runs
// through the DevTools protocol, outside the page's CSP.
const cjkGlyphCheck = `(() => {
  const font = getComputedStyle(document.body).font;
  const draw = (s) => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 64;
    const g = c.getContext('2d');
    g.font = font.replace(/\d+(\.\d+)?px/, '40px');
    g.fillStyle = '#000';
    g.fillText(s, 4, 48);
    return Array.from(g.getImageData(0, 0, 64, 64).data);
  };
  const cjk = draw('工'), missing = draw('\u{10FFFD}');
  const inked = cjk.some((v, i) => i % 4 === 3 && v > 0);
  const same = cjk.every((v, i) => v === missing[i]);
  return {inked, same, font};
})()`

type glyphCheck struct {
	Inked bool   `json:"inked"`
	Same  bool   `json:"same"`
	Font  string `json:"font"`
}

// takeProblems returns the problems recorded so far and forgets them, for
// tests that provoke problems on purpose.
func (tb *tab) takeProblems() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	p := tb.problems
	tb.problems = nil
	return p
}
