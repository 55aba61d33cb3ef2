package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/plan"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
)

type factKey struct {
	school string
	year   int
}

type factCounts struct{ intake, enrolled, senior int }

// factsYear is the year the rollup runs to: the current one in China.
func factsYear() int { return time.Now().In(time.FixedZone("CST", 8*3600)).Year() }

// sqlFacts counts every school's facts for the years from to to straight
// from the student records, with the definitions the demo's calibration
// test uses (internal/demo/demo_test.go); all-zero years are left out.
func sqlFacts(t *testing.T, raw *sql.DB, from, to int) map[factKey]factCounts {
	t.Helper()
	out := map[factKey]factCounts{}
	query := func(intake bool, q string, y int, args ...any) {
		rows, err := raw.Query(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		for rows.Next() {
			var code string
			var a, b int
			if err := rows.Scan(&code, &a, &b); err != nil {
				t.Fatal(err)
			}
			k := factKey{code, y}
			c := out[k]
			if intake {
				c.intake = a
			} else {
				c.enrolled, c.senior = a, b
			}
			out[k] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for y := from; y <= to; y++ {
		query(true, `SELECT school_code, COUNT(*), 0 FROM students WHERE enrollment_date BETWEEN $1 AND $2 GROUP BY school_code`, y,
			fmt.Sprintf("%d-01-01", y), fmt.Sprintf("%d-12-31", y))
		query(false, `SELECT school_code, COUNT(*), COUNT(*) FILTER (WHERE class_level <> '中级工班') FROM students
			WHERE enrollment_date <= $1 AND (left_date IS NULL OR left_date > $1) GROUP BY school_code`, y, fmt.Sprintf("%d-12-31", y))
	}
	return out
}

// rollupFacts reads the rollup through SchoolYears and checks each row's
// school attributes against the schools table.
func rollupFacts(t *testing.T, db *store.DB, raw *sql.DB, scope auth.Scope, from, to int) map[factKey]factCounts {
	t.Helper()
	list, err := db.SchoolYears(context.Background(), scope, from, to)
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]plan.SchoolYear{}
	rows, err := raw.Query(`SELECT code, city_code, type, national_key, provincial_quality FROM schools`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f plan.SchoolYear
		if err := rows.Scan(&f.School, &f.City, &f.Type, &f.NationalKey, &f.Quality); err != nil {
			t.Fatal(err)
		}
		attrs[f.School] = f
	}
	rows.Close()
	out := map[factKey]factCounts{}
	for i, f := range list {
		if i > 0 && (f.School < list[i-1].School || f.School == list[i-1].School && f.Year <= list[i-1].Year) {
			t.Fatalf("SchoolYears out of order at %d: %+v after %+v", i, f, list[i-1])
		}
		a := attrs[f.School]
		if f.City != a.City || f.Type != a.Type || f.NationalKey != a.NationalKey || f.Quality != a.Quality {
			t.Errorf("school attributes of %+v, want %+v", f, a)
		}
		if f.Year < from || f.Year > to {
			t.Errorf("year %d outside %d–%d", f.Year, from, to)
		}
		out[factKey{f.School, f.Year}] = factCounts{f.Intake, f.Enrolled, f.EnrolledSenior}
	}
	return out
}

// sameFacts fails t where the rollup and the direct count differ.
func sameFacts(t *testing.T, step string, got, want map[factKey]factCounts) {
	t.Helper()
	var keys []factKey
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].school < keys[j].school || keys[i].school == keys[j].school && keys[i].year < keys[j].year
	})
	bad := 0
	for _, k := range keys {
		if got[k] != want[k] {
			if bad++; bad <= 10 {
				t.Errorf("%s: %s %d: rollup %+v, records %+v", step, k.school, k.year, got[k], want[k])
			}
		}
	}
	if bad > 10 {
		t.Errorf("%s: %d school-years differ in all", step, bad)
	}
	if len(want) == 0 {
		t.Fatalf("%s: no facts to compare", step)
	}
}

// checkFacts compares the whole rollup with a full count from the records.
func checkFacts(t *testing.T, step string, db *store.DB, raw *sql.DB) {
	t.Helper()
	var first int
	if err := raw.QueryRow(`SELECT CAST(MIN(substr(enrollment_date, 1, 4)) AS INTEGER) FROM students`).Scan(&first); err != nil {
		t.Fatal(err)
	}
	all := auth.Scope{Kind: auth.ScopeAll}
	sameFacts(t, step, rollupFacts(t, db, raw, all, 1900, 3000), sqlFacts(t, raw, first, factsYear()))
}

