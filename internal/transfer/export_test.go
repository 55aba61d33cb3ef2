package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
)

func TestExportRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	ex, err := NewExport(&buf, "学籍", []string{"学籍号", "证件号码", "学校代码", "人数", "重点", "空", "备注"})
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]any{
		{"Q2026000001", "370102200801010036", "0012345", 42, true, nil, "  前后有空格  "},
		{"Q2026000002", "1101**********0036", "000", int64(0), false, "", "1E5"},
		{"Q2026000003", "12345678901234567890", "3701001", 3.5, false, nil, "=1+1"},
	}
	for _, r := range rows {
		if err := ex.Row(r...); err != nil {
			t.Fatal(err)
		}
	}
	if buf.Len() != 0 {
		t.Fatalf("%d bytes written before Close", buf.Len())
	}
	if ex.Rows() != len(rows) {
		t.Errorf("Rows() = %d", ex.Rows())
	}
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ex.Row("late"); err == nil {
		t.Error("Row after Close succeeded")
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("the export does not open: %v", err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !slices.Equal(got, []string{"学籍"}) {
		t.Errorf("sheets %q", got)
	}
	got, err := f.GetRows("学籍")
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"学籍号", "证件号码", "学校代码", "人数", "重点", "空", "备注"},
		{"Q2026000001", "370102200801010036", "0012345", "42", "是", "", "  前后有空格  "},
		{"Q2026000002", "1101**********0036", "000", "0", "否", "", "1E5"},
		{"Q2026000003", "12345678901234567890", "3701001", "3.5", "否", "", "=1+1"},
	}
	for i := range want {
		if i >= len(got) {
			t.Fatalf("%d rows, want %d", len(got), len(want))
		}
		row := append(got[i], make([]string, len(want[i]))...)[:len(want[i])]
		if !slices.Equal(row, want[i]) {
			t.Errorf("row %d: %q, want %q", i+1, row, want[i])
		}
	}
	// Text stays text: no number, no formula.
	for _, cell := range []string{"B2", "C2", "C3", "B4", "G3", "G4"} {
		typ, _ := f.GetCellType("学籍", cell)
		if typ != excelize.CellTypeInlineString {
			t.Errorf("%s: cell type %v, want an inline string", cell, typ)
		}
		if formula, _ := f.GetCellFormula("学籍", cell); formula != "" {
			t.Errorf("%s: formula %q", cell, formula)
		}
	}
	if typ, _ := f.GetCellType("学籍", "D2"); typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
		t.Errorf("D2 (a number): cell type %v", typ)
	}
	if st := cellStyle(t, f, "学籍", "A1"); st.Font == nil || !st.Font.Bold {
		t.Error("the header is not bold")
	}
	if st := cellStyle(t, f, "学籍", "C3"); st.NumFmt != 49 {
		t.Errorf("a text cell has number format %d, want 49 (@)", st.NumFmt)
	}
	if panes, err := f.GetPanes("学籍"); err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("panes %+v %v", panes, err)
	}
}

func TestExportEmptyAndAbort(t *testing.T) {
	var buf bytes.Buffer
	ex, err := NewExport(&buf, "学校", SchoolHeaders())
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("学校")
	f.Close()
	if len(rows) != 1 || !slices.Equal(rows[0], SchoolHeaders()) {
		t.Errorf("an empty export: %q", rows)
	}

	buf.Reset()
	ex, err = NewExport(&buf, "学校", SchoolHeaders())
	if err != nil {
		t.Fatal(err)
	}
	ex.Row("x")
	ex.Abort()
	ex.Abort()
	if buf.Len() != 0 {
		t.Errorf("Abort wrote %d bytes", buf.Len())
	}
	if err := ex.Close(); err == nil {
		t.Error("Close after Abort succeeded")
	}
}

// fakeStudents serves n students newest first, as the store does, and
// records the pages asked for.
type fakeStudents struct {
	all   []*student.Student
	pages []student.Filter
}

func newFakeStudents(n int) *fakeStudents {
	fs := &fakeStudents{}
	for id := n; id >= 1; id-- {
		fs.all = append(fs.all, &student.Student{ID: int64(id), StudentNo: fmt.Sprintf("Q2026%06d", id), Name: "学生" + strconv.Itoa(id),
			IDType: student.ResidentID, IDNumber: "3701**********" + fmt.Sprintf("%04d", id%10000), Sex: "女", BirthDate: "2008-01-01",
			Ethnicity: "汉族", SchoolCode: "0370101", SchoolName: "济南技师学院", Major: "数控加工", ClassLevel: "中级工班",
			StudyMode: student.ModeFullTime, EntryPoint: "初中毕业生", EnrollmentDate: "2026-09-01", ExpectedGraduation: "2029-07-01",
			Status: "在籍"})
	}
	return fs
}

