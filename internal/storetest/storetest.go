// Package storetest gives tests real databases: SQLite in a temporary
// directory and, when GONGJIANG_TEST_PG names a PostgreSQL server, a fresh
// PostgreSQL database per test. With GONGJIANG_REQUIRE_PG=1 (as in CI) a
// missing PostgreSQL fails the test instead of skipping it.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/keyring"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/store"
)

// Engines lists the engines a suite runs on.
var Engines = []store.Engine{store.SQLite, store.Postgres}

// Each runs fn as a subtest once per engine with a fresh, empty database.
func Each(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(string(e), func(t *testing.T) { fn(t, DSN(t, e)) })
	}
}

// DSN returns a fresh database of engine e, dropped when the test ends.
func DSN(t testing.TB, e store.Engine) string {
	t.Helper()
	if e == store.SQLite {
		return filepath.Join(t.TempDir(), "test.db")
	}
	admin := os.Getenv("GONGJIANG_TEST_PG")
	if admin == "" {
		if os.Getenv("GONGJIANG_REQUIRE_PG") == "1" {
			t.Fatal("GONGJIANG_REQUIRE_PG=1 but GONGJIANG_TEST_PG is not set")
		}
		t.Skip("PostgreSQL not configured (set GONGJIANG_TEST_PG)")
	}
	adb, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "gjt_" + hex.EncodeToString(b)
	if _, err := adb.Exec("CREATE DATABASE " + name); err != nil {
		adb.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		adb.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		adb.Close()
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// TestKeyring is a fixed keyring so tests can verify what they sign.
func TestKeyring() *keyring.Keyring {
	kr, err := keyring.New([]byte("gongjiang-test-master-key-32byte"))
	if err != nil {
		panic(err)
	}
	return kr
}

// Signer signs audit checkpoints with the test keyring.
func Signer() *audit.Signer { return audit.NewSigner(TestKeyring().AuditSigningKey()) }

// Open opens and migrates dsn, closing it when the test ends.
func Open(t testing.TB, dsn string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dsn, Signer())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// Raw opens a plain connection to dsn for tests that act behind the
// application's back (tampering with the audit log, reading raw rows).
func Raw(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	driver, src := "sqlite", dsn
	if store.IsPostgres(dsn) {
		driver = "pgx"
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Protector seals personal data with the test keyring.
func Protector() pii.Protector { return pii.NewAESGCM(TestKeyring()) }
