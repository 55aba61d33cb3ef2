package web_test

import (
	"net/http"
	"net/netip"
	"testing"

	"github.com/gongjiang/gongjiang/internal/web"
)

// Behind a trusted reverse proxy the client is the address the proxy
// saw and TLS is what the proxy says; from anyone else the forwarding
// headers are ignored, so a client cannot pick its own throttling bucket.
func testTrustedProxies(t *testing.T, e *env) {
	const perMinute = 2
	// check asks as from, and whether the answer was throttled (the
	// number is made up: not throttled, it is answered 400).
	check := func(t *testing.T, srv *env, from string, throttled bool) {
		t.Helper()
		r := srv.do(t, req{method: "GET", url: "/api/v1/public/certificates/verify?no=1&name=%E5%BC%A0%E4%B8%89",
			header: map[string]string{"X-Forwarded-For": "9.9.9.9, " + from}})
		if (r.status == http.StatusTooManyRequests) != throttled {
			t.Errorf("from %s: %d, throttled should be %v: %s", from, r.status, throttled, r.body)
		}
	}
	t.Run("trusted", func(t *testing.T) {
		srv := e.withServer(t, func(d *web.Deps) {
			d.VerifyPerMinute, d.TrustedProxies = perMinute, []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		})
		// Each client address has its own budget: the left-most hop
		// (which the client could forge) is not used.
		for range perMinute {
			check(t, srv, "203.0.113.7", false)
		}
		check(t, srv, "203.0.113.7", true)
		check(t, srv, "203.0.113.8", false)
		r := srv.do(t, req{method: "GET", url: "/login", header: map[string]string{"X-Forwarded-Proto": "https"}})
		if r.header.Get("Strict-Transport-Security") == "" {
			t.Error("no HSTS for a request the proxy received over TLS")
		}
		for _, c := range r.raw.Cookies() {
			if !c.Secure {
				t.Errorf("cookie %s is not Secure behind a TLS proxy", c.Name)
			}
		}
	})
	t.Run("not trusted", func(t *testing.T) {
		srv := e.withServer(t, func(d *web.Deps) { d.VerifyPerMinute, d.TrustedProxies = perMinute, nil })
		for range perMinute {
			check(t, srv, "203.0.113.7", false)
		}
		check(t, srv, "203.0.113.8", true) // a forged header buys nothing
		r := srv.do(t, req{method: "GET", url: "/login", header: map[string]string{"X-Forwarded-Proto": "https"}})
		if r.header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS on plain HTTP because of a header anyone can send")
		}
	})
}
