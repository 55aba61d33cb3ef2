package app

import (
	"bufio"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

func bufioReader(r io.Reader) *bufio.Reader { return bufio.NewReader(r) }

type sessionCreds struct{ session, csrf string }

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// loginToken logs in as the demo province user through the login form.
func loginToken(t *testing.T, base string) sessionCreds {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindSubmatch(b)
	if m == nil {
		t.Fatal("no csrf token on login page")
	}
	resp, err = client.PostForm(base+"/login", url.Values{"csrf_token": {string(m[1])}, "username": {"province"}, "password": {"gongjiang-demo"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	u, _ := url.Parse(base)
	var creds sessionCreds
	for _, c := range jar.Cookies(u) {
		if c.Name == "gj_session" {
			creds.session = c.Value
		}
	}
	m = regexp.MustCompile(`"X-CSRF-Token":"([^"]+)"`).FindSubmatch(b)
	if creds.session == "" || m == nil {
		t.Fatalf("login failed: %.300s", strings.TrimSpace(string(b)))
	}
	creds.csrf = string(m[1])
	return creds
}
