package store_test

import (
	"crypto/ed25519"
	"database/sql"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/store"
)

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func fromMicrosForTest(us int64) time.Time { return time.UnixMicro(us).UTC() }

func engineOf(dsn string) store.Engine {
	if store.IsPostgres(dsn) {
		return store.Postgres
	}
	return store.SQLite
}

func otherKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte("another-instance-key-32-bytes!!!"))
}
