package e2e

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/school"
)

// Facts of the demo province (demo.Province, seed 1).
const (
	demoSchools   = 24 // the small demo: 4 cities (济南, 青岛, 潍坊, 威海)
	jinanCode     = "370100"
	jinanName     = "济南市"
	jinanSchool   = "3701001"
	defaultPage   = 50 // school.Service.List's page size when none is asked for
	wrongPassword = "not-the-demo-password"
)

func TestLoginEachRoleSeesRightSchools(t *testing.T) {
	browser := newBrowser(t)
	base := startApp(t)

	// Province: every school of the province.
	prov := newTab(t, browser, base)
	if who := prov.loginAs(demo.ProvinceUser); !containsAll(who, "省人社厅职业能力建设处", "省级管理员") {
		t.Errorf("province header shows %q", who)
	}
	prov.navigate("/schools")
	if n := prov.schoolCount(); n != demoSchools {
		t.Errorf("province sees %d schools, want %d", n, demoSchools)
	}
	if rows := prov.schoolRows(); len(rows) != min(defaultPage, demoSchools) {
		t.Errorf("province's first page has %d rows, want %d", len(rows), min(defaultPage, demoSchools))
	}
	prov.screenshot("schools-province.png")
	if g := eval[glyphCheck](prov, cjkGlyphCheck); !g.Inked || g.Same {
		t.Errorf("Chinese text does not render (font %q: inked=%v, same as a missing glyph=%v): "+
			"install a CJK font such as fonts-noto-cjk or fonts-wqy-microhei", g.Font, g.Inked, g.Same)
	}
	// What the city must see, as the province sees it filtered.
	prov.navigate("/schools?city_code=" + jinanCode + "&limit=" + strconv.Itoa(school.MaxPageSize))
	jinan := prov.schoolCount()
	if jinan <= 0 || jinan >= demoSchools {
		t.Fatalf("province sees %d schools in 济南, want some but not all", jinan)
	}
	prov.navigate("/schools/" + jinanSchool)
	schoolName := prov.text("h1")

	// City: only Jinan's schools. Ask for the largest page so every row shows.
	city := newTab(t, browser, base)
	if who := city.loginAs(demo.CityUser(jinanCode)); !containsAll(who, "济南市人社局", "市级管理员", jinanName) {
		t.Errorf("city header shows %q", who)
	}
	city.navigate("/schools")
	if n := city.schoolCount(); n != jinan {
		t.Errorf("city-%s sees %d schools, want %d (the province's count for 济南)", jinanCode, n, jinan)
	}
	if eval[bool](city, `document.querySelector('form.filters select[name=city_code]') !== null`) {
		t.Errorf("city user is offered a city filter")
	}
	city.navigate("/schools?limit=" + strconv.Itoa(school.MaxPageSize))
	rows := city.schoolRows()
	if len(rows) != jinan {
		t.Errorf("city-%s's list has %d rows, want %d", jinanCode, len(rows), jinan)
	}
	for _, r := range rows {
		if r[colCity] != jinanName {
			t.Errorf("city-%s sees school %s %s in city %q", jinanCode, r[colCode], r[colName], r[colCity])
		}
	}

	// School: its own school only.
	sch := newTab(t, browser, base)
	if who := sch.loginAs(demo.SchoolUser(jinanSchool)); !containsAll(who, schoolName, "学校管理员") {
		t.Errorf("school header shows %q, want the school %q", who, schoolName)
	}
	sch.navigate("/schools")
	if n := sch.schoolCount(); n != 1 {
		t.Errorf("school-%s sees %d schools, want 1", jinanSchool, n)
	}
	switch rows := sch.schoolRows(); {
	case len(rows) != 1:
		t.Errorf("school-%s's list has %d rows, want 1: %q", jinanSchool, len(rows), rows)
	case rows[0][colCode] != jinanSchool || !strings.HasPrefix(rows[0][colName], schoolName):
		t.Errorf("school-%s sees %q, want its own school %s %s", jinanSchool, rows[0], jinanSchool, schoolName)
	}

	// A wrong password: the login page again, with the error in Chinese.
	bad := newTab(t, browser, base)
	resp := bad.login(demo.ProvinceUser, wrongPassword)
	if resp.Status != 401 {
		t.Errorf("wrong password: status %d, want 401", resp.Status)
	}
	if msg := bad.text(selLoginError); msg != "用户名或密码错误" {
		t.Errorf("wrong password: login error %q, want 用户名或密码错误", msg)
	}
	if eval[bool](bad, `document.querySelector('`+selCurrentUser+`') !== null`) {
		t.Errorf("wrong password: the header shows a user")
	}
	if p := bad.path(); p != "/login" {
		t.Errorf("wrong password: on %s, want /login", p)
	}
}

