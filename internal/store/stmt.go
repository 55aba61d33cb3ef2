package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps the prepared statements of the hot paths: parsing SQL is
// a large share of a small write on SQLite. database/sql prepares a cached
// statement again on each connection that needs it.
type stmtCache struct {
	mu    sync.Mutex
	pool  *sql.DB
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	s, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = s
	return s, nil
}

// lookup returns a cached statement without preparing one: inside a
// transaction on the single SQLite writer, preparing on the pool would
// wait for the connection the transaction holds.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stmts[query]
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.stmts {
		s.Close()
	}
	c.stmts = nil
}

// hotWrites are prepared on the writer before the first transaction that
// could use them (see warmWrites).
var hotWrites = []string{qAuditLock, qAuditInsert, qAuditHead, qCounterNext, qStudentInsert}

// warmWrites prepares the hot write statements while no transaction holds
// the writer. Before migrations the tables are missing and it tries again
// next time.
func (db *DB) warmWrites(ctx context.Context) {
	if db.warmed.Load() {
		return
	}
	for _, q := range hotWrites {
		if _, err := db.writeStmts.get(ctx, q); err != nil {
			return
		}
	}
	db.warmed.Store(true)
}

// txExec runs a statement inside tx, prepared once if it is a hot one.
func (db *DB) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if s := db.writeStmts.lookup(query); s != nil {
		return tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, query, args...)
}

// txQueryRow runs a single-row query inside tx, prepared once if hot.
func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if s := db.writeStmts.lookup(query); s != nil {
		return tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// readQueryRow runs a cached single-row query on the read pool.
func (db *DB) readQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := db.readStmts.get(ctx, query)
	if err != nil {
		return db.read.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}
