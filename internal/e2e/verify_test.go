package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
)

// Selectors of the certificate pages.
const (
	selVerdict     = `[data-testid=verify-result]`
	selVerdictSig  = `[data-testid=verify-signature]`
	selVerdictWhy  = `[data-testid=verify-reason]`
	selVerifyNo    = `[data-testid=verify-no]`
	selVerifyName  = `[data-testid=verify-name]`
	selVerifySend  = `[data-testid=verify-submit]`
	selCertQR      = `[data-testid=cert-qr]`
	selCertDone    = `[data-testid=cert-done]`
	selCertStatus  = `[data-testid=cert-status]`
	selCertRevoke  = `[data-testid=cert-revoke]`
	selRevokeInput = `input[name=reason]`
)

// verifyByHand types a number and a name into the verify form, submits
// it and waits for the verdict.
func (tb *tab) verifyByHand(no, name string) (status, text string) {
	tb.t.Helper()
	tb.do(
		chromedp.Clear(chromedp.CSS(selVerifyNo)), chromedp.SendKeys(chromedp.CSS(selVerifyNo), no),
		chromedp.Clear(chromedp.CSS(selVerifyName)), chromedp.SendKeys(chromedp.CSS(selVerifyName), name),
	)
	if resp := tb.submit(chromedp.Click(chromedp.CSS(selVerifySend))); resp.Status != 200 {
		tb.t.Fatalf("verify %s: status %d", no, resp.Status)
	}
	if p := tb.path(); p != "/verify" {
		tb.t.Errorf("after verifying: on %s, want /verify (the name stays out of the address)", p)
	}
	return eval[string](tb, `document.querySelector('`+selVerdict+`').dataset.status`), tb.text(selVerdict)
}

// qrShown reports whether the page's QR code image loaded as a picture.
func (tb *tab) qrShown() bool {
	tb.t.Helper()
	tb.poll(`document.querySelector('` + selCertQR + `').complete`)
	return eval[bool](tb, `(() => {
		const img = document.querySelector('`+selCertQR+`');
		return img.src.startsWith('data:image/png;base64,') && img.naturalWidth > 0 && img.naturalHeight > 0;
	})()`)
}

// TestVerifyCertificates follows a certificate's public check in a
// browser: by number and name (valid, then revoked by its school through
// the certificate page, then a wrong name), and by the link its QR code
// holds.
func TestVerifyCertificates(t *testing.T) {
	browser := newBrowser(t)
	base, dbPath := startAppWithDB(t)
	db, err := store.Open(t.Context(), dbPath, storetest.Signer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	valid, _, err := db.ListCertificates(t.Context(), cert.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Status: cert.StatusValid, Limit: 2})
	if err != nil || len(valid) != 2 {
		t.Fatalf("the demo's certificates: %v (%d)", err, len(valid))
	}
	c, doomed := valid[0], valid[1]
	payload, err := cert.Payload(c)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(shanghaiZone).Format("2006-01-02")

	// A valid certificate, by number and name.
	pub := newTab(t, browser, base)
	pub.navigate("/verify")
	status, text := pub.verifyByHand(c.No, c.HolderName)
	if status != cert.AnswerValid || !containsAll(text, "证书有效", pii.MaskName(c.HolderName), c.No, c.SchoolName, c.Major, c.IDMasked) {
		t.Errorf("valid certificate: status %q, verdict %q", status, text)
	}
	if strings.Contains(text, c.HolderName) {
		t.Errorf("the verdict shows the full name %q: %q", c.HolderName, text)
	}
	if eval[bool](pub, `document.querySelector('`+selVerdictSig+`') !== null`) {
		t.Errorf("a check by number shows a signature line")
	}
	pub.screenshot("verify-valid.png")

	// The issuing school revokes another one on its certificate page.
	const why = "学籍被撤销：端到端测试"
	sch := newTab(t, browser, base)
	sch.loginAs(demo.SchoolUser(doomed.SchoolCode))
	sch.navigate("/certificates/" + doomed.No)
	if !sch.qrShown() {
		t.Errorf("the certificate page shows no QR code image (src %q)",
			tail(eval[string](sch, `document.querySelector('`+selCertQR+`').getAttribute('src')`), 40))
	}
	revokeForm := `form[action="/certificates/` + doomed.No + `/revoke"] `
	sch.do(chromedp.SendKeys(chromedp.CSS(revokeForm+selRevokeInput), why))
	if resp := sch.submit(chromedp.Click(chromedp.CSS(selCertRevoke))); resp.Status != 200 {
		t.Fatalf("revoke: status %d", resp.Status)
	}
	if p := sch.path(); p != "/certificates/"+doomed.No+"?done=revoke" {
		t.Errorf("after revoking: on %s", p)
	}
	if s := sch.text(selCertStatus); s != "已撤销" || !strings.Contains(sch.text(selCertDone), "已撤销") {
		t.Errorf("after revoking: status tag %q, notice %q", s, sch.text(selCertDone))
	}

	status, text = pub.verifyByHand(doomed.No, doomed.HolderName)
	if status != cert.AnswerRevoked || !strings.Contains(text, "已撤销") {
		t.Errorf("revoked certificate: status %q, verdict %q", status, text)
	}
	if r := pub.text(selVerdictWhy); !containsAll(r, why, today) {
		t.Errorf("revoked certificate: reason line %q, want %q and %s", r, why, today)
	}
	pub.screenshot("verify-revoked.png")

	// One the demo revoked, if it did.
	if revoked, _, err := db.ListCertificates(t.Context(), cert.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Status: cert.StatusRevoked, Limit: 5}); err != nil {
		t.Fatal(err)
	} else {
		for _, r := range revoked {
			if r.No == doomed.No {
				continue
			}
			status, _ := pub.verifyByHand(r.No, r.HolderName)
			if why := pub.text(selVerdictWhy); status != cert.AnswerRevoked || !strings.Contains(why, r.Reason) {
				t.Errorf("the demo's revoked %s: status %q, reason line %q, want %q", r.No, status, why, r.Reason)
			}
			break
		}
	}

	// A wrong name finds nothing, and says nothing of the certificate.
	status, text = pub.verifyByHand(c.No, c.HolderName+"某")
	if status != cert.AnswerNotFound || !strings.Contains(text, "未查到") || strings.Contains(text, c.SchoolName) {
		t.Errorf("wrong name: status %q, verdict %q", status, text)
	}

	// The link the QR code holds: the signature is checked, then the state.
	qr := newTab(t, browser, base)
	qr.navigate(strings.TrimPrefix(cert.VerifyURL(base, payload), base))
	if s := eval[string](qr, `document.querySelector('`+selVerdict+`').dataset.status`); s != cert.AnswerValid {
		t.Errorf("QR link: status %q, verdict %q", s, qr.text(selVerdict))
	}
	if sig := qr.text(selVerdictSig); !containsAll(sig, "二维码签名有效", c.Alg, c.KeyID) {
		t.Errorf("QR link: signature line %q", sig)
	}
	if v := qr.text(selVerdict); !containsAll(v, "证书有效", pii.MaskName(c.HolderName), c.No) || strings.Contains(v, c.HolderName) {
		t.Errorf("QR link: verdict %q", v)
	}
	qr.screenshot("verify-qr.png")
	// Each tab's console is checked when the test ends (newTab).
}