func TestSchoolFilterWithHtmx(t *testing.T) {
	browser := newBrowser(t)
	tb := newTab(t, browser, startApp(t))
	tb.loginAs(demo.ProvinceUser)
	tb.navigate("/schools")
	tb.waitHtmxIdle()
	if n := tb.schoolCount(); n != demoSchools {
		t.Fatalf("before filtering: %d schools, want %d", n, demoSchools)
	}
	tb.markPage()

	// Type a search: the table is replaced by htmx, not by a page load.
	const query = "济南"
	tb.do(chromedp.SendKeys(chromedp.CSS(selSearch), query))
	tb.poll(`new URLSearchParams(location.search).get('q') === '` + query + `' && !document.querySelector('.htmx-request')`)
	searched := tb.schoolCount()
	if searched <= 0 || searched >= demoSchools {
		t.Errorf("search %q: %d schools, want some but not all %d", query, searched, demoSchools)
	}
	rows := tb.schoolRows()
	if len(rows) != min(searched, defaultPage) {
		t.Errorf("search %q: %d rows for a count of %d", query, len(rows), searched)
	}
	for _, r := range rows {
		if !strings.Contains(r[colName], query) && !strings.Contains(r[colCode], query) {
			t.Errorf("search %q shows %s %s", query, r[colCode], r[colName])
		}
	}
	if !tb.pageMarked() {
		t.Fatalf("search reloaded the page; want an htmx swap")
	}

	// Pick a type with the keyboard: End selects the last option, 技师学院.
	const typ = "技师学院"
	tb.do(chromedp.Focus(chromedp.CSS(selTypeFilter)), chromedp.KeyEvent(kb.End))
	tb.poll(`new URLSearchParams(location.search).get('type') === '` + typ + `' && !document.querySelector('.htmx-request')`)
	typed := tb.schoolCount()
	if typed <= 0 || typed >= searched {
		t.Errorf("search %q and type %s: %d schools, want fewer than %d but some", query, typ, typed, searched)
	}
	rows = tb.schoolRows()
	if len(rows) != min(typed, defaultPage) {
		t.Errorf("type %s: %d rows for a count of %d", typ, len(rows), typed)
	}
	for _, r := range rows {
		if r[colType] != typ || !strings.Contains(r[colName], query) {
			t.Errorf("search %q and type %s shows %q", query, typ, r)
		}
	}
	if !tb.pageMarked() {
		t.Fatalf("choosing a type reloaded the page; want an htmx swap")
	}
	if v := eval[string](tb, `document.querySelector('`+selSearch+`').value`); v != query {
		t.Errorf("search box holds %q after the swap, want %q", v, query)
	}
	if n := eval[int](tb, `document.querySelectorAll('[data-testid=school-table]').length`); n != 1 {
		t.Errorf("%d school tables on the page after the swaps, want 1", n)
	}
	for _, p := range tb.consoleProblems() {
		t.Errorf("browser console during filtering: %s", p)
	}

	// The URL htmx pushed loads the same result as a full page.
	pushed := tb.path()
	u, _ := url.Parse(pushed)
	if u.Query().Get("q") != query || u.Query().Get("type") != typ {
		t.Errorf("pushed URL %s lacks the filters", pushed)
	}
	tb.navigate(pushed)
	if n := tb.schoolCount(); n != typed {
		t.Errorf("full load of %s: %d schools, htmx showed %d", pushed, n, typed)
	}
}

