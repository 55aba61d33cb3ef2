package e2e

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/idcard"
)

// Selectors of the student and change pages.
const (
	selRegistered    = `[data-testid=registered]`
	selIDNumber      = `[data-testid=id-number]`
	selStudentStatus = `[data-testid=student-status]`
	selChangeState   = `[data-testid=change-state]`
	selApprove       = `[data-testid=approve]`
	selQueryResult   = `[data-testid=query-result]`
	selQueryError    = `[data-testid=query-error]`
	selRegisterForm  = `form[action="/students"]`
)

// qingdaoSchool is a school of 青岛 (370200), another city than jinanSchool.
const qingdaoSchool = "3702001"

// shanghaiZone is China's time zone (no daylight saving), for "today".
var shanghaiZone = time.FixedZone("CST", 8*3600)

// person is a new student as typed into the registration form.
type person struct {
	name, idNumber, sex, birth, ethnicity, major, level, mode, enrolled string
}

// fillRegistration opens /students/new and fills the form with p. The
// major "" picks the first major the form offers; the chosen one is
// returned.
func (tb *tab) fillRegistration(p person) string {
	tb.t.Helper()
	tb.navigate("/students/new")
	in := func(name string) chromedp.CSS {
		return chromedp.CSS(selRegisterForm + ` [name=` + name + `]`)
	}
	if p.major == "" {
		p.major = eval[string](tb, `(document.querySelector('`+selRegisterForm+` select[name=major] option:not([value=""])') || {}).value || ''`)
		if p.major == "" {
			tb.t.Fatalf("the registration form offers no major")
		}
	}
	tb.do(
		chromedp.SendKeys(in("name"), p.name),
		chromedp.SendKeys(in("id_number"), p.idNumber),
		chromedp.SetValue(in("sex"), p.sex),
		chromedp.SetValue(in("birth_date"), p.birth),
		chromedp.SetValue(in("ethnicity"), p.ethnicity),
		chromedp.SetValue(in("major"), p.major),
		chromedp.SetValue(in("class_level"), p.level),
		chromedp.SetValue(in("study_mode"), p.mode),
		chromedp.SetValue(in("enrollment_date"), p.enrolled),
	)
	// A select given a value none of its options has shows nothing: check
	// that every choice took.
	for field, want := range map[string]string{"sex": p.sex, "birth_date": p.birth, "ethnicity": p.ethnicity, "major": p.major,
		"class_level": p.level, "study_mode": p.mode, "enrollment_date": p.enrolled} {
		if got := run(tb, chromedp.Value(in(field))); got != want {
			tb.t.Fatalf("registration form: %s is %q after choosing %q", field, got, want)
		}
	}
	return p.major
}

// submitRegistration clicks 注册 and returns the status of the page it leads to.
func (tb *tab) submitRegistration() int64 {
	tb.t.Helper()
	return tb.submit(chromedp.Click(chromedp.CSS(selRegisterForm + ` button[type=submit]`))).Status
}

// invalidFields lists the names of the form fields marked invalid.
func (tb *tab) invalidFields() []string {
	tb.t.Helper()
	return eval[[]string](tb, `Array.from(document.querySelectorAll('form.form label.invalid'), l => (l.querySelector('input, select') || {}).name || '?')`)
}

// tableRows reads the body rows of the table css, each as its cells' text.
func (tb *tab) tableRows(css string) [][]string {
	tb.t.Helper()
	return eval[[][]string](tb, `Array.from(document.querySelectorAll('`+css+` tbody tr'), tr => Array.from(tr.cells, td => td.textContent.trim()))`)
}

// studentID is the id in a /students/{id} path.
func studentID(t *testing.T, path string) string {
	t.Helper()
	m := regexp.MustCompile(`^/students/(\d+)(\?|$)`).FindStringSubmatch(path)
	if m == nil {
		t.Fatalf("on %s, want a student page /students/{id}", path)
	}
	return m[1]
}

// changeTypesOffered lists the 办理学籍异动 buttons of a student page.
func (tb *tab) changeTypesOffered() []string {
	tb.t.Helper()
	return eval[[]string](tb, `Array.from(document.querySelectorAll('p.actions-row a'), a => a.textContent.trim())`)
}

