package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/storetest"
)

// cli runs gongjiang with args against dsn and returns its output.
type cli struct {
	t       *testing.T
	dsn     string
	keyFile string
}

func newCLI(t *testing.T, dsn string) *cli {
	return &cli{t: t, dsn: dsn, keyFile: filepath.Join(t.TempDir(), "instance.key")}
}

func (c *cli) run(stdin string, args ...string) (string, error) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	env := Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	// Flags follow the positional words: "user add NAME", "token create", "audit verify".
	words := map[string]int{"user": 3, "token": 2, "audit": 2}[args[0]]
	words = min(max(words, 1), len(args))
	full := append(append(append([]string{}, args[:words]...), "--db", c.dsn, "--key-file", c.keyFile), args[words:]...)
	err := Main(context.Background(), full, env)
	return out.String() + errOut.String(), err
}

func TestVersionAndUsage(t *testing.T) {
	var out bytes.Buffer
	if err := Main(context.Background(), []string{"version"}, Env{Stdout: &out}); err != nil || !strings.Contains(out.String(), "gongjiang") {
		t.Fatalf("version: %q %v", out.String(), err)
	}
	if err := Main(context.Background(), []string{"frobnicate"}, Env{Stdout: io.Discard, Stderr: io.Discard}); !errors.Is(err, ErrUsage) {
		t.Fatalf("unknown command: %v", err)
	}
	out.Reset()
	Main(context.Background(), nil, Env{Stdout: &out})
	for _, c := range []string{"serve", "migrate", "demo", "user", "token", "audit", "backup", "version"} {
		if !strings.Contains(out.String(), c) {
			t.Errorf("usage does not mention %s", c)
		}
	}
}

func TestOperatorCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		c := newCLI(t, dsn)
		if out, err := c.run("", "migrate"); err != nil || !strings.Contains(out, "最新") {
			t.Fatalf("migrate: %q %v", out, err)
		}
		if out, err := c.run("", "demo", "--scale", "small", "--seed", "3"); err != nil || !strings.Contains(out, "24 所学校") {
			t.Fatalf("demo: %q %v", out, err)
		}
		if _, err := c.run("", "demo", "--scale", "small"); err == nil {
			t.Fatal("demo loaded twice")
		}
		if _, err := c.run("", "demo", "--scale", "huge"); !errors.Is(err, ErrUsage) {
			t.Fatalf("bad scale: %v", err)
		}
		if out, err := c.run("a-long-password\n", "user", "add", "alice", "--role", "province"); err != nil || !strings.Contains(out, "已创建") {
			t.Fatalf("user add: %q %v", out, err)
		}
		bad := []struct {
			stdin string
			args  []string
			want  string
		}{
			{"a-long-password\n", []string{"user", "add", "alice", "--role", "province"}, "已被使用"},
			{"short\n", []string{"user", "add", "bob", "--role", "province"}, "至少"},
			{"", []string{"user", "add", "bob", "--role", "province"}, "标准输入"},
			{"a-long-password\n", []string{"user", "add", "bob", "--role", "city", "--scope", "999999"}, "地级市"},
			{"a-long-password\n", []string{"user", "add", "bob", "--role", "school", "--scope", "0000000"}, "不存在"},
			{"a-long-password\n", []string{"user", "add", "bob", "--role", "admin"}, "未知角色"},
			{"a-long-password\n", []string{"user", "add", "bob'--", "--role", "province"}, "用户名"},
		}
		for _, b := range bad {
			out, err := c.run(b.stdin, b.args...)
			if err == nil {
				t.Errorf("%v succeeded: %q", b.args, out)
				continue
			}
			if msg := errMessage(err); !strings.Contains(msg, b.want) {
				t.Errorf("%v: error %q does not say %q", b.args, msg, b.want)
			}
		}
		if out, err := c.run("a-long-password\n", "user", "add", "jinan", "--role", "city", "--scope", "370100"); err != nil {
			t.Fatalf("city user: %q %v", out, err)
		}
		out, err := c.run("", "token", "create", "--user", "alice")
		if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "gjt_") {
			t.Fatalf("token create: %q %v", out, err)
		}
		if _, err := c.run("", "token", "create", "--user", "nobody"); err == nil {
			t.Fatal("token for unknown user")
		}
		if out, err := c.run("", "audit", "verify"); err != nil || !strings.Contains(out, "完整") {
			t.Fatalf("audit verify: %q %v", out, err)
		}
		// Tamper behind the application's back: verify names the event.
		raw := storetest.Raw(t, dsn)
		if _, err := raw.Exec(`UPDATE audit_events SET actor = 'mallory' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		out, err = c.run("", "audit", "verify")
		if !errors.Is(err, ErrAuditTampered) || !strings.Contains(out, "第 2 条") {
			t.Fatalf("tampered audit verify: %q %v", out, err)
		}
	})
}

func errMessage(err error) string {
	type messager interface{ Message() string }
	var m messager
	if errors.As(err, &m) {
		return m.Message()
	}
	return err.Error()
}

func TestBackup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		c := newCLI(t, dsn)
		if _, err := c.run("", "demo", "--scale", "small"); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "copy.db")
		msg, err := c.run("", "backup", "--out", out)
		if strings.HasPrefix(dsn, "postgres") {
			if err == nil || !strings.Contains(err.Error(), "pg_dump") {
				t.Fatalf("postgres backup: %q %v", msg, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("backup: %q %v", msg, err)
		}
		copyCLI := &cli{t: t, dsn: out, keyFile: c.keyFile}
		if got, err := copyCLI.run("", "audit", "verify"); err != nil || !strings.Contains(got, "完整") {
			t.Fatalf("verify backup: %q %v", got, err)
		}
		if _, err := c.run("", "backup", "--out", out); err == nil {
			t.Fatal("backup overwrote a file")
		}
	})
}

// serve refuses a schema newer than the binary's, and a --db it cannot use.
func TestServeRefusesForeignSchema(t *testing.T) {
	dsn := filepath.Join(t.TempDir(), "x.db")
	c := newCLI(t, dsn)
	if _, err := c.run("", "migrate"); err != nil {
		t.Fatal(err)
	}
	raw := storetest.Raw(t, dsn)
	if _, err := raw.Exec(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (999, TRUE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.run("", "serve", "--addr", "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "更新") {
		t.Fatalf("serve on a newer schema: %v", err)
	}
	if _, err := newCLI(t, "mysql://x").run("", "serve"); !errors.Is(err, ErrUsage) {
		t.Fatalf("mysql URL: %v", err)
	}
}

// startServe runs serve --demo on a fresh SQLite database and returns its
// base URL, a cancel that acts as SIGTERM, and the channel Main returns on.
func startServe(t *testing.T, args ...string) (string, context.CancelFunc, chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	dir := t.TempDir()
	env := Env{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(string) string { return "" }, OnListen: func(a string) { addr <- a }}
	go func() {
		done <- Main(ctx, append([]string{"serve", "--db", filepath.Join(dir, "s.db"), "--addr", "127.0.0.1:0"}, args...), env)
	}()
	select {
	case a := <-addr:
		return "http://" + a, cancel, done
	case err := <-done:
		cancel()
		t.Fatalf("serve exited: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		t.Fatal("serve did not start")
	}
	return "", cancel, done
}

// On SIGTERM, serve finishes the request in flight before it exits.
func TestGracefulShutdownFinishesRequests(t *testing.T) {
	base, stop, done := startServe(t, "--demo", "--demo-scale", "small")
	// A request whose body is still arriving when the signal comes.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"code":"3799001","name":"优雅关闭技工学校","type":"技工学校","ownership":"公办","division_code":"370102"}`
	token := loginToken(t, base)
	fmt.Fprintf(conn, "POST /api/v1/schools HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nCookie: gj_session=%s\r\nX-CSRF-Token: %s\r\nContent-Length: %d\r\n\r\n%s",
		token.session, token.csrf, len(body), body[:10])
	time.Sleep(200 * time.Millisecond)
	stop()
	time.Sleep(200 * time.Millisecond)
	fmt.Fprint(conn, body[10:])
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request lost: %v", err)
	}
	if resp.StatusCode != http.StatusCreated {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, b)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(ShutdownGrace + 5*time.Second):
		t.Fatal("serve did not exit")
	}
}

func TestServeDemoAndOperations(t *testing.T) {
	base, stop, done := startServe(t, "--demo", "--demo-scale", "small")
	defer func() { stop(); <-done }()
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`, "/metrics": "go_goroutines"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %.200s", path, resp.StatusCode, b)
		}
	}
}

func TestParseProxies(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		bad  bool
	}{
		{in: "", want: "[]"},
		{in: "127.0.0.1", want: "[127.0.0.1/32]"},
		{in: " 10.1.2.3/8 , ::1", want: "[10.0.0.0/8 ::1/128]"},
		{in: "::ffff:192.0.2.1", want: "[192.0.2.1/32]"},
		{in: "proxy.example", bad: true},
		{in: "10.0.0.0/33", bad: true},
	} {
		got, err := parseProxies(c.in)
		if (err != nil) != c.bad || (!c.bad && fmt.Sprint(got) != c.want) {
			t.Errorf("parseProxies(%q) = %v, %v; want %s (error %v)", c.in, got, err, c.want, c.bad)
		}
	}
}
