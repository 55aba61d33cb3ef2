// Package store is the thin storage layer: portable SQL with $N placeholders
// that runs unchanged on SQLite (modernc, pure Go) and PostgreSQL (pgx), one
// file per domain. Every write method owns its transaction and appends its
// audit events inside it.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers "sqlite"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
)

//go:embed migrations
var migrations embed.FS

// Engine names the database engine behind a DB.
type Engine string

const (
	SQLite   Engine = "sqlite"
	Postgres Engine = "postgres"
)

// DB is an open database: a pool for writes and one for reads (the same pool
// on PostgreSQL; on SQLite one writer connection, so write transactions
// queue in Go instead of failing with SQLITE_BUSY).
type DB struct {
	Engine Engine
	DSN    string
	write  *sql.DB
	read   *sql.DB
	signer *audit.Signer
	now    func() time.Time

	writeStmts, readStmts stmtCache
	warmed                atomic.Bool

	regOnce    sync.Once
	regs       chan *registration
	regDone    chan struct{}
	regWriting sync.Mutex // held while a group of registrations is written

	majorsMu sync.Mutex
	majors   map[string]bool
	majorsAt time.Time

	replica *replica // nil without one; see replica.go
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens dsn (a SQLite file path or a postgres:// URL). Audit events are
// signed by signer.
func Open(ctx context.Context, dsn string, signer *audit.Signer) (*DB, error) {
	db := &DB{DSN: dsn, signer: signer, now: time.Now}
	var err error
	if IsPostgres(dsn) {
		db.Engine = Postgres
		db.write, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.write.SetMaxOpenConns(20)
		db.write.SetMaxIdleConns(10)
		db.write.SetConnMaxIdleTime(5 * time.Minute)
		db.read = db.write
	} else {
		db.Engine = SQLite
		if dir := filepath.Dir(dsn); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
		}
		if db.write, err = sql.Open("sqlite", sqliteDSN(dsn, sqliteWriter)); err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		db.write.SetMaxOpenConns(1)
		if db.read, err = sql.Open("sqlite", sqliteDSN(dsn, sqliteReader)); err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		db.read.SetMaxOpenConns(8)
	}
	db.writeStmts.pool, db.readStmts.pool = db.write, db.read
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

type sqliteRole int

const (
	sqliteWriter sqliteRole = iota
	sqliteReader
	sqliteBackup
)

// sqliteWriterCache is the writer's page cache in SQLite's units (negative:
// KiB), 64 MiB.
const sqliteWriterCache = -65536

// sqliteDSN sets the pragmas on every connection: busy timeout first (so the
// others wait instead of failing), WAL, synchronous NORMAL, foreign keys;
// a larger page cache for the writer.
// Write transactions begin IMMEDIATE to take the write lock up front;
// the read pool is query_only.
func sqliteDSN(path string, role sqliteRole) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	switch role {
	case sqliteWriter:
		q.Set("_txlock", "immediate")
		// The one writer keeps up to 64 MiB of pages (SQLite's default is
		// 2 MiB): a batch of registrations touches ten indexes, and
		// re-reading their pages from the OS for every batch costs more
		// than the writing.
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", sqliteWriterCache))
	case sqliteReader:
		q.Add("_pragma", "query_only(1)")
	}
	return "file:" + path + "?" + q.Encode()
}

// Close closes the pools. Registrations still queued are written first.
func (db *DB) Close() error {
	db.regOnce.Do(func() {}) // no writer starts after Close
	if db.regs != nil {
		close(db.regs)
		<-db.regDone
	}
	db.writeStmts.close()
	db.readStmts.close()
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.replica != nil {
		err = errors.Join(err, db.replica.pool.Close())
	}
	return err
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Stats exposes the write pool's statistics for metrics.
func (db *DB) Stats() *sql.DB { return db.write }

func (db *DB) goose() (*goose.Provider, error) {
	dialect, dir := goose.DialectSQLite3, "migrations/sqlite"
	if db.Engine == Postgres {
		dialect, dir = goose.DialectPostgres, "migrations/postgres"
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db.write, sub, goose.WithGoMigrations(db.goMigrations()...))
}

// Migrate applies pending migrations and returns how many it applied.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, err := db.goose()
	if err != nil {
		return 0, fmt.Errorf("store: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: migrate: %w", err)
	}
	return len(res), nil
}

// ErrSchemaOutdated is returned by CheckSchema when migrations are pending.
var ErrSchemaOutdated = errors.New("数据库结构不是最新版本，请先运行 gongjiang migrate")

// SchemaVersions returns the database's schema version and this binary's.
func (db *DB) SchemaVersions(ctx context.Context) (current, target int64, err error) {
	p, err := db.goose()
	if err != nil {
		return 0, 0, fmt.Errorf("store: migrations: %w", err)
	}
	current, target, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("store: schema version: %w", err)
	}
	return current, target, nil
}

// CheckSchema refuses a database whose schema is older or newer than this
// binary's.
func (db *DB) CheckSchema(ctx context.Context) error {
	current, target, err := db.SchemaVersions(ctx)
	if err != nil {
		return err
	}
	switch {
	case current < target:
		return fmt.Errorf("%w（当前 %d，需要 %d）", ErrSchemaOutdated, current, target)
	case current > target:
		return fmt.Errorf("数据库结构版本 %d 比本程序支持的 %d 更新，请升级程序", current, target)
	}
	return nil
}

// inTx runs fn in a write transaction, committing if it returns nil.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	db.warmWrites(ctx)
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return apperr.Internalf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return apperr.Internalf("store: commit: %w", err)
	}
	return nil
}

// Backup writes a consistent copy of a live SQLite database to out.
func (db *DB) Backup(ctx context.Context, out string) error {
	if db.Engine != SQLite {
		return errors.New("PostgreSQL 数据库请使用 pg_dump 备份（例如 pg_dump -Fc -f gongjiang.dump \"$GONGJIANG_DB\"）")
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("备份文件 %s 已存在，不会覆盖", out)
	}
	// VACUUM INTO reads one consistent snapshot (WAL lets writers go on);
	// it needs a connection that is not query_only, so it gets its own.
	conn, err := sql.Open("sqlite", sqliteDSN(db.DSN, sqliteBackup))
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "VACUUM INTO $1", out); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// where builds a WHERE clause with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

// arg adds a value and returns its placeholder.
func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// likeArg escapes a user's search text for LIKE … ESCAPE '\'.
func likeArg(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}
