package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
)

// A real streaming replica is exercised by scripts/replica-test.sh; here,
// the cases a single server can show: a "replica" that is a primary, one
// that does not answer, and SQLite, which has none.
func TestReplicaIsUsedOnlyWhenItIsOne(t *testing.T) {
	ctx := context.Background()
	sqlite := storetest.Open(t, storetest.DSN(t, store.SQLite))
	if err := sqlite.AttachReplica(ctx, "postgres://x@127.0.0.1:1/x", time.Second); err == nil {
		t.Error("SQLite took a replica")
	}
	if st := sqlite.Replica(); st.Configured {
		t.Errorf("SQLite reports a replica: %+v", st)
	}

	dsn := storetest.DSN(t, store.Postgres)
	for _, c := range []struct {
		name, replica, want string
	}{
		{"the primary itself", dsn, "不是只读副本"},
		{"nothing listening", "postgres://gongjiang@127.0.0.1:1/gongjiang?connect_timeout=1", "127.0.0.1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := storetest.Open(t, dsn)
			if err := db.AttachReplica(ctx, c.replica, time.Second); err != nil {
				t.Fatal(err)
			}
			st := db.CheckReplica(ctx)
			if !st.Configured || st.InUse || !strings.Contains(st.Error, c.want) {
				t.Fatalf("status %+v, want configured, not in use, error mentioning %q", st, c.want)
			}
			// Public reads are answered by the primary and counted as such.
			if _, err := db.LookupCertificate(ctx, "202637000000000000"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.PublishedFilings(ctx, 2026, "2026-06-01"); err != nil {
				t.Fatal(err)
			}
			if st := db.Replica(); st.Served != 0 || st.Fallbacks != 2 {
				t.Errorf("served %d by the replica, %d by the primary; want 0 and 2", st.Served, st.Fallbacks)
			}
		})
	}
}
