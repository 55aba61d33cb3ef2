package web_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

var importStudentHeader = []string{"学校代码", "姓名", "证件号码", "性别", "出生日期", "民族", "专业", "培养层次", "学习形式", "入学起点", "入学日期"}

// studentCSV is a CSV sheet of n new valid students at a school.
func studentCSV(t *testing.T, e *env, school string, n int) ([]applicant, string) {
	t.Helper()
	var people []applicant
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(importStudentHeader)
	for i := range n {
		a := e.applicant(t, []string{"男", "女"}[i%2])
		people = append(people, a)
		w.Write([]string{school, a.Name, a.Number, a.Sex, a.Birth, "汉族", a.Major, "中级工班", "全日制", "初中毕业生", "2026-09-01"})
	}
	w.Flush()
	return people, buf.String()
}

// part is one field of a multipart form; file set makes it the file.
type part struct {
	name, value string
	file        io.Reader
}

func multipartBody(t *testing.T, fileName string, parts ...part) (string, io.Reader) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for _, p := range parts {
			if p.file != nil {
				fw, err := mw.CreateFormFile(p.name, fileName)
				if err == nil {
					_, err = io.Copy(fw, p.file)
				}
				if err != nil {
					pw.CloseWithError(err)
					return
				}
				continue
			}
			mw.WriteField(p.name, p.value)
		}
		pw.CloseWithError(mw.Close())
	}()
	return mw.FormDataContentType(), pr
}