func rebuild(t *testing.T, db *store.DB, full bool, want int) {
	t.Helper()
	n, err := db.RebuildFacts(context.Background(), full)
	if err != nil {
		t.Fatal(err)
	}
	if want >= 0 && n != want {
		t.Errorf("RebuildFacts(%t) recomputed %d schools, want %d", full, n, want)
	}
}

// A registry with students in three schools and thirteen bystanders
// goes through registrations, graduations, a withdrawal, transfers that
// empty a school, a bulk load with old timestamps and a late commit; after
// each incremental rebuild the rollup equals a count from the records,
// and only the schools concerned were recomputed.
func TestFactsIncrementalRebuild(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		raw := storetest.Raw(t, dsn)
		codes := []struct{ code, div string }{{"3701001", "370102"}, {"3701002", "370112"}, {"3702001", "370202"}}
		for i := range 13 {
			codes = append(codes, struct{ code, div string }{fmt.Sprintf("3701%03d", 101+i), "370102"})
		}
		for i, c := range codes {
			s := newSchool(c.code, c.div)
			s.Type = school.Types[i%3]
			s.NationalKey, s.ProvincialQuality = i%2 == 0, i%3 == 0
			if err := db.CreateSchool(ctx, s, entry("school.create", c.code)); err != nil {
				t.Fatal(err)
			}
		}
		svc := student.NewService(db, storetest.Protector())
		today := time.Now().In(time.FixedZone("CST", 8*3600))
		todayS := today.Format("2006-01-02")
		p := func(code string) auth.Principal {
			return auth.Principal{Name: "school-" + code, Role: auth.RoleSchool, ScopeCode: code}
		}
		jinan := auth.Principal{Name: "jinan", Role: auth.RoleCity, ScopeCode: "370100"}
		qingdao := auth.Principal{Name: "qingdao", Role: auth.RoleCity, ScopeCode: "370200"}
		n := 0
		register := func(code, level, enrolled string) *student.Student {
			t.Helper()
			n++
			e, _ := time.Parse("2006-01-02", enrolled)
			birth := e.AddDate(-17, -n%12, -n%27)
			sex := []string{"男", "女"}[n%2]
			st, err := svc.Register(ctx, p(code), student.Registration{SchoolCode: code, Name: "学生" + strings.Repeat("甲", 1+n%3),
				IDNumber: idcard.Synthesize("370102", birth, n, idcard.Sex(sex)), Sex: sex, BirthDate: birth.Format("2006-01-02"),
				Ethnicity: "汉族", Major: "汽车维修", ClassLevel: level, StudyMode: "全日制", EnrollmentDate: enrolled})
			if err != nil {
				t.Fatalf("register %s %s %s: %v", code, level, enrolled, err)
			}
			return st
		}
		change := func(st *student.Student, typ, eff string, changes map[string]string, approvers ...auth.Principal) {
			t.Helper()
			req, err := svc.ProposeChange(ctx, p(st.SchoolCode), st.ID, student.ChangeInput{Type: typ, Reason: "测试", EffectiveDate: eff, Changes: changes})
			if err != nil {
				t.Fatalf("%s: %v", typ, err)
			}
			for _, a := range approvers {
				if req, err = svc.Approve(ctx, a, req.ID, ""); err != nil {
					t.Fatalf("%s approved by %s: %v", typ, a.Name, err)
				}
			}
			if req.State != student.StateApplied {
				t.Fatalf("%s: %s", typ, req.State)
			}
		}
		a2019 := register("3701001", "中级工班", "2019-09-01")
		register("3701001", "高级工班", "2021-09-01")
		register("3701001", "中级工班", "2024-09-01")
		register("3701001", "预备技师班", today.AddDate(0, -1, 0).Format("2006-01-02"))
		b1 := register("3701002", "高级工班", "2023-09-01")
		b2 := register("3701002", "中级工班", "2025-03-01")
		q2020 := register("3702001", "中级工班", "2020-09-01")
		register("3702001", "高级工班", "2022-09-01")
		var bystanders []*student.Student
		for _, c := range codes[3:] {
			bystanders = append(bystanders, register(c.code, "中级工班", "2022-09-01"), register(c.code, "高级工班", "2024-03-01"))
		}
		// The first rebuild is a full one: nothing was built yet.
		rebuild(t, db, false, len(codes))
		checkFacts(t, "first build", db, raw)
		rebuild(t, db, false, 0)

		// Graduation dated last December, a withdrawal today, both of B's
		// students transferred to A (B is left with none), a registration.
		lastDec := fmt.Sprintf("%d-12-20", today.Year()-1)
		if lastDec < today.AddDate(-1, 0, 0).Format("2006-01-02") {
			lastDec = todayS
		}
		change(a2019, "毕业", lastDec, nil, jinan)
		change(q2020, "退学", todayS, nil, qingdao)
		change(b1, "转学", todayS, map[string]string{"school_code": "3701001"}, jinan)
		change(b2, "转学", todayS, map[string]string{"school_code": "3701001"}, jinan)
		register("3702001", "高级工班", today.AddDate(0, -2, 0).Format("2006-01-02"))
		rebuild(t, db, false, 3)
		checkFacts(t, "after status changes", db, raw)
		var bRows int
		raw.QueryRow(`SELECT COUNT(*) FROM school_year_facts WHERE school_code = '3701002'`).Scan(&bRows)
		if bRows != 0 {
			t.Errorf("the emptied school keeps %d rows", bRows)
		}
		rebuild(t, db, false, 0)

		// A bulk load stamped years ago: found by its ids.
		old := bulkStudent(storetest.Protector(), "3701101", "2018-09-01", "2021-07-01")
		if err := db.LoadStudents(ctx, []*student.Student{old}); err != nil {
			t.Fatal(err)
		}
		rebuild(t, db, false, 1)
		checkFacts(t, "after a bulk load", db, raw)

		// A write that commits late, stamped before the last rebuild began
		// (within the overlap window): found by its timestamp.
		mustExec(t, raw, `UPDATE students SET left_date = '2024-07-01', status = '毕业', active = FALSE, version = version + 1,
			updated_at = $1 WHERE id = $2`, time.Now().Add(-5*time.Minute).UnixMicro(), bystanders[2].ID)
		rebuild(t, db, false, 1)
		checkFacts(t, "after a late commit", db, raw)
		rebuild(t, db, false, 0)

		// A full rebuild recomputes every school and agrees.
		rebuild(t, db, true, len(codes))
		checkFacts(t, "after a full rebuild", db, raw)
		// A rebuild that changes nothing leaves the facts' version alone,
		// so the dashboards' caches stay warm.
		changed, err := db.FactsChanged(ctx)
		if err != nil || changed.IsZero() {
			t.Fatalf("FactsChanged after a full rebuild: %v, %v", changed, err)
		}
		rebuild(t, db, false, 0)
		if again, _ := db.FactsChanged(ctx); !again.Equal(changed) {
			t.Errorf("a rebuild that found nothing moved FactsChanged from %v to %v", changed, again)
		}

		first, last, err := db.FactYears(ctx)
		if err != nil || first != 2018 || last != factsYear() {
			t.Errorf("FactYears = %d, %d, %v; want 2018, %d", first, last, err, factsYear())
		}
		if at, err := db.FactsAsOf(ctx); err != nil || time.Since(at) > time.Minute {
			t.Errorf("FactsAsOf = %v, %v", at, err)
		}
	})
}

