package e2e

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// killRows is the size of the file: long enough to commit for a few
// seconds, so that the kill lands in the middle.
const killRows = 60_000

// TestImportSurvivesKill9 kills a real gongjiang serve process with
// SIGKILL while it commits an import, then checks the database holds
// whole batches only, exactly as many rows as the job's checkpoint says;
// a restarted server takes the job over and finishes it with every row
// once. In valid-only mode batches commit one by one; all-or-nothing is
// one transaction, so the kill leaves nothing.
func TestImportSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "gongjiang")
	build := exec.Command("go", "build", "-o", bin, "../../cmd/gongjiang")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	db := filepath.Join(dir, "kill.db")
	gj := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append(args, "--db", db)...)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gongjiang %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	gj("demo", "--scale", "small")
	token := gj("token", "create", "--user", "province")
	const school = "3701001"
	sheet := filepath.Join(dir, "students.csv")
	writeSheet(t, sheet, school, killRows, 2008)

	for _, mode := range []string{transfer.ModeValidOnly, transfer.ModeAllOrNothing} {
		t.Run(mode, func(t *testing.T) {
			raw, err := sql.Open("sqlite", db)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			count := func() int {
				var n int
				if err := raw.QueryRow(`SELECT COUNT(*) FROM students WHERE school_code = $1 AND enrollment_date = '2026-09-01'`, school).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			// Each mode loads the same people: the first run's rows leave.
			if _, err := raw.Exec(`DELETE FROM students WHERE school_code = $1 AND enrollment_date = '2026-09-01'`, school); err != nil {
				t.Fatal(err)
			}

			srv := startProcess(t, bin, db)
			id := postImport(t, srv.base, token, sheet, mode)
			// Wait until the commit is under way, then kill -9: in
			// valid-only a few batches in (of 5,000 rows), in all-or-nothing once the
			// check pass has read the whole file and the one transaction
			// is writing.
			under := 15_000
			if mode == transfer.ModeAllOrNothing {
				under = killRows
			}
			deadline := time.Now().Add(2 * time.Minute)
			for {
				j := getJob(t, srv.base, token, id)
				if j.State == transfer.JobDone {
					t.Fatalf("the job finished before the kill: make the file longer")
				}
				if j.State == transfer.JobRunning && j.RowsRead >= under {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the job did not get going: %+v", j)
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond) // into the transaction
			srv.kill(t)

			var line, added int
			var state string
			if err := raw.QueryRow(`SELECT state, line, added FROM import_jobs WHERE id = $1`, id).Scan(&state, &line, &added); err != nil {
				t.Fatal(err)
			}
			in := count()
			t.Logf("%s: killed with %d rows in, checkpoint at line %d with %d added (state %s)", mode, in, line, added, state)
			if in != added {
				t.Fatalf("%d rows are in but the checkpoint counts %d: a batch was half-written or its checkpoint lost", in, added)
			}
			if mode == transfer.ModeAllOrNothing && in != 0 {
				t.Fatalf("all-or-nothing left %d rows after the kill", in)
			}
			if mode == transfer.ModeValidOnly && (in == 0 || in == killRows || (line-1)%5000 != 0) {
				t.Fatalf("valid-only left %d rows, checkpoint at line %d: want some whole batches of 5,000 rows, not all", in, line)
			}

			// A new server process takes the job over when the lease runs
			// out, and finishes it.
			srv = startProcess(t, bin, db)
			deadline = time.Now().Add(3 * time.Minute)
			var j jobBody
			for j = getJob(t, srv.base, token, id); j.State != transfer.JobDone; j = getJob(t, srv.base, token, id) {
				if j.State == transfer.JobFailed || time.Now().After(deadline) {
					t.Fatalf("after the restart the job ended %+v", j)
				}
				time.Sleep(50 * time.Millisecond)
			}
			srv.stop(t)
			want := transfer.Summary{Rows: killRows, Added: killRows, Committed: true}
			if j.Summary != want {
				t.Errorf("summary %+v, want %+v", j.Summary, want)
			}
			if n := count(); n != killRows {
				t.Errorf("%d rows in, want exactly %d", n, killRows)
			}
			var people int
			if err := raw.QueryRow(`SELECT COUNT(DISTINCT id_blind) FROM students WHERE school_code = $1 AND enrollment_date = '2026-09-01'`, school).Scan(&people); err != nil {
				t.Fatal(err)
			}
			if people != killRows {
				t.Errorf("%d distinct people among the rows, want %d (no duplicates)", people, killRows)
			}
		})
	}
}

// writeSheet writes a CSV of n new students at a school, born from the
// given year on in 喀什 (653101): the small demo's people are all from
// Shandong, so none of these is registered already.
func writeSheet(t *testing.T, path, school string, n int, born int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"学校代码", "姓名", "证件号码", "性别", "出生日期", "民族", "专业", "培养层次", "学习形式", "入学起点", "入学日期"})
	for i := range n {
		birth := time.Date(born, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%700)
		sex := []string{"男", "女"}[i%2]
		w.Write([]string{school, "导入" + string(rune(0x4E00+i%20000)), idcard.Synthesize("653101", birth, i/700, idcard.Sex(sex)),
			sex, birth.Format(time.DateOnly), "汉族", "汽车维修", "中级工班", "全日制", "初中毕业生", "2026-09-01"})
	}
	w.Flush()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

type process struct {
	cmd  *exec.Cmd
	base string
	done chan struct{} // closed when the process has exited
	err  error
}

var listening = regexp.MustCompile(`工匠已启动：(http://[0-9.:]+)`)

// startProcess runs gongjiang serve on db with a short import lease and
// the extra arguments.
func startProcess(t *testing.T, bin, db string, extra ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--db", db, "--addr", "127.0.0.1:0", "--import-lease", "2s"}, extra...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("serve log:\n%s", tail(logs.String(), 6000))
		}
	})
	select {
	case p.base = <-found:
	case <-p.done:
		t.Fatalf("serve exited: %v\n%s", p.err, logs.String())
	case <-time.After(time.Minute):
		t.Fatal("serve did not start")
	}
	return p
}

func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(time.Minute):
		t.Error("serve did not stop on SIGINT")
		p.kill(t)
	}
}

type jobBody struct {
	ID       int64            `json:"id"`
	State    string           `json:"state"`
	RowsRead int              `json:"rows_read"`
	Summary  transfer.Summary `json:"summary"`
	Error    string           `json:"error"`
}

func postImport(t *testing.T, base, token, path, mode string) int64 {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("kind", "students")
		mw.WriteField("mode", mode)
		mw.WriteField("dry_run", "false")
		fw, err := mw.CreateFormFile("file", filepath.Base(path))
		if err == nil {
			var f *os.File
			if f, err = os.Open(path); err == nil {
				_, err = io.Copy(fw, f)
				f.Close()
			}
		}
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(mw.Close())
	}()
	req, _ := http.NewRequestWithContext(context.Background(), "POST", base+"/api/v1/imports", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return jobReply(t, req, token, http.StatusAccepted).ID
}

func getJob(t *testing.T, base, token string, id int64) jobBody {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/imports/%d", base, id), nil)
	return jobReply(t, req, token, http.StatusOK)
}

// jobReply sends req with the bearer token and reads the job it answers
// with the status wanted.
func jobReply(t *testing.T, req *http.Request, token string, want int) jobBody {
	t.Helper()
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var j jobBody
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want || json.Unmarshal(b, &j) != nil {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, res.StatusCode, b)
	}
	return j
}
