package demo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/plan"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
)

func allSchools(t testing.TB, db *store.DB) []*school.School {
	t.Helper()
	var out []*school.School
	f := school.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: school.MaxPageSize}
	for {
		items, _, err := db.FindSchools(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, items...)
		if len(items) < f.Limit {
			return out
		}
		f.After = items[len(items)-1].Code
	}
}

// The small demo has the same shape: schools, users, students.
func TestSmallDemo(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		sum, err := demo.Generate(ctx, db, storetest.Protector(), demo.Small, 1)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Schools != 24 || sum.Users != 2+4+24 || sum.Students.Active < 1000 {
			t.Fatalf("small demo: %+v", sum)
		}
		for _, name := range []string{demo.ProvinceUser, demo.AuditorUser, demo.CityUser("370100"), demo.SchoolUser("3701001")} {
			u, err := db.FindUserByName(ctx, name)
			if err != nil || !auth.VerifyPassword(u.PasswordHash, demo.Password) {
				t.Errorf("demo account %s: %v", name, err)
			}
		}
		if p, _, err := db.VerifyAudit(ctx); err != nil || p != nil {
			t.Errorf("audit after demo: %v %v", p, err)
		}
		// The generator numbers the records itself: every certificate
		// names its own graduate, and the database's numbering continues
		// after the load.
		raw := storetest.Raw(t, dsn)
		var certs, matched int
		raw.QueryRow(`SELECT COUNT(*) FROM certificates`).Scan(&certs)
		raw.QueryRow(`SELECT COUNT(*) FROM certificates c JOIN students s ON s.id = c.student_id
			WHERE s.name = c.holder_name AND s.school_code = c.school_code AND s.status = '毕业' AND s.left_date = c.graduation_date`).Scan(&matched)
		if certs == 0 || matched != certs || certs != sum.Students.Certificates {
			t.Errorf("%d certificates, %d of them match their student, summary says %d", certs, matched, sum.Students.Certificates)
		}
		page, _, err := db.FindStudents(ctx, student.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: 1})
		if err != nil || len(page) != 1 {
			t.Fatalf("first student: %v %v", page, err)
		}
		next := *page[0]
		next.ID, next.StudentNo, next.IDBlind, next.Status, next.LeftDate = 0, next.StudentNo+"9", "after-load", student.StatusWithdrawn, next.EnrollmentDate
		if err := db.LoadStudents(ctx, []*student.Student{&next}); err != nil {
			t.Fatalf("a record added after the load: %v", err)
		}
	})
}