// bulkStudent is a record as the demo's bulk loader writes it: numbered
// by hand, stamped at its last activity years ago.
func bulkStudent(protect pii.Protector, code, enrolled, left string) *student.Student {
	e, _ := time.Parse("2006-01-02", enrolled)
	birth := e.AddDate(-16, 0, 0)
	number := idcard.Synthesize("370102", birth, 777, idcard.Sex("男"))
	l, _ := time.Parse("2006-01-02", left)
	st := &student.Student{StudentNo: store.StudentNo(code, student.ModeFullTime, e.Year(), 90001), SchoolCode: code, CityCode: code[:4] + "00",
		Name: "旧生", IDType: student.ResidentID, IDSealed: protect.Seal([]byte(number), []byte(student.ResidentID)),
		IDBlind: protect.BlindIndex(student.ResidentID + ":" + number), IDMasked: pii.MaskNumber(number), Sex: "男",
		BirthDate: birth.Format("2006-01-02"), Ethnicity: "汉族", Major: "汽车维修", ClassLevel: "高级工班", StudyMode: student.ModeFullTime,
		EntryPoint: "初中毕业生", EnrollmentDate: enrolled, ExpectedGraduation: left, Status: student.StatusGraduated, LeftDate: left,
		LastActivity: l, CreatedAt: e, UpdatedAt: l, Version: 1}
	return st
}

