// Package e2e holds the end-to-end tests of gongjiang: they start the real
// application with app.Main on a fresh SQLite database with the Shandong
// demo province, and drive it with headless Chromium through chromedp.
//
// The tests skip when no browser can be started. Set
// GONGJIANG_REQUIRE_BROWSER=1 (as CI does) to make them fail instead, and
// GONGJIANG_CHROMIUM to the browser binary when it is not /usr/bin/chromium.
// GONGJIANG_SCREENSHOT_DIR, when set, receives a copy of the screenshots.
package e2e
