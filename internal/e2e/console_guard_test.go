package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleGuardCatchesProblems makes sure the console watch of newTab,
// which the other tests rely on, does see CSP violations, uncaught
// exceptions and console errors in a page the application serves.
func TestConsoleGuardCatchesProblems(t *testing.T) {
	browser := newBrowser(t)
	tb := newTab(t, browser, startApp(t))
	tb.navigate("/login")
	eval[chromedp.Void](tb, `document.head.insertAdjacentHTML('beforeend', '<style>body { color: red }</style>')`)
	eval[chromedp.Void](tb, `setTimeout(() => { throw new Error('e2e-boom') }, 0)`)
	eval[chromedp.Void](tb, `console.error('e2e-console-error')`)

	want := map[string]string{
		"CSP violation": "Content Security Policy",
		"exception":     "e2e-boom",
		"console.error": "e2e-console-error",
	}
	var got []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		got = tb.consoleProblems()
		seen := 0
		for _, sub := range want {
			if anyContains(got, sub) {
				seen++
			}
		}
		if seen == len(want) || time.Now().After(deadline) {
			break
		}
	}
	tb.takeProblems() // provoked on purpose: not failures of this test
	for what, sub := range want {
		if !anyContains(got, sub) {
			t.Errorf("the console watch missed the %s (%q); it saw %q", what, sub, got)
		}
	}
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