// SchoolYears shows a province everything, a city its schools and a
// school itself, for the years asked.
func TestFactsScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		raw := storetest.Raw(t, dsn)
		var schools []*school.School
		for _, c := range []struct{ code, div string }{{"3701001", "370102"}, {"3701002", "370112"}, {"3702001", "370202"}} {
			schools = append(schools, newSchool(c.code, c.div))
		}
		if err := db.LoadSchoolsAndUsers(ctx, schools, nil, audit.Entry{Actor: "t", Action: "demo.load", Entity: "demo"}); err != nil {
			t.Fatal(err)
		}
		var list []*student.Student
		for i, s := range schools {
			for y := 2019; y <= 2023; y++ {
				st := bulkStudent(storetest.Protector(), s.Code, fmt.Sprintf("%d-09-01", y), fmt.Sprintf("%d-07-01", y+2+i))
				st.StudentNo = store.StudentNo(s.Code, student.ModeFullTime, y, 1)
				list = append(list, st)
			}
		}
		if err := db.LoadStudents(ctx, list); err != nil {
			t.Fatal(err)
		}
		rebuild(t, db, true, 3)
		want := sqlFacts(t, raw, 2019, 2022)
		for _, tc := range []struct {
			scope   auth.Scope
			schools []string
		}{
			{auth.Scope{Kind: auth.ScopeAll}, []string{"3701001", "3701002", "3702001"}},
			{auth.Scope{Kind: auth.ScopeCity, Code: "370100"}, []string{"3701001", "3701002"}},
			{auth.Scope{Kind: auth.ScopeCity, Code: "370200"}, []string{"3702001"}},
			{auth.Scope{Kind: auth.ScopeSchool, Code: "3701002"}, []string{"3701002"}},
			{auth.Scope{Kind: auth.ScopeSchool, Code: "3709999"}, nil},
			{auth.Scope{Kind: auth.ScopeNone}, nil},
		} {
			in := map[string]bool{}
			for _, c := range tc.schools {
				in[c] = true
			}
			scoped := map[factKey]factCounts{}
			for k, v := range want {
				if in[k.school] {
					scoped[k] = v
				}
			}
			got := rollupFacts(t, db, raw, tc.scope, 2019, 2022)
			if len(scoped) == 0 {
				if len(got) != 0 {
					t.Errorf("scope %+v sees %v", tc.scope, got)
				}
				continue
			}
			sameFacts(t, fmt.Sprintf("scope %+v", tc.scope), got, scoped)
		}
	})
}