// The province demo is Shandong: 181 schools (45 技师学院, 32 高级技工学校,
// 104 技工学校) in all 16 cities, and the 2020 column of the provincial
// plan's 专栏1 comes out of the student records.
func TestProvinceCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("loads about two million students")
	}
	ctx := context.Background()
	dsn := storetest.DSN(t, store.SQLite)
	db := storetest.Open(t, dsn)
	sum, err := demo.Generate(ctx, db, storetest.Protector(), demo.Province, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("province demo: %d student records (%d active) in %v", sum.Students.Records, sum.Students.Active, sum.Elapsed)
	schools := allSchools(t, db)
	byType, byCity := map[string]int{}, map[string]int{}
	names := map[string]bool{}
	for _, s := range schools {
		byType[s.Type]++
		byCity[s.CityCode]++
		if names[s.Name] {
			t.Errorf("duplicate school name %s", s.Name)
		}
		names[s.Name] = true
	}
	if len(schools) != 181 || byType["技师学院"] != 45 || byType["高级技工学校"] != 32 || byType["技工学校"] != 104 {
		t.Fatalf("got %d schools %v, want 181 = 45/32/104", len(schools), byType)
	}
	if len(byCity) != 16 || byCity["371300"] <= byCity["371000"] {
		t.Fatalf("schools by city %v: all 16 cities, in proportion to population (临沂 > 威海)", byCity)
	}
	if sum.Users != 2+16+181 {
		t.Errorf("users = %d", sum.Users)
	}
	raw := storetest.Raw(t, dsn)
	one := func(q string, args ...any) float64 {
		var v float64
		if err := raw.QueryRow(q, args...).Scan(&v); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return v
	}
	intake := func(y int) float64 {
		return one(`SELECT COUNT(*) FROM students WHERE enrollment_date BETWEEN $1 AND $2`, fmt.Sprintf("%d-01-01", y), fmt.Sprintf("%d-12-31", y))
	}
	inSchoolWhere := `enrollment_date <= $1 AND (left_date IS NULL OR left_date > $1)`
	inSchool := func(y int) float64 {
		return one(`SELECT COUNT(*) FROM students WHERE `+inSchoolWhere, fmt.Sprintf("%d-12-31", y))
	}
	var intakeSum, stockSum float64
	for y := 2016; y <= 2020; y++ {
		intakeSum += intake(y)
		stockSum += inSchool(y)
	}
	within := func(name string, got, want, tol float64) {
		t.Logf("%s: %.6g (plan %.6g)", name, got, want)
		if got < want*(1-tol) || got > want*(1+tol) {
			t.Errorf("%s = %.6g, want %.6g ± %.0f%%", name, got, want, tol*100)
		}
	}
	within("年均招生规模 2016–2020", intakeSum/5, 155000, 0.03)
	within("2020 年招生", intake(2020), 170000, 0.04)
	within("年均在校生规模 2016–2020", stockSum/5, 350000, 0.05)
	within("2020 年末在校生", inSchool(2020), 400000, 0.05)
	big := one(`SELECT COUNT(*) FROM (SELECT school_code FROM students WHERE `+inSchoolWhere+` GROUP BY school_code HAVING COUNT(*) > 10000) x`, "2020-12-31")
	if big != 18 {
		t.Errorf("schools above 10,000 students at the end of 2020: %.0f, want 18", big)
	}
	senior := one(`SELECT 100.0 * COUNT(*) FILTER (WHERE class_level <> '中级工班') / COUNT(*) FROM students WHERE `+inSchoolWhere, "2020-12-31")
	within("高级工班以上在校生比例 2020 (%)", senior, 50, 0.06)
	if inSchool(2025) <= inSchool(2020) {
		t.Errorf("the trend does not continue: %.0f in school at the end of 2025", inSchool(2025))
	}

	// The 2020 column of the provincial plan's 专栏1, as the dashboard
	// computes it: the plan's own rules over the facts the demo built.
	sd, ok := plan.BuiltinPlan("sd-jg-14-5")
	if !ok {
		t.Fatal("no built-in Shandong plan")
	}
	facts, err := db.SchoolYears(ctx, auth.Scope{Kind: auth.ScopeAll}, 2016, 2025)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := plan.Evaluate(&sd, 2020, plan.Data{Facts: facts})
	if err != nil {
		t.Fatal(err)
	}
	column := map[string]float64{}
	for _, r := range rows {
		if r.Value != nil {
			column[r.Code] = *r.Value
		}
	}
	for _, c := range []struct {
		code      string
		want, tol float64
	}{
		{"technician_colleges", 45, 0},
		{"avg_intake", 15.5, 0.03},
		{"avg_enrolled", 35, 0.05},
		{"schools_over_10000", 18, 0},
		{"senior_share", 50, 0.06},
	} {
		got, ok := column[c.code]
		if !ok {
			t.Errorf("专栏1 %s has no value for 2020", c.code)
			continue
		}
		within("专栏1 2020 "+c.code, got, c.want, c.tol)
	}
}

func TestNationalCalibration(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, storetest.DSN(t, store.SQLite))
	if _, err := demo.GenerateSchools(ctx, db, demo.National, 1); err != nil {
		t.Fatal(err)
	}
	schools := allSchools(t, db)
	provinces, technician := map[string]int{}, 0
	for _, s := range schools {
		provinces[s.ProvinceCode]++
		if s.Type == "技师学院" {
			technician++
		}
	}
	if len(schools) != 2423 || technician != 496 || len(provinces) != 31 || provinces[refdata.ShandongCode] != 181 {
		t.Fatalf("national: %d schools, %d 技师学院, %d provinces, %d in Shandong", len(schools), technician, len(provinces), provinces[refdata.ShandongCode])
	}
}