// upload posts a multipart form to path as a session (CSRF token in the
// form) or with a bearer token.
func (e *env) upload(t *testing.T, path string, sess *session, bearer, fileName string, parts ...part) *resp {
	t.Helper()
	if sess != nil {
		parts = append([]part{{name: "csrf_token", value: sess.csrf}}, parts...)
	}
	ctype, body := multipartBody(t, fileName, parts...)
	hr, err := http.NewRequestWithContext(t.Context(), "POST", e.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Content-Type", ctype)
	if sess != nil {
		hr.AddCookie(sess.cookie)
	}
	if bearer != "" {
		hr.Header.Set("Authorization", "Bearer "+bearer)
	}
	r, err := e.client.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return &resp{status: r.StatusCode, header: r.Header, body: string(b), raw: r}
}

// importJob uploads a file on the import page and returns the job it made.
func (e *env) importJob(t *testing.T, sess *session, kind, mode, name, content string) *transfer.Job {
	t.Helper()
	r := e.upload(t, "/imports", sess, "", name, part{name: "kind", value: kind}, part{name: "mode", value: mode},
		part{name: "file", file: strings.NewReader(content)})
	loc := r.header.Get("Location")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/imports/") {
		t.Fatalf("upload: %d %s\n%s", r.status, loc, truncate(r.body))
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(loc, "/imports/"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.db.ImportJob(t.Context(), id, "", true)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

var jobState = regexp.MustCompile(`data-testid="import-job" data-state="([a-z]+)"`)

// waitJob polls the job page, as its htmx block does, until the job
// waits for nobody; it returns the block.
func (e *env) waitJob(t *testing.T, sess *session, id int64) (string, string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		r := e.do(t, req{method: "GET", url: fmt.Sprintf("/imports/%d", id), sess: sess, header: map[string]string{"HX-Request": "true", "HX-Target": "job"}})
		if r.status != 200 {
			t.Fatalf("job page: %d %s", r.status, truncate(r.body))
		}
		m := jobState.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatalf("no job block:\n%s", truncate(r.body))
		}
		if strings.Contains(r.body, "<html") {
			t.Fatalf("htmx asked for the job block and got the whole page")
		}
		if m[1] != transfer.JobQueued && m[1] != transfer.JobRunning {
			if strings.Contains(r.body, `hx-trigger="every 500ms"`) {
				t.Errorf("a job that has stopped (%s) still polls", m[1])
			}
			return m[1], r.body
		} else if !strings.Contains(r.body, `hx-trigger="every 500ms"`) || !strings.Contains(r.body, `data-testid="import-progress"`) {
			t.Errorf("a running job's block does not poll or has no progress bar:\n%s", truncate(r.body))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %d did not finish", id)
	return "", ""
}

func testImports(t *testing.T, e *env) {
	jn, qd := e.inCity(t, jinan), e.inCity(t, qingdao)
	sch := jn[0].Code
	schoolSess := e.sessionOf(t, demo.SchoolUser(sch))
	count := func() int {
		_, n, err := e.db.FindStudents(t.Context(), student.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, SchoolCode: sch, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("dry run, report, then commit the valid rows", func(t *testing.T) {
		people, content := studentCSV(t, e, sch, 5)
		lines := strings.Split(content, "\n")
		lines[3] = strings.Replace(lines[3], people[2].Birth, "2009-02-30", 1) // an impossible date, line 4
		before := count()
		j := e.importJob(t, schoolSess, "students", "all-or-nothing", "新生.csv", strings.Join(lines, "\n"))
		state, block := e.waitJob(t, schoolSess, j.ID)
		if state != transfer.JobChecked {
			t.Fatalf("after the dry run: %s\n%s", state, block)
		}
		for _, want := range []string{`data-testid="sum-rows">5<`, `data-testid="sum-added">4<`, `data-testid="sum-refused">1<`, `data-testid="import-refused"`, "出生日期", `data-testid="import-commit-valid"`} {
			if !strings.Contains(block, want) {
				t.Errorf("checked job block lacks %s:\n%s", want, truncate(block))
			}
		}
		if count() != before {
			t.Fatal("the dry run wrote")
		}
		rep := e.do(t, req{method: "GET", url: fmt.Sprintf("/imports/%d/refused.xlsx", j.ID), sess: schoolSess})
		if rep.status != 200 || rep.header.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
			t.Fatalf("report: %d %s", rep.status, rep.header.Get("Content-Type"))
		}
		x, err := excelize.OpenReader(strings.NewReader(rep.body))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := x.GetRows(x.GetSheetName(0))
		if len(rows) != 2 || rows[1][0] != "4" || rows[1][2+2] != people[2].Number || !strings.Contains(rows[1][1], "出生日期") {
			t.Fatalf("report rows %q", rows)
		}
		r := e.do(t, req{method: "POST", url: fmt.Sprintf("/imports/%d/commit", j.ID), sess: schoolSess, ctype: formType,
			body: url.Values{"csrf_token": {schoolSess.csrf}, "mode": {"valid-only"}}.Encode()})
		if r.status != http.StatusSeeOther {
			t.Fatalf("commit: %d %s", r.status, truncate(r.body))
		}
		state, block = e.waitJob(t, schoolSess, j.ID)
		if state != transfer.JobDone || !strings.Contains(block, `data-testid="import-done"`) || !strings.Contains(block, "新增 4 行") {
			t.Fatalf("after the commit: %s\n%s", state, truncate(block))
		}
		if n := count() - before; n != 4 {
			t.Fatalf("%d students added, want 4", n)
		}
		list := e.do(t, req{method: "GET", url: "/imports", sess: schoolSess})
		if !strings.Contains(list.body, fmt.Sprintf(`href="/imports/%d"`, j.ID)) || !strings.Contains(list.body, "新生.csv") {
			t.Errorf("the job list does not show the job:\n%s", truncate(list.body))
		}
		// Another school does not see it; the province does.
		other := e.sessionOf(t, demo.SchoolUser(jn[1].Code))
		if r := e.do(t, req{method: "GET", url: fmt.Sprintf("/imports/%d", j.ID), sess: other}); r.status != 404 {
			t.Errorf("another school sees the job: %d", r.status)
		}
		if r := e.do(t, req{method: "GET", url: fmt.Sprintf("/imports/%d", j.ID), sess: e.sessionOf(t, demo.ProvinceUser)}); r.status != 200 {
			t.Errorf("the province cannot see the job: %d", r.status)
		}
	})

	t.Run("a school imports only into itself", func(t *testing.T) {
		_, content := studentCSV(t, e, jn[1].Code, 2)
		j := e.importJob(t, schoolSess, "students", "valid-only", "别校.csv", content)
		state, block := e.waitJob(t, schoolSess, j.ID)
		if state != transfer.JobChecked || !strings.Contains(block, `data-testid="sum-refused">2<`) || !strings.Contains(block, "不在您的管辖范围内") {
			t.Fatalf("rows of another school: %s\n%s", state, truncate(block))
		}
	})

	t.Run("API: upload without a dry run, then read the job", func(t *testing.T) {
		token := e.token(t, demo.CityUser(jinan))
		_, content := studentCSV(t, e, sch, 3)
		before := count()
		r := e.upload(t, "/api/v1/imports", nil, token, "api.csv", part{name: "kind", value: "students"}, part{name: "dry_run", value: "false"},
			part{name: "mode", value: "all-or-nothing"}, part{name: "file", file: strings.NewReader(content)})
		if r.status != http.StatusAccepted {
			t.Fatalf("API upload: %d %s", r.status, r.body)
		}
		var job struct {
			ID      int64            `json:"id"`
			State   string           `json:"state"`
			Phase   string           `json:"phase"`
			Summary transfer.Summary `json:"summary"`
		}
		json.Unmarshal([]byte(r.body), &job)
		if job.ID == 0 || job.Phase != transfer.PhaseCommit || r.header.Get("Location") != fmt.Sprintf("/api/v1/imports/%d", job.ID) {
			t.Fatalf("API job %+v (Location %s)", job, r.header.Get("Location"))
		}
		deadline := time.Now().Add(time.Minute)
		for job.State != transfer.JobDone && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
			g := e.do(t, req{method: "GET", url: fmt.Sprintf("/api/v1/imports/%d", job.ID), bearer: token})
			json.Unmarshal([]byte(g.body), &job)
		}
		if job.State != transfer.JobDone || !job.Summary.Committed || job.Summary.Added != 3 || count()-before != 3 {
			t.Fatalf("API job ended %+v; %d added", job, count()-before)
		}
	})

	t.Run("schools: a city updates its school through a job", func(t *testing.T) {
		sc := e.school(t, jn[2].Code)
		city := e.sessionOf(t, demo.CityUser(jinan))
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.Write([]string{"学校代码", "学校名称", "学校类型", "举办性质", "所在区县代码"})
		w.Write([]string{sc.Code, sc.Name + "（更名）", sc.Type, sc.Ownership, sc.DivisionCode})
		w.Write([]string{qd[0].Code, qd[0].Name + "（越权）", qd[0].Type, qd[0].Ownership, qd[0].DivisionCode})
		w.Flush()
		j := e.importJob(t, city, "schools", "valid-only", "学校.csv", buf.String())
		state, block := e.waitJob(t, city, j.ID)
		if state != transfer.JobChecked || !strings.Contains(block, `data-testid="sum-updated">1<`) || !strings.Contains(block, `data-testid="sum-refused">1<`) {
			t.Fatalf("schools dry run: %s\n%s", state, truncate(block))
		}
		if e.school(t, sc.Code).Name != sc.Name {
			t.Fatal("the dry run renamed the school")
		}
		r := e.do(t, req{method: "POST", url: fmt.Sprintf("/imports/%d/commit", j.ID), sess: city, ctype: formType,
			body: url.Values{"csrf_token": {city.csrf}, "mode": {"valid-only"}}.Encode()})
		if r.status != http.StatusSeeOther {
			t.Fatalf("commit: %d", r.status)
		}
		if state, block = e.waitJob(t, city, j.ID); state != transfer.JobDone || !strings.Contains(block, "更新 1 行") {
			t.Fatalf("schools commit: %s\n%s", state, truncate(block))
		}
		if got := e.school(t, sc.Code).Name; got != sc.Name+"（更名）" {
			t.Errorf("the school is named %q after the import", got)
		}
		if got := e.school(t, qd[0].Code).Name; got != qd[0].Name {
			t.Errorf("a city renamed another city's school: %q", got)
		}
	})

	t.Run("bad uploads are refused with a clear error and make no job", func(t *testing.T) {
		_, before, err := e.db.ImportJobs(t.Context(), "", true, 1)
		if err != nil {
			t.Fatal(err)
		}
		token := e.token(t, demo.ProvinceUser)
		_, good := studentCSV(t, e, sch, 1)
		apiCases := []struct {
			name  string
			parts []part
			file  string
			code  string
			want  string
		}{
			{"no file", []part{{name: "kind", value: "students"}}, "x.csv", "validation_failed", "没有收到文件"},
			{"unknown kind", []part{{name: "kind", value: "teachers"}, {name: "file", file: strings.NewReader(good)}}, "x.csv", "validation_failed", "导入内容"},
			{"unknown mode", []part{{name: "kind", value: "students"}, {name: "mode", value: "some"}, {name: "file", file: strings.NewReader(good)}}, "x.csv", "validation_failed", "导入方式"},
			{"columns missing", []part{{name: "kind", value: "students"}, {name: "file", file: strings.NewReader("姓名,性别\n张三,男\n")}}, "x.csv", "validation_failed", "表头缺少必填列"},
			{"not a spreadsheet", []part{{name: "kind", value: "students"}, {name: "file", file: strings.NewReader("PK\x03\x04garbage")}}, "x.xlsx", "", "文件"},
			{"empty file", []part{{name: "kind", value: "students"}, {name: "file", file: strings.NewReader("")}}, "x.csv", "validation_failed", "没有内容"},
			{"two files", []part{{name: "kind", value: "students"}, {name: "file", file: strings.NewReader(good)}, {name: "file", file: strings.NewReader(good)}}, "x.csv", "validation_failed", "一个文件"},
			{"over the size limit", []part{{name: "kind", value: "students"}, {name: "file", file: io.LimitReader(zeros{}, transfer.DefaultLimits.MaxBytes+1)}}, "x.csv", "payload_too_large", "上限"},
		}
		for _, c := range apiCases {
			r := e.upload(t, "/api/v1/imports", nil, token, c.file, c.parts...)
			var body struct {
				Error struct{ Code, Message, Field string }
			}
			json.Unmarshal([]byte(r.body), &body)
			if r.status < 400 || r.status >= 500 || (c.code != "" && body.Error.Code != c.code) || !strings.Contains(body.Error.Message, c.want) {
				t.Errorf("%s: %d %s, want %s with %q", c.name, r.status, r.body, c.code, c.want)
			}
		}
		if r := e.do(t, req{method: "POST", url: "/api/v1/imports", bearer: token, ctype: "application/json", body: `{"kind":"students"}`}); r.status != 400 ||
			!strings.Contains(r.body, "multipart") {
			t.Errorf("JSON instead of a form: %d %s", r.status, r.body)
		}
		// The page: the form again with the message; CSRF and roles hold.
		prov := e.sessionOf(t, demo.ProvinceUser)
		r := e.upload(t, "/imports", prov, "", "x.csv", part{name: "kind", value: "students"}, part{name: "file", file: strings.NewReader("姓名\n张三\n")})
		if r.status != 400 || !strings.Contains(r.body, `data-testid="form-error"`) || !strings.Contains(r.body, "表头缺少必填列") {
			t.Errorf("page upload with missing columns: %d\n%s", r.status, truncate(r.body))
		}
		noToken := *prov
		noToken.csrf = "forged"
		if r := e.upload(t, "/imports", &noToken, "", "x.csv", part{name: "kind", value: "students"}, part{name: "file", file: strings.NewReader(good)}); r.status != 403 {
			t.Errorf("upload with a forged CSRF token: %d", r.status)
		}
		auditor := e.sessionOf(t, demo.AuditorUser)
		if r := e.upload(t, "/imports", auditor, "", "x.csv", part{name: "kind", value: "students"}, part{name: "file", file: strings.NewReader(good)}); r.status != 403 {
			t.Errorf("the auditor uploaded: %d", r.status)
		}
		_, after, err := e.db.ImportJobs(t.Context(), "", true, 1)
		if err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("refused uploads made %d jobs", after-before)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