func (fs *fakeStudents) list(_ context.Context, f student.Filter) ([]*student.Student, int, error) {
	fs.pages = append(fs.pages, f)
	var out []*student.Student
	for _, st := range fs.all {
		if (f.After == 0 || st.ID < f.After) && len(out) < f.Limit {
			out = append(out, st)
		}
	}
	return out, len(fs.all), nil
}

func TestExportStudentsWalksEveryPage(t *testing.T) {
	for _, n := range []int{0, 1, ExportPage, 2*ExportPage + 17} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			fs := newFakeStudents(n)
			var buf bytes.Buffer
			readyRows := -1
			rows, err := ExportStudents(t.Context(), &buf, fs.list, student.Filter{SchoolCode: "0370101", After: 99, Limit: 7},
				func(rows int) error {
					if buf.Len() != 0 {
						t.Errorf("%d bytes written before ready", buf.Len())
					}
					readyRows = rows
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if rows != n || readyRows != n {
				t.Errorf("rows %d, ready with %d, want %d", rows, readyRows, n)
			}
			if want := n/ExportPage + 1; len(fs.pages) != want {
				t.Errorf("%d pages read, want %d", len(fs.pages), want)
			}
			for i, p := range fs.pages {
				if p.Limit != ExportPage || p.SchoolCode != "0370101" {
					t.Errorf("page %d: %+v", i, p)
				}
				if i == 0 && p.After != 0 {
					t.Errorf("the first page starts after %d", p.After)
				}
				if i > 0 && p.After != fs.all[i*ExportPage-1].ID {
					t.Errorf("page %d starts after %d, want %d", i, p.After, fs.all[i*ExportPage-1].ID)
				}
			}
			f, err := excelize.OpenReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, _ := f.GetRows(Students.Name)
			if len(got) != n+1 || !slices.Equal(got[0], StudentHeaders) {
				t.Fatalf("%d rows (header %q), want %d", len(got), got[0], n+1)
			}
			for i, st := range fs.all {
				want := make([]string, len(StudentHeaders))
				for j, v := range StudentRow(st) {
					want[j] = v.(string)
				}
				row := append(got[i+1], make([]string, len(want))...)[:len(want)]
				if !slices.Equal(row, want) {
					t.Fatalf("row %d: %q, want %q", i+2, row, want)
				}
			}
		})
	}
}

func TestExportRefusedByReady(t *testing.T) {
	var buf bytes.Buffer
	refused := errors.New("audit down")
	_, err := ExportStudents(t.Context(), &buf, newFakeStudents(3).list, student.Filter{}, func(int) error { return refused })
	if !errors.Is(err, refused) || buf.Len() != 0 {
		t.Errorf("err %v, %d bytes written", err, buf.Len())
	}
	failing := func(context.Context, student.Filter) ([]*student.Student, int, error) {
		return nil, 0, errors.New("db down")
	}
	if _, err := ExportStudents(t.Context(), &buf, failing, student.Filter{}, nil); err == nil || buf.Len() != 0 {
		t.Errorf("a failing list: err %v, %d bytes written", err, buf.Len())
	}
}

func TestExportSchools(t *testing.T) {
	all := []*school.School{
		{Code: "0370001", Name: "甲技师学院", Type: "技师学院", Ownership: "公办", DivisionCode: "370102", CityName: "济南市",
			NationalKey: true, Status: school.StatusOperating, Address: "历下区 1 号", Capacity: 3000},
		{Code: "3702001", Name: "乙技工学校", Type: "技工学校", Ownership: "民办", DivisionCode: "370202", CityName: "青岛市",
			ProvincialQuality: true, Status: school.StatusSuspended},
	}
	var asked []school.Filter
	list := func(_ context.Context, f school.Filter) ([]*school.School, int, error) {
		asked = append(asked, f)
		var out []*school.School
		for _, sc := range all {
			if sc.Code > f.After && len(out) < f.Limit {
				out = append(out, sc)
			}
		}
		return out, len(all), nil
	}
	var buf bytes.Buffer
	n, err := ExportSchools(t.Context(), &buf, list, school.Filter{Type: "技师学院"}, nil)
	if err != nil || n != 2 {
		t.Fatalf("%d rows, %v", n, err)
	}
	if len(asked) != 1 || asked[0].Type != "技师学院" || asked[0].Limit != ExportPage {
		t.Errorf("pages asked: %+v", asked)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := f.GetRows(Schools.Name)
	want := [][]string{
		{"学校代码", "学校名称", "学校类型", "举办性质", "所在区县代码", "国家级重点", "省级优质", "办学状态", "地址", "核定办学规模", "城市"},
		{"0370001", "甲技师学院", "技师学院", "公办", "370102", "是", "否", "办学", "历下区 1 号", "3000", "济南市"},
		{"3702001", "乙技工学校", "技工学校", "民办", "370202", "否", "是", "停招", "", "", "青岛市"},
	}
	for i := range want {
		row := append(got[i], make([]string, len(want[i]))...)[:len(want[i])]
		if !slices.Equal(row, want[i]) {
			t.Errorf("row %d: %q, want %q", i+1, row, want[i])
		}
	}
	// The export's header is an import header.
	if _, unknown, missing := Schools.Match(got[0]); len(missing) > 0 || !slices.Equal(unknown, []string{"城市"}) {
		t.Errorf("Match of the export header: unknown %q, missing %q", unknown, missing)
	}
}

// heapSampler follows the heap in use (objects, live or not yet
// collected) while an export runs and reports its peak above the start.
type heapSampler struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	runtime.GC()
	h := &heapSampler{base: heapObjects(), stop: make(chan struct{})}
	h.peak.Store(h.base)
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				h.sample()
			}
		}
	}()
	return h
}