func TestDeterministic(t *testing.T) {
	fingerprint := func(seed uint64) string {
		db := storetest.Open(t, storetest.DSN(t, store.SQLite))
		if _, err := demo.Generate(context.Background(), db, storetest.Protector(), demo.Small, seed); err != nil {
			t.Fatal(err)
		}
		var s string
		for _, sc := range allSchools(t, db) {
			s += fmt.Sprintf("%s|%s|%s|%s|%s|%t;", sc.Code, sc.Name, sc.Type, sc.DivisionCode, sc.Ownership, sc.NationalKey)
		}
		f := student.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: 500}
		for {
			page, _, err := db.FindStudents(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range page {
				s += fmt.Sprintf("%s|%s|%s|%s|%s|%s;", st.StudentNo, st.Name, st.IDBlind, st.BirthDate, st.Status, st.Major)
			}
			if len(page) < f.Limit {
				return s
			}
			f.After = page[len(page)-1].ID
		}
	}
	a, b, c := fingerprint(7), fingerprint(7), fingerprint(8)
	if a != b {
		t.Fatal("same seed, different data")
	}
	if a == c {
		t.Fatal("different seeds, same data")
	}
}

func TestRefusesPopulatedDatabase(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, storetest.DSN(t, store.SQLite))
	if _, err := demo.Generate(ctx, db, storetest.Protector(), demo.Small, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(ctx, db, storetest.Protector(), demo.Small, 1); err == nil {
		t.Fatal("second load into the same database succeeded")
	}
	if n, _ := db.CountSchoolsAll(ctx); n != 24 {
		t.Fatalf("after a refused second load: %d schools, want 24", n)
	}
}

// BenchmarkGenerate reports the time of a whole demo load per scale; the
// limits are 60 s for the province and 10 minutes for the nation (the
// national load is timed by bench/run, not here).
func BenchmarkGenerate(b *testing.B) {
	for _, scale := range []demo.Scale{demo.Small, demo.Province} {
		b.Run(string(scale), func(b *testing.B) {
			for range b.N {
				db := storetest.Open(b, storetest.DSN(b, store.SQLite))
				if _, err := demo.Generate(context.Background(), db, storetest.Protector(), scale, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// The data comparison finds every anomaly the demo plants: the test
// reports found of planted per kind and fails on any miss.
func TestComparisonFindsPlantedAnomalies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		sum, err := demo.Generate(ctx, db, storetest.Protector(), demo.Small, 1)
		if err != nil {
			t.Fatal(err)
		}
		c := &student.Comparison{Store: db, Protect: storetest.Protector(), Now: time.Now}
		run, err := c.RunAll(ctx, student.CompareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		findings, _, err := db.FindFindings(ctx, student.FindingFilter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: 100000})
		if err != nil {
			t.Fatal(err)
		}
		// student number -> id, to compare with the findings' record links
		ids := map[string]int64{}
		f := student.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Status: "active", Limit: 500}
		for {
			page, _, err := db.FindStudents(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page {
				ids[s.StudentNo] = s.ID
			}
			if len(page) < f.Limit {
				break
			}
			f.After = page[len(page)-1].ID
		}
		foundIDs, foundSchools := map[string]map[int64]bool{}, map[string]map[string]bool{}
		for _, fd := range findings {
			if foundIDs[fd.Kind] == nil {
				foundIDs[fd.Kind], foundSchools[fd.Kind] = map[int64]bool{}, map[string]bool{}
			}
			foundSchools[fd.Kind][fd.SchoolCode] = true
			for _, id := range fd.StudentIDs {
				foundIDs[fd.Kind][id] = true
			}
		}
		for _, kind := range student.FindingKinds {
			planted := sum.Students.Planted[kind]
			found := 0
			for _, key := range planted {
				if kind == student.FindOverCapacity && foundSchools[kind][key] || foundIDs[kind][ids[key]] {
					found++
				}
			}
			t.Logf("%s（%s）: found %d of %d planted; %d findings in all", student.FindingLabel(kind), kind, found, len(planted), run.ByKind[kind])
			if len(planted) == 0 || found != len(planted) {
				t.Errorf("%s: found %d of %d planted", kind, found, len(planted))
			}
		}
		// A city's own run must not clear pairs that span two cities.
		for _, city := range []string{"370100", "370200", "370700", "371000"} {
			if _, err := c.Run(ctx, auth.Principal{Name: "city", Role: auth.RoleCity, ScopeCode: city}, student.CompareOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		open, _, err := db.FindFindings(ctx, student.FindingFilter{Scope: auth.Scope{Kind: auth.ScopeAll}, Kind: student.FindNearDuplicate,
			State: student.FindingOpen, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(open) != run.ByKind[student.FindNearDuplicate] {
			t.Errorf("after the cities' runs %d near-duplicate findings are open, want %d", len(open), run.ByKind[student.FindNearDuplicate])
		}
	})
}
