package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/idcard"
)

// TestReplicaCluster is the scale-out test scripts/replica-test.sh runs:
// a PostgreSQL primary and a streaming replica on loopback, two gongjiang
// nodes on them behind a round-robin proxy, the demo loaded, and mixed
// traffic — registrations, status changes, certificate verifications,
// the public portal, a city's plan dashboard — with the replica stopped
// half-way. It checks that no
// request failed, that verifications were served by the replica while it
// ran and by the primary after, that a registration is at once visible
// to its school on the other node, that one browser session works on both
// nodes, and that nothing written was lost.
func TestReplicaCluster(t *testing.T) {
	primary, replica, stopReplica := os.Getenv("GONGJIANG_CLUSTER_PRIMARY"), os.Getenv("GONGJIANG_CLUSTER_REPLICA"), os.Getenv("GONGJIANG_CLUSTER_STOP_REPLICA")
	if primary == "" || replica == "" || stopReplica == "" {
		if os.Getenv("GONGJIANG_REQUIRE_CLUSTER") == "1" {
			t.Fatal("GONGJIANG_REQUIRE_CLUSTER=1 but no cluster: run scripts/replica-test.sh")
		}
		t.Skip("no primary/replica cluster (scripts/replica-test.sh sets one up)")
	}
	scale := os.Getenv("GONGJIANG_CLUSTER_SCALE")
	if scale == "" {
		scale = "small"
	}
	seconds := 20
	fmt.Sscan(os.Getenv("GONGJIANG_CLUSTER_SECONDS"), &seconds)

	dir := t.TempDir()
	bin := filepath.Join(dir, "gongjiang")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/gongjiang").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	key := filepath.Join(dir, "master.key")
	gj := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append(args, "--db", primary, "--key-file", key)...).Output()
		if err != nil {
			t.Fatalf("gongjiang %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	start := time.Now()
	gj("migrate")
	gj("demo", "--scale", scale)
	t.Logf("demo %s loaded on the primary in %v", scale, time.Since(start).Round(time.Second))
	const school = "3701001"
	schoolToken, cityToken := gj("token", "create", "--user", demo.SchoolUser(school)), gj("token", "create", "--user", demo.CityUser("370100"))

	raw, err := sql.Open("pgx", primary)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	type certificate struct{ no, name string }
	var certs []certificate
	rows, err := raw.Query(`SELECT no, holder_name FROM certificates WHERE status = 'valid' ORDER BY no LIMIT 500`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c certificate
		rows.Scan(&c.no, &c.name)
		certs = append(certs, c)
	}
	rows.Close()
	if len(certs) == 0 {
		t.Fatal("the demo issued no certificate")
	}

	args := []string{"--key-file", key, "--db-replica", replica, "--verify-rate", "100000000"}
	nodes := []*process{startProcess(t, bin, primary, args...), startProcess(t, bin, primary, args...)}
	readyz := func(base string) map[string]any {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return m
	}
	for _, n := range nodes {
		deadline := time.Now().Add(time.Minute)
		for readyz(n.base)["public_reads"] != "replica" {
			if time.Now().After(deadline) {
				t.Fatalf("node %s never used the replica: %v", n.base, readyz(n.base))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}

	// A round-robin proxy in front of the two nodes.
	var turn atomic.Int64
	targets := make([]*url.URL, len(nodes))
	for i, n := range nodes {
		targets[i], _ = url.Parse(n.base)
	}
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(targets[turn.Add(1)%int64(len(targets))])
		r.Out.Host = r.In.Host
	}})
	defer proxy.Close()

	// One browser session, served by both nodes in turn.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	loginPage, err := browser.Get(proxy.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(loginPage.Body)
	loginPage.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the login page")
	}
	res, err := browser.PostForm(proxy.URL+"/login", url.Values{"csrf_token": {string(m[1])}, "username": {demo.ProvinceUser}, "password": {demo.Password}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %v %v", res.StatusCode, err)
	}
	res.Body.Close()
	for i := range 6 {
		res, err := browser.Get(proxy.URL + "/students?limit=5")
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("session request %d through the proxy: %v %v", i, res.StatusCode, err)
		}
		res.Body.Close()
	}

	// Mixed traffic. Every request must succeed; failures are collected.
	var (
		mu       sync.Mutex
		failures []string
		counts   = map[string]int{}
		students []int64
	)
	fail := func(format string, a ...any) {
		mu.Lock()
		defer mu.Unlock()
		if len(failures) < 20 {
			failures = append(failures, fmt.Sprintf(format, a...))
		}
	}
	count := func(kind string) {
		mu.Lock()
		counts[kind]++
		mu.Unlock()
	}
	client := &http.Client{Timeout: 30 * time.Second}
	call := func(method, u, token string, body any, want int) []byte {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, u, rd)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		res, err := client.Do(req)
		if err != nil {
			fail("%s %s: %v", method, u, err)
			return nil
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != want {
			fail("%s %s: %d %s", method, u, res.StatusCode, b)
			return nil
		}
		return b
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var person atomic.Int64
	register := func() {
		n := person.Add(1)
		birth := time.Date(2009, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n%700))
		sex := []string{"男", "女"}[n%2]
		node := nodes[n%2]
		b := call("POST", node.base+"/api/v1/students", schoolToken, map[string]any{"school_code": school, "name": "集群测试",
			"id_number": idcard.Synthesize("653101", birth, int(n/700), idcard.Sex(sex)), "sex": sex, "birth_date": birth.Format(time.DateOnly),
			"ethnicity": "汉族", "major": "汽车维修", "class_level": "中级工班", "study_mode": "全日制", "enrollment_date": "2026-09-01"}, 201)
		if b == nil {
			return
		}
		var st struct {
			ID int64 `json:"id"`
		}
		json.Unmarshal(b, &st)
		// At once visible to its school on the other node.
		call("GET", fmt.Sprintf("%s/api/v1/students/%d", nodes[(n+1)%2].base, st.ID), schoolToken, nil, 200)
		mu.Lock()
		students = append(students, st.ID)
		mu.Unlock()
		count("registration")
		if n%5 == 0 { // a status change, proposed on one node and approved on the other
			b := call("POST", fmt.Sprintf("%s/api/v1/students/%d/changes", node.base, st.ID), schoolToken,
				map[string]any{"type": "休学", "reason": "集群测试", "effective_date": time.Now().Format(time.DateOnly)}, 201)
			var ch struct {
				ID int64 `json:"id"`
			}
			if b != nil && json.Unmarshal(b, &ch) == nil {
				call("POST", fmt.Sprintf("%s/api/v1/changes/%d/approve", nodes[(n+1)%2].base, ch.ID), cityToken, map[string]any{}, 200)
				count("status change")
			}
		}
	}
	verify := func(i int) {
		c := certs[i%len(certs)]
		b := call("GET", proxy.URL+"/api/v1/public/certificates/verify?"+url.Values{"no": {c.no}, "name": {c.name}}.Encode(), "", nil, 200)
		if b != nil && !bytes.Contains(b, []byte(`"status":"valid"`)) {
			fail("verify %s: %s", c.no, b)
		}
		count("verification")
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ; i += 4 {
				select {
				case <-stop:
					return
				default:
				}
				switch {
				case w == 0:
					register()
				case w == 3 && i%20 == 3:
					call("GET", proxy.URL+"/public/qualifications", "", nil, 200)
					count("portal")
				case w == 3 && i%20 == 7:
					call("GET", proxy.URL+"/api/v1/plans/sd-jg-14-5/dashboard?year=2025", cityToken, nil, 200)
					count("dashboard")
				default:
					verify(i)
				}
			}
		}()
	}
	served := func() (replicaReads, primaryReads float64) {
		for _, n := range nodes {
			res, err := http.Get(n.base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			for _, line := range strings.Split(string(b), "\n") {
				var v float64
				if _, err := fmt.Sscanf(line, `gongjiang_db_public_reads_total{pool="replica"} %g`, &v); err == nil {
					replicaReads += v
				}
				if _, err := fmt.Sscanf(line, `gongjiang_db_public_reads_total{pool="primary"} %g`, &v); err == nil {
					primaryReads += v
				}
			}
		}
		return
	}
	time.Sleep(time.Duration(seconds) * time.Second / 2)
	beforeReplica, beforePrimary := served()
	t.Logf("before the replica stops: %v public reads from the replica, %v from the primary", beforeReplica, beforePrimary)
	if beforeReplica == 0 {
		t.Error("no public read was served by the replica")
	}
	if out, err := exec.Command("sh", "-c", stopReplica).CombinedOutput(); err != nil {
		t.Fatalf("stop the replica: %v\n%s", err, out)
	}
	stoppedAt := time.Now()
	time.Sleep(time.Duration(seconds) * time.Second / 2)
	close(stop)
	wg.Wait()
	afterReplica, afterPrimary := served()
	t.Logf("after: %v from the replica, %v from the primary (%v since the stop)", afterReplica, afterPrimary, time.Since(stoppedAt).Round(time.Second))
	if afterPrimary <= beforePrimary {
		t.Error("after the replica stopped, no public read was answered by the primary")
	}
	for _, n := range nodes {
		if r := readyz(n.base); r["status"] != "ready" || r["public_reads"] == "replica" {
			t.Errorf("node %s after the replica stopped: %v", n.base, r)
		}
	}
	t.Logf("requests: %v", counts)
	for _, f := range failures {
		t.Error(f)
	}
	// Nothing written was lost: every registration is on the primary.
	var stored int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM students WHERE name = '集群测试'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != len(students) || len(students) == 0 {
		t.Errorf("%d registrations answered 201, %d stored", len(students), stored)
	}
	for _, n := range nodes {
		n.stop(t)
	}
}
