package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gongjiang/gongjiang/internal/demo"
)

// browserRows is big enough that both phases take a few polls of the job
// block (every half second), so the progress shows.
const browserRows = 40_000

// TestImportInTheBrowser uploads a sheet on the import page as a school,
// watches the dry run's progress and summary, confirms, and watches the
// commit's progress bar move to the result.
func TestImportInTheBrowser(t *testing.T) {
	browser := newBrowser(t)
	base := startApp(t)
	sheet := filepath.Join(t.TempDir(), "新生名单.csv")
	writeSheet(t, sheet, "3701001", browserRows, 2009)

	tb := newTab(t, browser, base)
	tb.loginAs(demo.SchoolUser("3701001"))
	tb.navigate("/imports")
	tb.do(chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=import-file]`), []string{sheet}))
	if resp := tb.submit(chromedp.Click(chromedp.CSS(`[data-testid=import-submit]`))); resp.Status != 200 || !strings.HasPrefix(tb.path(), "/imports/") {
		t.Fatalf("upload: status %d, on %s: %s", resp.Status, tb.path(), tb.text("main"))
	}
	// watch polls the job block until it reaches state, recording the
	// largest row count the progress line showed and the bar's value.
	watch := func(state string) (rows int, percent float64, sawBar bool) {
		t.Helper()
		for range 1200 { // 10 minutes at most
			s := eval[string](tb, `(() => {
				const job = document.querySelector('[data-testid=import-job]');
				const rows = document.querySelector('[data-testid=import-rows]');
				const bar = document.querySelector('[data-testid=import-progress]');
				return [job ? job.dataset.state : '', rows ? rows.textContent : '0', bar && bar.hasAttribute('value') ? bar.value : 0, bar ? 1 : 0].join(' ');
			})()`)
			var got string
			var n, bar int
			var p float64
			fmt.Sscan(s, &got, &n, &p, &bar)
			rows, sawBar = max(rows, n), sawBar || bar == 1
			if p < 100 {
				percent = max(percent, p)
			}
			if got == state {
				return rows, percent, sawBar
			}
			run(tb, chromedp.Sleep(200*time.Millisecond))
		}
		t.Fatalf("the job did not reach %s: %s", state, tb.text("main"))
		return 0, 0, false
	}
	if _, _, sawBar := watch("checked"); !sawBar {
		t.Errorf("the dry run showed no progress bar")
	}
	for id, want := range map[string]string{"sum-rows": fmt.Sprint(browserRows), "sum-added": fmt.Sprint(browserRows), "sum-refused": "0"} {
		if got := tb.text(`[data-testid=` + id + `]`); got != want {
			t.Errorf("dry run %s = %s, want %s", id, got, want)
		}
	}
	tb.screenshot("import-checked.png")
	if resp := tb.submit(chromedp.Click(chromedp.CSS(`[data-testid=import-commit]`))); resp.Status != 200 {
		t.Fatalf("commit: status %d", resp.Status)
	}
	if rows, percent, _ := watch("done"); rows == 0 || percent <= 0 {
		t.Errorf("the commit's progress bar did not move: rows %d, bar below 100%% at most %.0f%%", rows, percent)
	}
	if done := tb.text(`[data-testid=import-done]`); !strings.Contains(done, fmt.Sprintf("新增 %d 行", browserRows)) {
		t.Errorf("result: %q", done)
	}
	tb.screenshot("import-done.png")
	tb.navigate("/imports")
	if list := tb.text(`[data-testid=import-jobs]`); !strings.Contains(list, "新生名单.csv") || !strings.Contains(list, "已完成") {
		t.Errorf("the job list: %q", list)
	}
	tb.checkConsole()
}
