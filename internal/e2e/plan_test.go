package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/gongjiang/gongjiang/internal/demo"
)

// canvasInked counts the drawn charts of a page whose canvas has
// pixels that are not transparent: an empty or failed chart has none.
const canvasInked = `Array.from(document.querySelectorAll('[data-testid=trend-chart] canvas')).filter(c => {
  const g = c.getContext('2d');
  if (!g || !c.width || !c.height) return false;
  const px = g.getImageData(0, 0, c.width, c.height).data;
  let inked = 0;
  for (let i = 3; i < px.length; i += 4) { if (px[i] > 0) inked++; }
  return inked > 500;
}).length`

// statuses reads the dashboard's indicator codes and statuses.
func (tb *tab) statuses() map[string]string {
	tb.t.Helper()
	return eval[map[string]string](tb, `Object.fromEntries(Array.from(document.querySelectorAll('[data-testid=indicator-row]'),
		tr => [tr.dataset.code, tr.querySelector('[data-testid=indicator-status]').textContent.trim()]))`)
}

// The province opens the Shandong plan's dashboard for 2020 and 2025,
// sees statuses and trend charts with ink on them, changes the year with
// htmx, drills into an indicator, reports a value for a reported
// indicator and sees it on the dashboard; Jinan's bureau sees only Jinan;
// a school sees its own figures and the auditor the province's, neither
// able to report.
func TestPlanDashboard(t *testing.T) {
	browser := newBrowser(t)
	base := startApp(t)
	prov := newTab(t, browser, base)
	prov.loginAs(demo.ProvinceUser)

	prov.navigate("/plans")
	if n := eval[int](prov, `document.querySelectorAll('[data-testid=plan-row]').length`); n < 4 {
		t.Fatalf("the plan list shows %d plans, want the 4 built-in ones", n)
	}
	prov.submit(chromedp.Click(chromedp.CSS(`[data-testid=plan-row][data-id="sd-jg-14-5"] a`)))
	prov.waitHtmxIdle()
	if p := prov.path(); !strings.HasPrefix(p, "/plans/sd-jg-14-5") {
		t.Fatalf("the plan link led to %s", p)
	}

	prov.navigate("/plans/sd-jg-14-5?year=2020")
	prov.waitHtmxIdle()
	if y := prov.text(`[data-testid=plan-year]`); y != "2020" {
		t.Fatalf("year shown %q, want 2020", y)
	}
	st2020 := prov.statuses()
	if len(st2020) < 20 || st2020["senior_share"] == "" || st2020["employment_rate"] != "无数据" {
		t.Fatalf("2020 statuses: %v", st2020)
	}
	prov.poll(canvasInked + ` >= 5`)
	// Hovering a chart shows its tooltip without breaking the CSP (the
	// console watch fails the test on a violation).
	prov.do(chromedp.ScrollIntoView(chromedp.CSS(`[data-testid=trend-chart]`)))
	at := eval[[]float64](prov, `(() => { const r = document.querySelector('[data-testid=trend-chart]').getBoundingClientRect();
		return [r.left + r.width * 0.6, r.top + r.height * 0.6]; })()`)
	prov.do(chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, at[0], at[1]))
	prov.screenshot("plan-dashboard-2020.png")

	// 2025 by the year selector: htmx swaps the dashboard, the charts are
	// drawn again.
	prov.markPage()
	prov.do(chromedp.SetValue(chromedp.CSS(`[data-testid=plan-year-select]`), "2025"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('[data-testid=plan-year-select]').dispatchEvent(new Event('change', {bubbles: true}))`))
	prov.poll(`(document.querySelector('[data-testid=plan-year]') || {}).textContent === '2025' && !document.querySelector('.htmx-request')`)
	if !prov.pageMarked() {
		t.Errorf("changing the year reloaded the page; want an htmx swap")
	}
	if q := prov.path(); !strings.Contains(q, "year=2025") {
		t.Errorf("pushed URL %s lacks the year", q)
	}
	prov.poll(canvasInked + ` >= 5`)
	st2025 := prov.statuses()
	judged := 0
	for _, s := range st2025 {
		if s == "达标" || s == "按进度" || s == "滞后" {
			judged++
		}
	}
	if judged < 5 {
		t.Errorf("2025: only %d indicators judged: %v", judged, st2025)
	}
	prov.screenshot("plan-dashboard-2025.png")

	// Drill down into the senior share: its trend, the cities and the
	// schools, each with a link to the records.
	prov.submit(chromedp.Click(chromedp.CSS(`[data-testid=indicator-row][data-code=senior_share] a[data-testid=indicator-link]`)))
	prov.waitHtmxIdle()
	if !strings.HasPrefix(prov.path(), "/plans/sd-jg-14-5/indicators/senior_share") {
		t.Fatalf("drill-down at %s", prov.path())
	}
	prov.poll(canvasInked + ` >= 1`)
	if n := eval[int](prov, `document.querySelectorAll('[data-testid=region-table] tbody tr').length`); n != 4 {
		t.Errorf("%d cities in the breakdown, want the small demo's 4", n)
	}
	prov.poll(`Array.from(document.querySelectorAll('[data-testid=region-chart] canvas')).length > 0`)
	if n := eval[int](prov, `document.querySelectorAll('[data-testid=school-breakdown] [data-testid=records-link]').length`); n == 0 {
		t.Errorf("no links to the records behind the schools' figures")
	}
	if c := prov.text(`[data-testid=computation]`); !strings.Contains(c, "分子") {
		t.Errorf("computation shown: %q", c)
	}
	prov.screenshot("plan-indicator.png")

	// Report this year's employment rate; the dashboard shows it, pending.
	prov.navigate("/plans/sd-jg-14-5/report")
	prov.do(chromedp.SetValue(chromedp.CSS(`[data-testid=report-indicator]`), "employment_rate"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=report-year]`), "2024"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=report-scope]`), "370000"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=report-value]`), "９７．６％"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=report-evidence]`), "2024年全省技工院校毕业生就业统计表"))
	if resp := prov.submit(chromedp.Click(chromedp.CSS(`[data-testid=report-submit]`))); resp.Status != 200 {
		t.Fatalf("report: status %d", resp.Status)
	}
	if d := prov.text(`[data-testid=report-done]`); !strings.Contains(d, "已提交填报") {
		t.Errorf("after reporting: %q", d)
	}
	if v := prov.text(`[data-testid=report-table] tbody tr [data-testid=report-value-cell]`); !strings.HasPrefix(v, "97.6%") {
		t.Errorf("the report list shows %q", v)
	}
	prov.navigate("/plans/sd-jg-14-5?year=2024")
	v := eval[string](prov, `document.querySelector('[data-testid=indicator-row][data-code=employment_rate] [data-testid=indicator-value]').textContent`)
	if !strings.Contains(v, "97.6%") || !strings.Contains(v, "待审核") {
		t.Errorf("the dashboard shows the employment rate as %q", v)
	}
	if s := prov.statuses()["employment_rate"]; s != "达标" {
		t.Errorf("employment rate 97.6%% against > 97%%: %s", s)
	}

	// Jinan's bureau sees Jinan, with no choice of scope.
	city := newTab(t, browser, base)
	city.loginAs(demo.CityUser("370100"))
	city.navigate("/plans/sd-jg-14-5")
	city.waitHtmxIdle()
	if s := city.text(`[data-testid=plan-scope]`); s != "济南市" {
		t.Errorf("the city sees scope %q", s)
	}
	if eval[bool](city, `document.querySelector('[data-testid=plan-scope-select]') !== null`) {
		t.Errorf("the city is offered other scopes")
	}
	city.poll(canvasInked + ` >= 3`)
	city.screenshot("plan-dashboard-city.png")
	resp := run(city, chromedp.NavigateResponse(base+"/plans/sd-jg-14-5/indicators/senior_share?scope=370200"))
	if resp.Status != 403 || !strings.Contains(city.text(`main`), "无权") {
		t.Errorf("the city asked for Qingdao's figures: status %d, %q", resp.Status, city.text(`main`))
	}

	// A school sees its own figures, charted, and cannot report; the
	// auditor reads the province's dashboard and cannot report either.
	school := newTab(t, browser, base)
	school.loginAs(demo.SchoolUser("3701001"))
	school.navigate("/plans/sd-jg-14-5?year=2024")
	school.waitHtmxIdle()
	if s := school.text(`[data-testid=plan-scope]`); !strings.Contains(s, "3701001") && !strings.Contains(s, "济南") {
		t.Errorf("the school sees scope %q", s)
	}
	if st := school.statuses(); st["senior_share"] == "" {
		t.Errorf("the school's dashboard has no senior share: %v", st)
	}
	school.poll(canvasInked + ` >= 1`)
	if resp := run(school, chromedp.NavigateResponse(base+"/plans/sd-jg-14-5/report")); resp.Status != 403 {
		t.Errorf("a school opened the report form: %d", resp.Status)
	}
	auditor := newTab(t, browser, base)
	auditor.loginAs(demo.AuditorUser)
	auditor.navigate("/plans/sd-jg-14-5?year=2020")
	auditor.waitHtmxIdle()
	if st := auditor.statuses(); st["technician_colleges"] == "" {
		t.Errorf("the auditor's dashboard: %v", st)
	}
	auditor.poll(canvasInked + ` >= 5`)
	for _, tb := range []*tab{prov, city, school, auditor} {
		tb.checkConsole()
	}
}
