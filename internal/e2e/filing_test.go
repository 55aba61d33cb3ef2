package e2e

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
)

// TestPlanFromSubmissionToPublicPage walks one enrollment plan through the
// review in a browser: the school edits the plan the city sent back and
// submits it, the city approves, the province approves and publishes, and
// the public portal shows it.
func TestPlanFromSubmissionToPublicPage(t *testing.T) {
	browser := newBrowser(t)
	base, dbPath := startAppWithDB(t)
	db, err := store.Open(t.Context(), dbPath, storetest.Signer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	returned, _, err := db.ListFilings(t.Context(), school.FilingFilter{Scope: auth.Scope{Kind: auth.ScopeAll}, Kind: school.KindPlan,
		State: school.FilingReturned, Limit: 1})
	if err != nil || len(returned) == 0 {
		t.Fatalf("the demo has no returned plan: %v", err)
	}
	f := returned[0]
	page := "/filings/" + strconv.FormatInt(f.ID, 10)
	act := func(tb *tab, action, note string) {
		t.Helper()
		tb.navigate(page)
		if note != "" {
			tb.do(chromedp.SendKeys(chromedp.CSS(`[data-testid=filing-actions] textarea[name=note]`), note))
		}
		if resp := tb.submit(chromedp.Click(chromedp.CSS(`[data-testid=act-` + action + `]`))); resp.Status != 200 {
			t.Fatalf("%s: status %d", action, resp.Status)
		}
		if d := tb.text(`[data-testid=filing-done]`); !strings.Contains(d, school.ActionName(action)) {
			t.Errorf("after %s: notice %q", action, d)
		}
	}

	// The school changes the first line's intake and submits again.
	sch := newTab(t, browser, base)
	sch.loginAs(demo.SchoolUser(f.SchoolCode))
	sch.navigate(page)
	if s := sch.text(`[data-testid=filing-state]`); s != school.FilingStateName(school.FilingReturned) {
		t.Fatalf("the plan's state: %q", s)
	}
	sch.navigate(page + "/edit")
	first := `input[name="intake.0"]`
	sch.do(chromedp.SetValue(chromedp.CSS(first), "123"))
	if resp := sch.submit(chromedp.Click(chromedp.CSS(`form.form button[type=submit]`))); resp.Status != 200 || sch.path() != page {
		t.Fatalf("save: status %d, on %s: %s", resp.Status, sch.path(), sch.text(`main`))
	}
	act(sch, school.ActSubmit, "")
	if s := sch.text(`[data-testid=filing-state]`); s != school.FilingStateName(school.FilingSubmitted) {
		t.Errorf("after submitting: %q", s)
	}
	// Submitted, it is locked: no edit link any more.
	if eval[bool](sch, `document.querySelector('[data-testid=filing-edit]') !== null`) {
		t.Errorf("a submitted plan still offers editing")
	}

	// The city approves; the province approves and publishes.
	city := newTab(t, browser, base)
	city.loginAs(demo.CityUser(f.CityCode))
	act(city, school.ActCityApprove, "材料齐全")
	prov := newTab(t, browser, base)
	prov.loginAs(demo.ProvinceUser)
	act(prov, school.ActApprove, "")
	act(prov, school.ActPublish, "")
	history := prov.text(`[data-testid=filing-history]`)
	for _, want := range []string{demo.SchoolUser(f.SchoolCode), demo.CityUser(f.CityCode), demo.ProvinceUser, "材料齐全", "公示"} {
		if !strings.Contains(history, want) {
			t.Errorf("the history lacks %q:\n%s", want, history)
		}
	}

	// The public sees it, with the school's new total.
	stored, err := db.FindFiling(t.Context(), auth.Scope{Kind: auth.ScopeAll}, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Lines[0].Intake != 123 || stored.State != school.FilingPublished {
		t.Fatalf("stored: state %s, first line %+v", stored.State, stored.Lines[0])
	}
	pub := newTab(t, browser, base)
	pub.navigate("/public/qualifications?q=" + url.QueryEscape(f.SchoolName))
	if list := pub.text(`main`); !strings.Contains(list, f.SchoolName) || !strings.Contains(list, strconv.Itoa(stored.Intake())) {
		t.Errorf("the portal listing lacks %s with %d:\n%s", f.SchoolName, stored.Intake(), list)
	}
	pub.navigate("/public/qualifications/" + f.SchoolCode)
	if body := pub.text(`main`); !strings.Contains(body, f.SchoolName) || !strings.Contains(body, stored.Lines[0].Major) ||
		!strings.Contains(body, "123") || !strings.Contains(body, strconv.Itoa(stored.Intake())) {
		t.Errorf("the school's public page:\n%s", body)
	}
	pub.screenshot("portal-school.png")
}
