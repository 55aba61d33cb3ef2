package store_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
)

func newSchool(code, division string) *school.School {
	s := &school.School{Code: code, Name: "测试" + code + "技工学校", Type: "技工学校", Ownership: "公办",
		DivisionCode: division, Status: school.StatusOperating, CreatedAt: time.Now(), UpdatedAt: time.Now(), Version: 1}
	if err := school.Validate(s); err != nil {
		panic(err)
	}
	return s
}

func entry(action, id string) audit.Entry {
	return audit.Entry{Actor: "tester", Action: action, Entity: "school", EntityID: id, Data: map[string]string{"k": id}}
}

// Migrations for both engines must carry the same version numbers.
func TestMigrationsMatchAcrossEngines(t *testing.T) {
	list := func(dir string) []string {
		var out []string
		fs.WalkDir(os.DirFS(dir), ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				out = append(out, strings.SplitN(p, "_", 2)[0])
			}
			return err
		})
		sort.Strings(out)
		return out
	}
	sq, pg := list("migrations/sqlite"), list("migrations/postgres")
	if len(sq) == 0 || fmt.Sprint(sq) != fmt.Sprint(pg) {
		t.Fatalf("migration versions differ: sqlite %v, postgres %v", sq, pg)
	}
}

func TestSchemaCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db, err := store.Open(ctx, dsn, storetest.Signer())
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.CheckSchema(ctx); !errors.Is(err, store.ErrSchemaOutdated) {
			t.Fatalf("fresh database: CheckSchema = %v, want ErrSchemaOutdated", err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := db.CheckSchema(ctx); err != nil {
			t.Fatalf("after migrate: %v", err)
		}
		if n, err := db.Migrate(ctx); err != nil || n != 0 {
			t.Fatalf("second migrate applied %d, %v", n, err)
		}
	})
}

func TestSchoolCRUDAndScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		jinan := newSchool("3701001", "370102")
		qingdao := newSchool("3702001", "370202")
		for _, s := range []*school.School{jinan, qingdao} {
			if err := db.CreateSchool(ctx, s, entry("school.create", s.Code)); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateSchool(ctx, newSchool("3701001", "370102"), entry("school.create", "dup")); apperr.CodeOf(err) != apperr.Duplicate {
			t.Fatalf("duplicate code: %v, want duplicate", err)
		}
		got, err := db.FindSchool(ctx, auth.Scope{Kind: auth.ScopeAll}, "3701001")
		if err != nil || got.Name != jinan.Name || got.CityCode != "370100" || got.CityName != "济南市" || got.DivisionName == "" {
			t.Fatalf("FindSchool = %+v, %v", got, err)
		}
		if !got.CreatedAt.Equal(jinan.CreatedAt.Truncate(time.Microsecond)) {
			t.Errorf("created_at round trip: %v vs %v", got.CreatedAt, jinan.CreatedAt)
		}
		scopes := []struct {
			scope auth.Scope
			want  []string
		}{
			{auth.Scope{Kind: auth.ScopeAll}, []string{"3701001", "3702001"}},
			{auth.Scope{Kind: auth.ScopeCity, Code: "370200"}, []string{"3702001"}},
			{auth.Scope{Kind: auth.ScopeSchool, Code: "3701001"}, []string{"3701001"}},
			{auth.Scope{Kind: auth.ScopeNone}, nil},
		}
		for _, sc := range scopes {
			items, total, err := db.FindSchools(ctx, school.Filter{Scope: sc.scope, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var codes []string
			for _, s := range items {
				codes = append(codes, s.Code)
			}
			if fmt.Sprint(codes) != fmt.Sprint(sc.want) || total != len(sc.want) {
				t.Errorf("scope %+v: got %v (total %d), want %v", sc.scope, codes, total, sc.want)
			}
		}
		if _, err := db.FindSchool(ctx, auth.Scope{Kind: auth.ScopeCity, Code: "370200"}, "3701001"); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("out of scope find: %v, want not_found", err)
		}
		// Optimistic locking: a stale version changes nothing.
		upd := *got
		upd.Address, upd.Version = "新地址", 2
		if err := db.UpdateSchool(ctx, &upd, 1, entry("school.update", upd.Code)); err != nil {
			t.Fatal(err)
		}
		upd.Address, upd.Version = "更新的地址", 3
		if err := db.UpdateSchool(ctx, &upd, 1, entry("school.update", upd.Code)); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("stale update: %v, want conflict", err)
		}
		again, _ := db.FindSchool(ctx, auth.Scope{Kind: auth.ScopeAll}, "3701001")
		if again.Address != "新地址" || again.Version != 2 {
			t.Fatalf("after stale update: %+v", again)
		}
		// A failed write leaves no audit event behind.
		events, err := db.RecentAudit(ctx, "", "", 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 3 {
			t.Fatalf("audit events = %d, want 3 (two creates, one update)", len(events))
		}
	})
}

