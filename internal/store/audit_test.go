package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/storetest"
)

// rehash recomputes a stored event's hash the way a forger who knows the
// algorithm (but not the signing key) would, and writes it back.
func rehash(t *testing.T, ctx context.Context, raw *sql.DB, seq int64, prevHash string) string {
	t.Helper()
	var e audit.Event
	var at int64
	var data string
	if err := raw.QueryRowContext(ctx, `SELECT seq, at, actor, action, entity, entity_id, data FROM audit_events WHERE seq = $1`, seq).
		Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &data); err != nil {
		t.Fatal(err)
	}
	e.At, e.Data = fromMicrosForTest(at), []byte(data)
	e.PrevHash = prevHash
	e.Hash = e.ComputeHash()
	if _, err := raw.ExecContext(ctx, `UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = $3`, e.PrevHash, e.Hash, seq); err != nil {
		t.Fatal(err)
	}
	return e.Hash
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	const events = 1010 // past one kept checkpoint (every 1000)
	cases := []struct {
		name    string
		tamper  func(t *testing.T, ctx context.Context, raw *sql.DB)
		wantSeq int64
		reason  string
	}{
		{"intact", func(*testing.T, context.Context, *sql.DB) {}, 0, ""},
		{"altered field", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 5`)
		}, 5, "内容与哈希不符"},
		{"altered data", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, `UPDATE audit_events SET data = '{"k":"forged"}' WHERE seq = 500`)
		}, 500, "内容与哈希不符"},
		{"altered and rehashed", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 5`)
			var prev string
			raw.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE seq = 4`).Scan(&prev)
			rehash(t, ctx, raw, 5, prev)
		}, 6, "前序哈希"},
		{"whole chain rewritten after an alteration", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 1005`)
			var prev string
			raw.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE seq = 1004`).Scan(&prev)
			for seq := int64(1005); seq <= events; seq++ {
				prev = rehash(t, ctx, raw, seq, prev)
			}
		}, events, "日志头"},
		{"rewrite reaching a signed checkpoint", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, `UPDATE audit_events SET actor = 'mallory' WHERE seq = 990`)
			var prev string
			raw.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE seq = 989`).Scan(&prev)
			for seq := int64(990); seq <= events; seq++ {
				prev = rehash(t, ctx, raw, seq, prev)
			}
		}, 1000, "检查点"},
		{"deleted in the middle", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, `DELETE FROM audit_events WHERE seq = 7`)
		}, 7, "序号不连续"},
		{"deleted at the end", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, fmt.Sprintf(`DELETE FROM audit_events WHERE seq >= %d`, events-1))
		}, events - 1, "末尾记录被删除"},
		{"inserted at the end", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			var prev string
			raw.QueryRowContext(ctx, `SELECT hash FROM audit_events WHERE seq = $1`, events).Scan(&prev)
			e, _ := audit.NewEvent(events, prev, fromMicrosForTest(1), audit.Entry{Actor: "mallory", Action: "school.create"})
			mustExec(t, raw, `INSERT INTO audit_events (seq, at, actor, action, entity, entity_id, data, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				e.Seq, e.At.UnixMicro(), e.Actor, e.Action, e.Entity, e.EntityID, string(e.Data), e.PrevHash, e.Hash)
		}, events + 1, "未签名"},
		{"reordered", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, `UPDATE audit_events SET seq = -1 WHERE seq = 3`)
			mustExec(t, raw, `UPDATE audit_events SET seq = 3 WHERE seq = 4`)
			mustExec(t, raw, `UPDATE audit_events SET seq = 4 WHERE seq = -1`)
		}, 3, ""},
		{"checkpoint forged", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, `UPDATE audit_checkpoints SET hash = 'ab' WHERE seq = 1000`)
		}, 1000, "检查点签名无效"},
		{"head removed", func(t *testing.T, ctx context.Context, raw *sql.DB) {
			mustExec(t, raw, `DELETE FROM audit_head`)
		}, events, "缺少"},
	}
	storetest.Each(t, func(t *testing.T, dsn string) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				dsn := storetest.DSN(t, engineOf(dsn))
				db := storetest.Open(t, dsn)
				entries := make([]audit.Entry, events)
				for i := range entries {
					entries[i] = entry("school.update", fmt.Sprint(i))
				}
				if err := db.RecordAudit(ctx, entries[:events/2]...); err != nil {
					t.Fatal(err)
				}
				if err := db.RecordAudit(ctx, entries[events/2:]...); err != nil {
					t.Fatal(err)
				}
				tc.tamper(t, ctx, storetest.Raw(t, dsn))
				problem, _, err := db.VerifyAudit(ctx)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tc.wantSeq == 0 && problem != nil:
					t.Fatalf("intact log reported %v", problem)
				case tc.wantSeq == 0:
				case problem == nil:
					t.Fatalf("tampering not found")
				case problem.Seq != tc.wantSeq || !strings.Contains(problem.Reason, tc.reason):
					t.Fatalf("problem = seq %d %q; want seq %d containing %q", problem.Seq, problem.Reason, tc.wantSeq, tc.reason)
				}
			})
		}
	})
}

// A log signed by another instance's key does not verify.
func TestAuditVerifyRejectsOtherKey(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, "sqlite")
	db := storetest.Open(t, dsn)
	if err := db.RecordAudit(ctx, entry("school.create", "1")); err != nil {
		t.Fatal(err)
	}
	cps, head, err := db.AuditCheckpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	other := audit.NewSigner(otherKey())
	v := audit.NewVerifier(other.PublicKey(), cps)
	db.AuditEvents(ctx, 0, v.Add)
	if p := v.Finish(head); p == nil || !strings.Contains(p.Reason, "签名无效") {
		t.Fatalf("verification with another key: %v", p)
	}
}

// BenchmarkVerifyAudit reports how many events per second audit verify
// checks (hash chain, checkpoints and the signed head) on SQLite.
func BenchmarkVerifyAudit(b *testing.B) {
	ctx := context.Background()
	db := storetest.Open(b, storetest.DSN(b, "sqlite"))
	const n = 100000
	entries := make([]audit.Entry, 1000)
	for i := range entries {
		entries[i] = entry("school.update", fmt.Sprint(i))
	}
	for range n / len(entries) {
		if err := db.RecordAudit(ctx, entries...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		p, count, err := db.VerifyAudit(ctx)
		if err != nil || p != nil || count != n {
			b.Fatalf("verify: %v %d %v", p, count, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "events/s")
}