func TestProvinceEditsSchool(t *testing.T) {
	const code = "3702001" // a school of 青岛
	browser := newBrowser(t)
	tb := newTab(t, browser, startApp(t))
	tb.loginAs(demo.ProvinceUser)

	tb.navigate("/schools/" + code)
	place := tb.field("所在地")
	if n := countRows(tb.history(), demo.ProvinceUser, "修改学校"); n != 0 {
		t.Fatalf("history already has %d 修改学校 entries", n)
	}
	editLink := chromedp.CSS(`a.button[href="/schools/` + code + `/edit"]`)
	save := chromedp.CSS(`form.form button[type=submit]`)
	address := chromedp.CSS(`form.form input[name=address]`)
	division := chromedp.CSS(`form.form input[name=division_code]`)

	// Change the address.
	const newAddress = "青岛市市南区香港中路 100 号（端到端测试）"
	if resp := tb.submit(chromedp.Click(editLink)); resp.Status != 200 {
		t.Fatalf("edit page: status %d", resp.Status)
	}
	tb.do(chromedp.Clear(address), chromedp.SendKeys(address, newAddress))
	if resp := tb.submit(chromedp.Click(save)); resp.Status != 200 {
		t.Fatalf("save: status %d", resp.Status)
	}
	if p := tb.path(); p != "/schools/"+code {
		t.Errorf("after saving: on %s, want /schools/%s", p, code)
	}
	if got := tb.field("地址"); got != newAddress {
		t.Errorf("address after saving: %q, want %q", got, newAddress)
	}
	if got := tb.field("最后更新"); !strings.Contains(got, "第 2 版") {
		t.Errorf("最后更新 %q, want version 2", got)
	}
	if n := countRows(tb.history(), demo.ProvinceUser, "修改学校"); n != 1 {
		t.Errorf("变更记录 has %d 修改学校 entries by %s, want 1: %q", n, demo.ProvinceUser, tb.history())
	}

	// An unknown division code is refused, the field marked, the error in Chinese.
	const badDivision = "999999"
	tb.submit(chromedp.Click(editLink))
	tb.do(chromedp.Clear(division), chromedp.SendKeys(division, badDivision))
	if resp := tb.submit(chromedp.Click(save)); resp.Status != 400 {
		t.Errorf("invalid division: status %d, want 400", resp.Status)
	}
	if msg := tb.text(selFormError); !containsAll(msg, badDivision, "行政区划代码", "不是现行的") {
		t.Errorf("invalid division: form error %q", msg)
	}
	invalid := eval[[]string](tb, `Array.from(document.querySelectorAll('form.form label.invalid'), l => (l.querySelector('input, select') || {}).name || '?')`)
	if len(invalid) != 1 || invalid[0] != "division_code" {
		t.Errorf("fields marked invalid: %q, want [division_code]", invalid)
	}
	if v := run(tb, chromedp.Value(division)); v != badDivision {
		t.Errorf("the form shows division %q after the refusal, want what was typed, %q", v, badDivision)
	}
	if v := run(tb, chromedp.Value(address)); v != newAddress {
		t.Errorf("the form shows address %q after the refusal, want %q", v, newAddress)
	}

	// Nothing was saved.
	tb.navigate("/schools/" + code)
	if got := tb.field("所在地"); got != place {
		t.Errorf("所在地 after the refused edit: %q, want %q", got, place)
	}
	if n := countRows(tb.history(), demo.ProvinceUser, "修改学校"); n != 1 {
		t.Errorf("变更记录 has %d 修改学校 entries after the refused edit, want 1", n)
	}
}

func TestAuditPageVerify(t *testing.T) {
	browser := newBrowser(t)
	tb := newTab(t, browser, startApp(t))
	if who := tb.loginAs(demo.AuditorUser); !strings.Contains(who, "审计员") {
		t.Errorf("auditor header shows %q", who)
	}
	tb.navigate("/audit")
	tb.waitHtmxIdle()
	if n := eval[int](tb, `document.querySelectorAll('[data-testid=audit-table] tbody tr').length`); n == 0 {
		t.Errorf("the audit table is empty")
	}
	tb.markPage()
	tb.do(
		chromedp.Click(chromedp.CSS(`form[action="/audit/verify"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(selVerify)),
	)
	msg := tb.text(selVerify)
	if !strings.HasPrefix(msg, "完整") {
		t.Errorf("verify result %q, want it to say 完整", msg)
	}
	if !tb.pageMarked() {
		t.Errorf("verifying reloaded the page; want an htmx swap")
	}
}
