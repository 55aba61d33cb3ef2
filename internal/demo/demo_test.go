package demo_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
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

// The province demo is Shandong at the end of 2020: 181 schools, 45
// 技师学院, 32 高级技工学校, 104 技工学校, in all 16 cities.
func TestProvinceCalibration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		sum, err := demo.Generate(ctx, db, demo.Province, 1)
		if err != nil {
			t.Fatal(err)
		}
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
			if s.ProvinceCode != refdata.ShandongCode {
				t.Errorf("%s outside Shandong", s.Code)
			}
		}
		if len(schools) != 181 || byType["技师学院"] != 45 || byType["高级技工学校"] != 32 || byType["技工学校"] != 104 {
			t.Fatalf("got %d schools %v, want 181 = 45/32/104", len(schools), byType)
		}
		if len(byCity) != 16 {
			t.Fatalf("schools in %d cities, want 16", len(byCity))
		}
		// In proportion to population: 临沂 (1,102万) has more than 威海 (291万).
		if byCity["371300"] <= byCity["371000"] {
			t.Errorf("临沂 %d schools, 威海 %d: not in proportion to population", byCity["371300"], byCity["371000"])
		}
		// Accounts: province, auditor, 16 cities, 181 schools.
		if sum.Users != 2+16+181 {
			t.Errorf("users = %d", sum.Users)
		}
		for _, name := range []string{demo.ProvinceUser, demo.AuditorUser, demo.CityUser("370100"), demo.SchoolUser(schools[0].Code)} {
			u, err := db.FindUserByName(ctx, name)
			if err != nil || !auth.VerifyPassword(u.PasswordHash, demo.Password) {
				t.Errorf("demo account %s: %v", name, err)
			}
		}
		if p, n, err := db.VerifyAudit(ctx); err != nil || p != nil || n != 1 {
			t.Errorf("audit after demo: %v %d %v", p, n, err)
		}
	})
}

func TestNationalCalibration(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, storetest.DSN(t, store.SQLite))
	if _, err := demo.Generate(ctx, db, demo.National, 1); err != nil {
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
		if _, err := demo.Generate(context.Background(), db, demo.Province, seed); err != nil {
			t.Fatal(err)
		}
		var s string
		for _, sc := range allSchools(t, db) {
			s += fmt.Sprintf("%s|%s|%s|%s|%s|%t;", sc.Code, sc.Name, sc.Type, sc.DivisionCode, sc.Ownership, sc.NationalKey)
		}
		return s
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
	if _, err := demo.Generate(ctx, db, demo.Small, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Generate(ctx, db, demo.Small, 1); err == nil {
		t.Fatal("second load into the same database succeeded")
	}
	if n, _ := db.CountSchoolsAll(ctx); n != 24 {
		t.Fatalf("after a refused second load: %d schools, want 24", n)
	}
}

// BenchmarkGenerate reports the time of a whole demo load per scale; the
// foundation issue's limits are 60 s (province) and 10 min (national).
func BenchmarkGenerate(b *testing.B) {
	for _, scale := range []demo.Scale{demo.Province, demo.National} {
		b.Run(string(scale), func(b *testing.B) {
			for range b.N {
				db := storetest.Open(b, storetest.DSN(b, store.SQLite))
				if _, err := demo.Generate(context.Background(), db, scale, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