// The small demo, with its facts built as it loads, gives the same
// figures of 专栏1 (2016–2020) through the rollup as counted straight
// from the records, school by school and year by year.
func TestFactsDemoCalibration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		if _, err := demo.Generate(ctx, db, storetest.Protector(), demo.Small, 1); err != nil {
			t.Fatal(err)
		}
		raw := storetest.Raw(t, dsn)
		if at, _ := db.FactsAsOf(ctx); at.IsZero() {
			// demo.Generate does not build the facts: build them here.
			rebuild(t, db, true, -1)
		}
		checkFacts(t, "small demo", db, raw)
		rebuild(t, db, true, 24)
		checkFacts(t, "small demo, rebuilt", db, raw)

		one := func(q string, args ...any) float64 {
			var v float64
			if err := raw.QueryRow(q, args...).Scan(&v); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return v
		}
		inSchoolWhere := `enrollment_date <= $1 AND (left_date IS NULL OR left_date > $1)`
		facts, err := db.SchoolYears(ctx, auth.Scope{Kind: auth.ScopeAll}, 2016, 2020)
		if err != nil {
			t.Fatal(err)
		}
		var intake, stock [2021]float64
		var senior2020 float64
		limits := []int{10, 30, 60, 100} // the province's 10,000 at the small demo's scale is 30
		big := make([]int, len(limits))
		for _, f := range facts {
			intake[f.Year] += float64(f.Intake)
			stock[f.Year] += float64(f.Enrolled)
			if f.Year == 2020 {
				senior2020 += float64(f.EnrolledSenior)
				for i, limit := range limits {
					if f.Enrolled > limit {
						big[i]++
					}
				}
			}
		}
		var intakeSum, stockSum, sqlIntakeSum, sqlStockSum float64
		for y := 2016; y <= 2020; y++ {
			intakeSum += intake[y]
			stockSum += stock[y]
			sqlIntakeSum += one(`SELECT COUNT(*) FROM students WHERE enrollment_date BETWEEN $1 AND $2`, fmt.Sprintf("%d-01-01", y), fmt.Sprintf("%d-12-31", y))
			sqlStockSum += one(`SELECT COUNT(*) FROM students WHERE `+inSchoolWhere, fmt.Sprintf("%d-12-31", y))
		}
		same := func(name string, got, want float64) {
			t.Logf("%s: %.2f (records %.2f)", name, got, want)
			if got != want {
				t.Errorf("%s: rollup %.2f, records %.2f", name, got, want)
			}
		}
		same("年均招生规模 2016–2020", intakeSum/5, sqlIntakeSum/5)
		same("年均在校生规模 2016–2020", stockSum/5, sqlStockSum/5)
		same("2020 年招生", intake[2020], one(`SELECT COUNT(*) FROM students WHERE enrollment_date BETWEEN '2020-01-01' AND '2020-12-31'`))
		same("2020 年末在校生", stock[2020], one(`SELECT COUNT(*) FROM students WHERE `+inSchoolWhere, "2020-12-31"))
		same("高级工班以上在校生比例 2020 (%)", 100*senior2020/stock[2020],
			one(`SELECT 100.0 * COUNT(*) FILTER (WHERE class_level <> '中级工班') / COUNT(*) FROM students WHERE `+inSchoolWhere, "2020-12-31"))
		for i, limit := range limits {
			same(fmt.Sprintf("schools above %d students, end of 2020", limit), float64(big[i]),
				one(`SELECT COUNT(*) FROM (SELECT school_code FROM students WHERE `+inSchoolWhere+` GROUP BY school_code HAVING COUNT(*) > $2) x`, "2020-12-31", limit))
		}
		if stock[2020] == 0 || intake[2020] == 0 {
			t.Fatal("the small demo has no students in 2020")
		}
	})
}

// Rebuilds started at once from two nodes (two handles on one database),
// full and incremental, while registrations go on, take turns through
// the lease; once the writes stop, one more rebuild leaves the rollup
// equal to a count from the records.
func TestFactsConcurrentRebuilds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		nodes := []*store.DB{storetest.Open(t, dsn), storetest.Open(t, dsn)}
		raw := storetest.Raw(t, dsn)
		codes := []string{"3701001", "3701002", "3702001", "3702002"}
		for _, c := range codes {
			if err := nodes[0].CreateSchool(ctx, newSchool(c, c[:4]+"02"), entry("school.create", c)); err != nil {
				t.Fatal(err)
			}
		}
		svc := student.NewService(nodes[1], storetest.Protector())
		register := func(i int) {
			code := codes[i%len(codes)]
			enrolled := time.Date(2019+i%6, 9, 1, 0, 0, 0, 0, time.UTC)
			birth := enrolled.AddDate(-16, -i%12, 0)
			sex := []string{"男", "女"}[i%2]
			_, err := svc.Register(ctx, auth.Principal{Name: "s", Role: auth.RoleSchool, ScopeCode: code}, student.Registration{SchoolCode: code,
				Name: "学生乙", IDNumber: idcard.Synthesize("370102", birth, i, idcard.Sex(sex)), Sex: sex, BirthDate: birth.Format("2006-01-02"),
				Ethnicity: "汉族", Major: "汽车维修", ClassLevel: []string{"中级工班", "高级工班"}[i%2], EnrollmentDate: enrolled.Format("2006-01-02")})
			if err != nil {
				t.Error(err)
			}
		}
		for i := range 20 {
			register(i)
		}
		done := make(chan struct{})
		errs := make(chan error, 100)
		go func() {
			defer close(done)
			for i := 20; i < 60; i++ {
				register(i)
			}
		}()
		var running sync.WaitGroup
		for g := range 4 {
			running.Add(1)
			go func() {
				defer running.Done()
				for i := range 5 {
					_, err := nodes[g%2].RebuildFacts(ctx, (g+i)%4 == 0)
					errs <- err
				}
			}()
		}
		running.Wait()
		<-done
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		rebuild(t, nodes[0], false, -1)
		checkFacts(t, "after concurrent rebuilds", nodes[0], raw)
	})
}
