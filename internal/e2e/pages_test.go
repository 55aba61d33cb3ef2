package e2e

import (
	"strconv"
	"strings"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/gongjiang/gongjiang/internal/demo"
)

// Selectors of the pages under test.
const (
	selCurrentUser = `[data-testid=current-user]`
	selSchoolCount = `[data-testid=school-count]`
	selLoginError  = `[data-testid=login-error]`
	selFormError   = `[data-testid=form-error]`
	selVerify      = `[data-testid=verify-result]`
	selSearch      = `form.filters input[name=q]`
	selTypeFilter  = `form.filters select[name=type]`
)

// login submits the login form and returns the response it leads to.
func (tb *tab) login(user, password string) *network.Response {
	tb.t.Helper()
	tb.navigate("/login")
	tb.do(
		chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name=password]`), password),
	)
	return tb.submit(chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
}

// loginAs logs in with the demo password and returns the header's user text.
func (tb *tab) loginAs(user string) string {
	tb.t.Helper()
	resp := tb.login(user, demo.Password)
	if resp.Status != 200 {
		tb.t.Fatalf("login as %s: status %d at %s", user, resp.Status, resp.URL)
	}
	if p := tb.path(); p != "/" {
		tb.t.Fatalf("login as %s landed on %s, want /", user, p)
	}
	return tb.text(selCurrentUser)
}

// schoolCount reads the total the school list shows.
func (tb *tab) schoolCount() int {
	tb.t.Helper()
	s := tb.text(selSchoolCount)
	n, err := strconv.Atoi(s)
	if err != nil {
		tb.t.Fatalf("school count %q is not a number", s)
	}
	return n
}

// Columns of the school table.
const (
	colCode = iota
	colName
	colType
	colOwnership
	colCity
	colDivision
	colStatus
	numCols
)

// schoolRows reads the rows of the school table (without the "no schools"
// placeholder row), each as its cells' text.
func (tb *tab) schoolRows() [][]string {
	tb.t.Helper()
	rows := eval[[][]string](tb, `Array.from(document.querySelectorAll('[data-testid=school-table] tbody tr'))
		.filter(tr => tr.cells.length === `+strconv.Itoa(numCols)+`)
		.map(tr => Array.from(tr.cells, td => td.textContent.trim()))`)
	return rows
}

// field reads the value (dd) of a labelled field (dt) of a school page.
func (tb *tab) field(label string) string {
	tb.t.Helper()
	return eval[string](tb, `(() => {
		const dt = Array.from(document.querySelectorAll('dl.fields dt')).find(e => e.textContent.trim() === `+strconv.Quote(label)+`);
		return dt ? dt.nextElementSibling.textContent.trim() : '(no field)';
	})()`)
}

// history reads the 变更记录 table of a school page as [time, actor, action] rows.
func (tb *tab) history() [][]string {
	tb.t.Helper()
	return eval[[][]string](tb, `(() => {
		const h = Array.from(document.querySelectorAll('h2')).find(e => e.textContent.trim() === '变更记录');
		if (!h) return [];
		const table = h.nextElementSibling;
		return Array.from(table.querySelectorAll('tbody tr'), tr => Array.from(tr.cells, td => td.textContent.trim()));
	})()`)
}

// countRows counts the history rows by actor and action.
func countRows(rows [][]string, actor, action string) int {
	n := 0
	for _, r := range rows {
		if len(r) == 3 && r[1] == actor && r[2] == action {
			n++
		}
	}
	return n
}

// markPage tags the current document; pageMarked says whether the tag is
// still there, i.e. no full navigation happened since.
func (tb *tab) markPage() {
	tb.t.Helper()
	eval[chromedp.Void](tb, `window.__gongjiangE2E = true`)
}

func (tb *tab) pageMarked() bool {
	tb.t.Helper()
	return eval[bool](tb, `window.__gongjiangE2E === true`)
}

// waitHtmxIdle waits until htmx has loaded and no htmx request is in flight.
func (tb *tab) waitHtmxIdle() {
	tb.t.Helper()
	tb.poll(`typeof htmx !== 'undefined' && document.readyState === 'complete' && !document.querySelector('.htmx-request')`)
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