// checkTitlebar fails when the heading and the status tag of a page's
// title bar are not centred on the same line.
func (tb *tab) checkTitlebar(page string) {
	tb.t.Helper()
	off := eval[float64](tb, `(() => {
		const h = document.querySelector('.titlebar h1').getBoundingClientRect();
		const s = document.querySelector('.titlebar .tag').getBoundingClientRect();
		return Math.abs((h.top + h.bottom) / 2 - (s.top + s.bottom) / 2);
	})()`)
	if off > 2 {
		tb.t.Errorf("%s: the status tag sits %.1fpx off the heading's centre line", page, off)
	}
}

// wrongCheckDigit replaces the check character of a valid number.
func wrongCheckDigit(number string) string {
	if number[17] == '0' {
		return number[:17] + "1"
	}
	return number[:17] + "0"
}

// TestRegistrationDuplicateAndSuspension follows one new student: a school
// of 济南 registers them (after a refused check digit), a school of 青岛 may
// not register them again, their school asks for 休学, the city approves
// it, and the student finds the new status on the public query page.
func TestRegistrationDuplicateAndSuspension(t *testing.T) {
	browser := newBrowser(t)
	base := startApp(t)

	birth := time.Date(2009, 5, 17, 0, 0, 0, 0, time.UTC)
	number := idcard.Synthesize("370102", birth, 321, idcard.Male) // 370102: 济南市历下区
	if number == "" {
		t.Fatal("idcard.Synthesize gave no number")
	}
	const name = "欧阳明轩"
	p := person{name: name, idNumber: wrongCheckDigit(number), sex: "男", birth: birth.Format("2006-01-02"), ethnicity: "汉族",
		level: "中级工班", mode: "全日制", enrolled: "2025-09-01"}

	// 1. A wrong check digit: the form comes back, the field marked, the
	// error in Chinese, what was typed kept.
	sch := newTab(t, browser, base)
	sch.loginAs(demo.SchoolUser(jinanSchool))
	p.major = sch.fillRegistration(p)
	if status := sch.submitRegistration(); status != 400 {
		t.Errorf("wrong check digit: status %d, want 400", status)
	}
	if path := sch.path(); path != "/students" {
		t.Errorf("wrong check digit: on %s, want the form again at /students", path)
	}
	if msg := sch.text(selFormError); !containsAll(msg, "身份证号码有误", "第18位校验码应为"+number[17:]) {
		t.Errorf("wrong check digit: form error %q, want 身份证号码有误 naming the right check digit %s", msg, number[17:])
	}
	if f := sch.invalidFields(); len(f) != 1 || f[0] != "id_number" {
		t.Errorf("wrong check digit: fields marked invalid %q, want [id_number]", f)
	}
	form := func(field string) string {
		return run(sch, chromedp.Value(chromedp.CSS(selRegisterForm+` [name=`+field+`]`)))
	}
	for field, want := range map[string]string{"name": name, "id_number": p.idNumber, "school_code": jinanSchool, "major": p.major,
		"class_level": p.level, "birth_date": p.birth, "enrollment_date": p.enrolled} {
		if got := form(field); got != want {
			t.Errorf("wrong check digit: the form shows %s %q, want what was typed, %q", field, got, want)
		}
	}
	sch.screenshot("student-form-error.png")

	// 2. The right number: registered, with a 学籍号 of the school's
	// full-time registry and the number masked.
	idField := chromedp.CSS(selRegisterForm + ` input[name=id_number]`)
	sch.do(chromedp.Clear(idField), chromedp.SendKeys(idField, number))
	if status := sch.submitRegistration(); status != 200 {
		t.Fatalf("registration: status %d, want 200 (form error: %q)", status,
			eval[string](sch, `(document.querySelector('`+selFormError+`') || {}).textContent || ''`))
	}
	studentPath := "/students/" + studentID(t, sch.path())
	banner := sch.text(selRegistered)
	studentNo := regexp.MustCompile(`Q` + jinanSchool + `2025\d{5}`).FindString(banner)
	if studentNo == "" || !strings.Contains(banner, "注册成功") {
		t.Fatalf("registered banner %q, want 注册成功 and a 学籍号 Q%s2025nnnnn", banner, jinanSchool)
	}
	if h := sch.text("h1"); !containsAll(h, name, studentNo) {
		t.Errorf("student page heading %q, want %s %s", h, name, studentNo)
	}
	if s := sch.text(selStudentStatus); s != "在籍" {
		t.Errorf("new student's status %q, want 在籍", s)
	}
	schoolField := sch.field("学校")
	schoolName, _, _ := strings.Cut(schoolField, "（")
	if schoolName == "" || !strings.HasSuffix(schoolField, "（"+jinanSchool+"）") {
		t.Fatalf("学校 %q, want the name and (%s)", schoolField, jinanSchool)
	}
	for label, want := range map[string]string{"专业": p.major, "学习形式": p.mode, "性别 / 出生日期 / 民族": "男 / 2009-05-17 / 汉族"} {
		if got := sch.field(label); got != want {
			t.Errorf("student page %s: %q, want %q", label, got, want)
		}
	}
	if got := sch.field("培养层次 / 入学起点"); !strings.HasPrefix(got, p.level+" / ") {
		t.Errorf("student page 培养层次 / 入学起点: %q, want %s first", got, p.level)
	}
	masked := number[:4] + strings.Repeat("*", 10) + number[14:]
	if got := eval[string](sch, `document.querySelector('`+selIDNumber+`').firstChild.textContent.trim()`); got != masked {
		t.Errorf("id number shown as %q, want masked %q", got, masked)
	}
	if eval[bool](sch, `document.documentElement.outerHTML.includes('`+number+`')`) {
		t.Errorf("the student page holds the full number before it is revealed")
	}
	if offered := sch.changeTypesOffered(); !slices.Contains(offered, "休学") || slices.Contains(offered, "复学") {
		t.Errorf("an enrolled student is offered the changes %q, want 休学 and not 复学", offered)
	}
	sch.checkTitlebar("student page")

	// Reveal: htmx swaps the number in, no page load.
	sch.waitHtmxIdle()
	sch.markPage()
	sch.do(chromedp.Click(chromedp.CSS(selIDNumber + ` button`)))
	sch.poll(`document.querySelector('` + selIDNumber + `').textContent.trim() === '` + number + `'`)
	if !sch.pageMarked() {
		t.Errorf("revealing the number reloaded the page; want an htmx swap")
	}
	if n := eval[int](sch, `document.querySelectorAll('`+selIDNumber+`').length`); n != 1 {
		t.Errorf("%d id-number elements after the reveal, want 1", n)
	}
	if eval[bool](sch, `document.querySelector('`+selIDNumber+` button') !== null`) {
		t.Errorf("the reveal button is still there after the reveal")
	}
	sch.screenshot("student-registered.png")

	// 3. A school of 青岛 registers the same person: refused, naming the
	// school of 济南 where they are enrolled.
	qd := newTab(t, browser, base)
	qd.loginAs(demo.SchoolUser(qingdaoSchool))
	dup := p
	dup.idNumber = number
	qd.fillRegistration(dup)
	if status := qd.submitRegistration(); status != 409 {
		t.Errorf("duplicate registration: status %d, want 409", status)
	}
	if msg := qd.text(selFormError); !containsAll(msg, "此人已在「"+schoolName+"」有在籍学籍", "不能重复注册") {
		t.Errorf("duplicate registration: form error %q, want it to name %s and say 有在籍学籍", msg, schoolName)
	}
	if f := qd.invalidFields(); len(f) != 1 || f[0] != "id_number" {
		t.Errorf("duplicate registration: fields marked invalid %q, want [id_number]", f)
	}
	if got := run(qd, chromedp.Value(chromedp.CSS(selRegisterForm+` input[name=school_code]`))); got != qingdaoSchool {
		t.Errorf("duplicate registration: school code %q, want %s", got, qingdaoSchool)
	}
	qd.navigate("/students?q=" + name)
	if n := qd.text(`[data-testid=student-count]`); n != "0" {
		t.Errorf("school-%s lists %s students named %s, want 0", qingdaoSchool, n, name)
	}

	// 4. The school asks for 休学: pending, the student still 在籍.
	sch.navigate(studentPath)
	suspend := chromedp.Search(`//p[contains(@class,"actions-row")]/a[normalize-space()="休学"]`)
	if resp := sch.submit(chromedp.Click(suspend)); resp.Status != 200 {
		t.Fatalf("休学 form: status %d", resp.Status)
	}
	if h := sch.text("h1"); h != "学籍异动申请：休学" {
		t.Errorf("change form heading %q, want 学籍异动申请：休学", h)
	}
	today := time.Now().In(shanghaiZone).Format("2006-01-02")
	const reason = "因病需要治疗，家长申请休学一年"
	changeForm := `form[action="` + studentPath + `/changes"]`
	sch.do(
		chromedp.SendKeys(chromedp.CSS(changeForm+` input[name=reason]`), reason),
		chromedp.SetValue(chromedp.CSS(changeForm+` input[name=effective_date]`), today),
	)
	if resp := sch.submit(chromedp.Click(chromedp.CSS(changeForm + ` button[type=submit]`))); resp.Status != 200 {
		t.Fatalf("submitting 休学: status %d (form error %q)", resp.Status,
			eval[string](sch, `(document.querySelector('`+selFormError+`') || {}).textContent || ''`))
	}
	changePath := sch.path()
	if !regexp.MustCompile(`^/changes/\d+$`).MatchString(changePath) {
		t.Fatalf("after submitting 休学: on %s, want /changes/{id}", changePath)
	}
	if s := sch.text(selChangeState); s != "待审核" {
		t.Errorf("new request's state %q, want 待审核", s)
	}
	if h := sch.text("h1"); !strings.HasSuffix(h, "：休学") {
		t.Errorf("change page heading %q", h)
	}
	for label, want := range map[string]string{"原因": reason, "生效日期": today, "学生": name + "（" + studentNo + "）", "已审核": "无",
		"需要审核": "市级（" + jinanName + "）"} {
		if got := sch.field(label); got != want {
			t.Errorf("change page %s: %q, want %q", label, got, want)
		}
	}
	if eval[bool](sch, `document.querySelector('`+selApprove+`') !== null`) {
		t.Errorf("the proposing school is offered to approve its own request")
	}
	sch.checkTitlebar("change page")
	sch.screenshot("change-pending.png")
	sch.navigate(studentPath)
	if s := sch.text(selStudentStatus); s != "在籍" {
		t.Errorf("status while 休学 is pending: %q, want 在籍", s)
	}

	// 5. The city approves: applied at once (effective today), the student 休学.
	city := newTab(t, browser, base)
	city.loginAs(demo.CityUser(jinanCode))
	city.navigate("/changes")
	link := chromedp.CSS(`[data-testid=change-table] a[href="` + changePath + `"]`)
	var listed []string
	for _, r := range city.tableRows(`[data-testid=change-table]`) {
		if len(r) == 8 && "/changes/"+strings.TrimPrefix(r[0], "#") == changePath {
			listed = r
		}
	}
	if listed == nil {
		t.Fatalf("city-%s's /changes does not list %s", jinanCode, changePath)
	}
	if listed[1] != name+"（"+studentNo+"）" || listed[2] != "休学" || listed[3] != schoolName || listed[5] != "待审核" || listed[6] != "市级（"+jinanName+"）" || listed[7] != demo.SchoolUser(jinanSchool) {
		t.Errorf("the city's list shows the request as %q", listed)
	}
	if resp := city.submit(chromedp.Click(link)); resp.Status != 200 {
		t.Fatalf("open %s: status %d", changePath, resp.Status)
	}
	if s := city.text(selChangeState); s != "待审核" {
		t.Errorf("the city sees state %q, want 待审核", s)
	}
	const note = "材料齐全，同意休学"
	city.do(chromedp.SendKeys(chromedp.CSS(`form[action="`+changePath+`/approve"] input[name=note]`), note))
	if resp := city.submit(chromedp.Click(chromedp.CSS(selApprove))); resp.Status != 200 {
		t.Fatalf("approve: status %d (error %q)", resp.Status,
			eval[string](city, `(document.querySelector('[data-testid=action-error]') || {}).textContent || ''`))
	}
	if path := city.path(); path != changePath {
		t.Errorf("after approving: on %s, want %s", path, changePath)
	}
	if s := city.text(selChangeState); s != "已生效" {
		t.Errorf("state after approval %q, want 已生效", s)
	}
	if got := city.field("已审核"); !strings.HasPrefix(got, "市级（"+jinanName+"）：") || !containsAll(got, demo.CityUser(jinanCode), note) {
		t.Errorf("已审核 %q, want 市级（%s）：%s and the note %q", got, jinanName, demo.CityUser(jinanCode), note)
	}
	if eval[bool](city, `document.querySelector('`+selApprove+`') !== null`) {
		t.Errorf("the approve button is still offered after approval")
	}
	city.screenshot("change-applied.png")

	city.navigate(studentPath)
	if s := city.text(selStudentStatus); s != "休学" {
		t.Errorf("status after approval %q, want 休学", s)
	}
	hist := city.tableRows(`[data-testid=change-history]`)
	found := false
	for _, r := range hist {
		if len(r) == 6 && "/changes/"+strings.TrimPrefix(r[0], "#") == changePath {
			found = true
			if r[1] != "休学" || r[2] != today || r[3] != "已生效" || r[4] != demo.SchoolUser(jinanSchool) {
				t.Errorf("异动记录 shows the request as %q", r)
			}
		}
	}
	if !found {
		t.Errorf("异动记录 does not list %s: %q", changePath, hist)
	}
	// The city may not see the full number.
	if eval[bool](city, `document.querySelector('`+selIDNumber+` button') !== null`) {
		t.Errorf("the city is offered to reveal the number")
	}
	sch.navigate(studentPath)
	if s := sch.text(selStudentStatus); s != "休学" {
		t.Errorf("the school sees status %q after approval, want 休学", s)
	}
	if offered := sch.changeTypesOffered(); !slices.Contains(offered, "复学") || slices.Contains(offered, "休学") {
		t.Errorf("a suspended student is offered the changes %q, want 复学 and not 休学", offered)
	}
	sch.screenshot("student-suspended.png")

	// 6. The public query: no login.
	pub := newTab(t, browser, base)
	ask := func(asName string) int64 {
		pub.navigate("/query")
		pub.do(
			chromedp.SendKeys(chromedp.CSS(`form[action="/query"] input[name=name]`), asName),
			chromedp.SendKeys(chromedp.CSS(`form[action="/query"] input[name=id_number]`), number),
		)
		return pub.submit(chromedp.Click(chromedp.CSS(`form[action="/query"] button[type=submit]`))).Status
	}
	if status := ask(name); status != 200 {
		t.Errorf("query: status %d, want 200", status)
	}
	rows := pub.tableRows(selQueryResult)
	if len(rows) != 1 || len(rows[0]) != 5 {
		t.Fatalf("query result %q, want one row of 5 cells", rows)
	}
	if want := []string{schoolName, p.major, p.level, p.mode, "休学"}; !slices.Equal(rows[0], want) {
		t.Errorf("query result %q, want %q", rows[0], want)
	}
	if eval[bool](pub, `document.documentElement.outerHTML.includes('`+number+`')`) {
		t.Errorf("the query result page echoes the full number")
	}
	pub.screenshot("query-result.png")

	if status := ask(name[:len(name)-len("轩")] + "宇"); status != 404 {
		t.Errorf("query with a wrong name: status %d, want 404", status)
	}
	if msg := pub.text(selQueryError); msg != "没有查到与该姓名和证件号码相符的学籍" {
		t.Errorf("query with a wrong name: error %q", msg)
	}
	if eval[bool](pub, `document.querySelector('`+selQueryResult+`') !== null`) {
		t.Errorf("query with a wrong name shows a result")
	}
}