func (h *heapSampler) sample() {
	v := heapObjects()
	for {
		p := h.peak.Load()
		if v <= p || h.peak.CompareAndSwap(p, v) {
			return
		}
	}
}

// done stops sampling and returns the peak above the start, in MiB.
func (h *heapSampler) done() float64 {
	close(h.stop)
	h.wg.Wait()
	h.sample()
	return float64(h.peak.Load()-h.base) / (1 << 20)
}

// exportHeapBound is what TestExportHeapBounded allows (MiB); see Exporter.
const exportHeapBound = 96

// raceEnabled reports whether the test runs under the race detector,
// which makes excelize about 15 times slower.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// bigExport is the row count of the large export tests: 200,000, and
// 50,000 under the race detector (where 200,000 rows take two minutes).
func bigExport() int {
	if raceEnabled() {
		return 50_000
	}
	return 200_000
}

// TestExportHeapBounded writes student-like rows to a file and measures
// the heap: the peak must stay under exportHeapBound and not grow with
// the number of rows. The rows are built on the fly so that only the
// exporter holds memory.
func TestExportHeapBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 220,000 rows")
	}
	proto := StudentRow(newFakeStudents(1).all[0])
	measure := func(n int) (float64, int64) {
		path := filepath.Join(t.TempDir(), "export.xlsx")
		out, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		h := startHeapSampler()
		ex, err := NewExport(out, Students.Name, StudentHeaders)
		if err != nil {
			t.Fatal(err)
		}
		row := slices.Clone(proto)
		for i := range n {
			row[0] = fmt.Sprintf("Q2026%07d", i)
			row[3] = fmt.Sprintf("0701**********%04d", i%10000) // a leading zero
			if err := ex.Row(row...); err != nil {
				t.Fatal(err)
			}
			if i%1000 == 0 {
				h.sample()
			}
		}
		if err := ex.Close(); err != nil {
			t.Fatal(err)
		}
		peak := h.done()
		fi, err := out.Stat()
		if err != nil {
			t.Fatal(err)
		}
		return peak, fi.Size()
	}
	n := bigExport()
	small, smallSize := measure(20_000)
	peak, size := measure(n)
	t.Logf("peak heap above start: %.1f MiB for 20,000 rows (%.1f MiB file), %.1f MiB for %d rows (%.1f MiB file); bound %d MiB",
		small, float64(smallSize)/(1<<20), peak, n, float64(size)/(1<<20), exportHeapBound)
	if raceEnabled() {
		return // the race detector's runtime collects later: the figures are not the program's
	}
	if peak > exportHeapBound {
		t.Errorf("exporting %d rows took %.1f MiB of heap, over %d MiB", n, peak, exportHeapBound)
	}
	if peak > 1.5*small+16 {
		t.Errorf("the heap grows with the rows: %.1f MiB for 20,000, %.1f MiB for %d", small, peak, n)
	}
}

// The 200,000-row file reads back whole, with its leading zeros.
func TestExportLargeReadsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads 200,000 rows")
	}
	n := bigExport()
	path := filepath.Join(t.TempDir(), "big.xlsx")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := NewExport(out, "学籍", []string{"学籍号", "证件号码"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := ex.Row(fmt.Sprintf("%010d", i), "0"+strconv.Itoa(370102200801010000+i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.Rows("学籍")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	i := -1
	for rows.Next() {
		cols, err := rows.Columns()
		if err != nil {
			t.Fatal(err)
		}
		if i >= 0 {
			if want := []string{fmt.Sprintf("%010d", i), "0" + strconv.Itoa(370102200801010000+i)}; !slices.Equal(cols, want) {
				t.Fatalf("row %d: %q, want %q", i+2, cols, want)
			}
		}
		i++
	}
	if i != n {
		t.Errorf("%d rows read back, want %d", i, n)
	}
}
