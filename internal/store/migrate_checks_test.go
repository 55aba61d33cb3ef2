package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
	"github.com/gongjiang/gongjiang/internal/student"
)

// The registry's enumerated columns refuse unknown values on both engines,
// and on SQLite no CHECK is left as an IN list (evaluated through a
// temporary index for every row written) once the migrations have run.
func TestEnumeratedColumnChecks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		raw := storetest.Raw(t, dsn)
		if err := db.CreateSchool(ctx, newSchool("3701001", "370102"), entry("school.create", "3701001")); err != nil {
			t.Fatal(err)
		}
		st := bulkStudent(storetest.Protector(), "3701001", "2024-09-01", "")
		st.Status, st.LeftDate = student.StatusEnrolled, ""
		if err := db.LoadStudents(ctx, []*student.Student{st}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			set string
			ok  bool
		}{
			{"status = '休学'", true},
			{"status = '在校'", false},
			{"class_level = '预备技师班'", true},
			{"class_level = '初级工班'", false},
			{"sex = '女'", true},
			{"sex = '未知'", false},
			{"study_mode = '函授'", false},
		} {
			_, err := raw.ExecContext(ctx, "UPDATE students SET "+tt.set)
			if (err == nil) != tt.ok {
				t.Errorf("UPDATE students SET %s: %v, want accepted %v", tt.set, err, tt.ok)
			}
		}
		if store.IsPostgres(dsn) {
			return
		}
		rows, err := raw.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'table'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		defs := map[string]string{}
		for rows.Next() {
			var name, def string
			rows.Scan(&name, &def)
			defs[name] = def
			if strings.Contains(def, " IN (") {
				t.Errorf("table %s keeps a CHECK with an IN list: %s", name, def)
			}
		}
		if want := "CHECK (status = '在籍' OR status = '休学' OR status = '保留学籍'"; !strings.Contains(defs["students"], want) {
			t.Errorf("students definition lacks %q:\n%s", want, defs["students"])
		}
	})
}
