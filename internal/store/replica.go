package store

// A read replica (PostgreSQL streaming replication) for the public reads:
// certificate verification, the public portal and the plans' dashboards.
// Everything else — writes, and whatever must read its own writes (a
// school's lists after a registration) — stays on the primary. The
// replica is used only while a watcher finds it reachable and caught up
// within a bound; a public read that fails on it is answered from the
// primary at once, and the replica is set aside until the next check
// finds it well again.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultReplicaMaxLag is how far behind the primary the replica may be
// and still serve public reads.
const DefaultReplicaMaxLag = 10 * time.Second

type replica struct {
	pool   *sql.DB
	maxLag time.Duration

	usable atomic.Bool
	mu     sync.Mutex
	status ReplicaStatus
	// caughtUp is when a check last found the replica level with the
	// primary: lag is measured from it, since a replica that has had
	// nothing to replay for an hour is not an hour behind.
	caughtUp time.Time

	served, fallbacks atomic.Int64
}

// ReplicaStatus is what the last check found.
type ReplicaStatus struct {
	Configured bool          `json:"configured"`
	InUse      bool          `json:"in_use"`
	Lag        time.Duration `json:"-"`
	LagSeconds float64       `json:"lag_seconds"`
	Error      string        `json:"error,omitempty"`
	CheckedAt  time.Time     `json:"checked_at"`
	// Served and Fallbacks count public reads answered by the replica and
	// by the primary in its place.
	Served    int64 `json:"served"`
	Fallbacks int64 `json:"fallbacks"`
}

// AttachReplica opens the read replica at dsn (PostgreSQL only) for the
// public reads. It is not used until CheckReplica finds it caught up.
func (db *DB) AttachReplica(ctx context.Context, dsn string, maxLag time.Duration) error {
	if db.Engine != Postgres || !IsPostgres(dsn) {
		return errors.New("只读副本只支持 PostgreSQL：主库和副本都要是 postgres:// 地址")
	}
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("store: open replica: %w", err)
	}
	pool.SetMaxOpenConns(20)
	pool.SetMaxIdleConns(10)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	if maxLag <= 0 {
		maxLag = DefaultReplicaMaxLag
	}
	db.replica = &replica{pool: pool, maxLag: maxLag}
	db.CheckReplica(ctx)
	return nil
}

// CheckReplica measures the replica's lag and decides whether public reads
// use it: it must answer, be in recovery (a replica, not a promoted or
// mistaken primary) and have replayed everything the primary had written
// within the lag bound.
func (db *DB) CheckReplica(ctx context.Context) ReplicaStatus {
	r := db.replica
	if r == nil {
		return ReplicaStatus{}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	now := time.Now()
	err := func() error {
		var primaryLSN string
		if err := db.read.QueryRowContext(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&primaryLSN); err != nil {
			return fmt.Errorf("主库：%w", err)
		}
		var recovering, behind bool
		err := r.pool.QueryRowContext(ctx, `SELECT pg_is_in_recovery(), COALESCE(pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_replay_lsn()) > 0, true)`,
			primaryLSN).Scan(&recovering, &behind)
		if err != nil {
			return err
		}
		if !recovering {
			return errors.New("不是只读副本（不在恢复模式）")
		}
		if !behind {
			r.caughtUp = now
		}
		return nil
	}()
	r.mu.Lock()
	defer r.mu.Unlock()
	st := ReplicaStatus{Configured: true, CheckedAt: now}
	if r.caughtUp.IsZero() {
		st.Lag = 0
	} else {
		st.Lag = now.Sub(r.caughtUp)
	}
	switch {
	case err != nil:
		st.Error = err.Error()
	case r.caughtUp.IsZero():
		st.Error = "尚未追上主库"
	case st.Lag > r.maxLag:
		st.Error = fmt.Sprintf("落后主库 %.1f 秒，超过 %.0f 秒的上限", st.Lag.Seconds(), r.maxLag.Seconds())
	default:
		st.InUse = true
	}
	st.LagSeconds = st.Lag.Seconds()
	r.status = st
	r.usable.Store(st.InUse)
	return db.statusLocked()
}

// statusLocked is the last status with the read counts; r.mu is held.
func (db *DB) statusLocked() ReplicaStatus {
	st := db.replica.status
	st.Served, st.Fallbacks = db.replica.served.Load(), db.replica.fallbacks.Load()
	return st
}

// Replica is the last check's status (Configured false without a replica).
func (db *DB) Replica() ReplicaStatus {
	if db.replica == nil {
		return ReplicaStatus{}
	}
	db.replica.mu.Lock()
	defer db.replica.mu.Unlock()
	return db.statusLocked()
}

// WatchReplica checks the replica every interval until ctx ends.
func (db *DB) WatchReplica(ctx context.Context, interval time.Duration) {
	if db.replica == nil {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			db.CheckReplica(ctx)
		}
	}
}

// queryer is what a read needs of a pool.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// publicRead runs a public read on the replica when it is in use, and on
// the primary otherwise — or when the replica fails it, which also sets
// the replica aside until the next check.
func (db *DB) publicRead(ctx context.Context, read func(q queryer) error) error {
	if r := db.replica; r != nil && r.usable.Load() {
		err := read(r.pool)
		if err == nil || errors.Is(err, sql.ErrNoRows) || ctx.Err() != nil {
			r.served.Add(1)
			return err
		}
		r.usable.Store(false)
		r.mu.Lock()
		r.status.InUse, r.status.Error = false, "查询失败："+err.Error()
		r.mu.Unlock()
	}
	if db.replica != nil {
		db.replica.fallbacks.Add(1)
	}
	return read(db.read)
}