// Search text is matched literally: % and _ are not wildcards, and quotes
// are data, not SQL.
func TestSchoolSearchIsLiteral(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		for i, code := range []string{"3701001", "3701002", "3701003"} {
			s := newSchool(code, "370102")
			s.Name = []string{"济南100%技工学校", "济南机电技工学校", "济南交通技工学校"}[i]
			if err := db.CreateSchool(ctx, s, entry("school.create", code)); err != nil {
				t.Fatal(err)
			}
		}
		for q, want := range map[string]int{"%": 1, "_": 0, "机电": 1, "' OR 1=1 --": 0, "技工": 3, `\`: 0, "3701": 3} {
			_, total, err := db.FindSchools(ctx, school.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Query: q, Limit: 10})
			if err != nil {
				t.Fatalf("q=%q: %v", q, err)
			}
			if total != want {
				t.Errorf("q=%q matched %d, want %d", q, total, want)
			}
		}
	})
}

func TestKeysetPaging(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		var schools []*school.School
		for i := range 23 {
			schools = append(schools, newSchool(fmt.Sprintf("3701%03d", i+1), "370102"))
		}
		if err := db.LoadSchoolsAndUsers(ctx, schools, nil, entry("demo.load", "x")); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		f := school.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: 5}
		for page := 0; ; page++ {
			items, total, err := db.FindSchools(ctx, f)
			if err != nil || total != 23 {
				t.Fatalf("page %d: total %d, %v", page, total, err)
			}
			for _, s := range items {
				if seen[s.Code] {
					t.Fatalf("%s seen twice", s.Code)
				}
				seen[s.Code] = true
			}
			if len(items) < 5 {
				break
			}
			f.After = items[len(items)-1].Code
		}
		if len(seen) != 23 {
			t.Fatalf("walked %d schools, want 23", len(seen))
		}
	})
}

func TestUsersSessionsTokensThrottle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		now := time.Now()
		u := &auth.User{Name: "alice", DisplayName: "Alice", Role: auth.RoleProvince, PasswordHash: "x", CreatedAt: now}
		if err := db.CreateUser(ctx, u, audit.Entry{Actor: "system", Action: "user.create", Entity: "user", EntityID: "alice"}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateUser(ctx, &auth.User{Name: "alice", DisplayName: "x", Role: auth.RoleAuditor, PasswordHash: "y", CreatedAt: now},
			audit.Entry{Actor: "system", Action: "user.create"}); apperr.CodeOf(err) != apperr.Duplicate {
			t.Fatalf("duplicate user: %v", err)
		}
		s := &auth.Session{IDHash: "h1", UserID: u.ID, CSRFToken: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, s, audit.Entry{Actor: "alice", Action: "user.login"}); err != nil {
			t.Fatal(err)
		}
		if _, got, err := db.FindSession(ctx, "h1", now); err != nil || got.Name != "alice" {
			t.Fatalf("FindSession: %v %v", got, err)
		}
		if _, _, err := db.FindSession(ctx, "h1", now.Add(2*time.Hour)); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("expired session found: %v", err)
		}
		if err := db.DeleteSession(ctx, "h1", audit.Entry{Actor: "alice", Action: "user.logout"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.FindSession(ctx, "h1", now); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("deleted session found: %v", err)
		}
		tok := &auth.APIToken{Hash: "t1", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateAPIToken(ctx, tok, audit.Entry{Actor: "system", Action: "token.create"}); err != nil {
			t.Fatal(err)
		}
		if got, err := db.FindUserByAPIToken(ctx, "t1", now); err != nil || got.ID != u.ID {
			t.Fatalf("token lookup: %v %v", got, err)
		}
		if _, err := db.FindUserByAPIToken(ctx, "t1", now.Add(2*time.Hour)); apperr.CodeOf(err) != apperr.NotFound {
			t.Fatalf("expired token accepted: %v", err)
		}
		for i := range 3 {
			a := auth.LoginAttempt{At: now.Add(time.Duration(i) * time.Second), User: "alice", Address: "10.0.0.1"}
			if err := db.RecordLoginAttempt(ctx, a, nil); err != nil {
				t.Fatal(err)
			}
		}
		db.RecordLoginAttempt(ctx, auth.LoginAttempt{At: now, User: "bob", Address: "10.0.0.1"}, nil)
		db.RecordLoginAttempt(ctx, auth.LoginAttempt{At: now, User: "alice", Address: "10.0.0.2", OK: true}, nil)
		byUser, byAddr, err := db.CountLoginFailures(ctx, "alice", "10.0.0.1", now.Add(-time.Minute))
		if err != nil || byUser != 3 || byAddr != 4 {
			t.Fatalf("failures = %d by user, %d by address, %v; want 3, 4", byUser, byAddr, err)
		}
	})
}

// Every write of the same person of the chain lands in order even when many
// goroutines append at once (PostgreSQL serialises on the head row).
func TestConcurrentAuditAppends(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- db.RecordAudit(ctx, entry("user.login", fmt.Sprint(i)))
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		problem, n, err := db.VerifyAudit(ctx)
		if err != nil || problem != nil || n != 40 {
			t.Fatalf("verify after concurrent appends: %v, %d events, %v", problem, n, err)
		}
	})
}

func TestBackupSQLite(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, store.SQLite)
	db := storetest.Open(t, dsn)
	if err := db.CreateSchool(ctx, newSchool("3701001", "370102"), entry("school.create", "3701001")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "backup.db")
	if err := db.Backup(ctx, out); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, out); err == nil {
		t.Fatal("backup overwrote an existing file")
	}
	copyDB, err := store.Open(ctx, out, storetest.Signer())
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	if n, err := copyDB.CountSchoolsAll(ctx); err != nil || n != 1 {
		t.Fatalf("backup holds %d schools, %v", n, err)
	}
	if p, _, err := copyDB.VerifyAudit(ctx); err != nil || p != nil {
		t.Fatalf("backup audit: %v %v", p, err)
	}
}

// The shared rate limit holds under concurrency on both engines.
func TestAllowRateConcurrent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		db := storetest.Open(t, dsn)
		var wg sync.WaitGroup
		var mu sync.Mutex
		allowed := 0
		for range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := db.AllowRate(ctx, "k", 10, time.Minute, time.Now())
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if allowed != 10 {
			t.Fatalf("%d of 40 concurrent requests allowed, limit 10", allowed)
		}
	})
}
