package store

import (
	"context"
	"database/sql"
	"errors"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
)

const (
	qAuditLock   = `UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash`
	qAuditInsert = `INSERT INTO audit_events (seq, at, actor, action, entity, entity_id, data, prev_hash, hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`
	qAuditHead = `UPDATE audit_head SET seq = $1, hash = $2, at = $3, key_id = $4, signature = $5 WHERE id = 1`
)

// appendAudit appends entries to the chain inside tx and re-signs the head.
// The UPDATE on the head row takes its lock first, so concurrent appenders
// on PostgreSQL queue behind each other (SQLite has one writer anyway).
func (db *DB) appendAudit(ctx context.Context, tx *sql.Tx, entries ...audit.Entry) error {
	var seq int64
	var hash string
	err := db.txQueryRow(ctx, tx, qAuditLock).Scan(&seq, &hash)
	if err != nil {
		return apperr.Internalf("store: audit head: %w", err)
	}
	now := db.now()
	for _, e := range entries {
		ev, err := audit.NewEvent(seq, hash, now, e)
		if err != nil {
			return apperr.Internalf("%w", err)
		}
		if _, err := db.txExec(ctx, tx, qAuditInsert,
			ev.Seq, micros(ev.At), ev.Actor, ev.Action, ev.Entity, ev.EntityID, string(ev.Data), ev.PrevHash, ev.Hash); err != nil {
			return apperr.Internalf("store: audit append: %w", err)
		}
		if ev.Seq%audit.CheckpointEvery == 0 {
			c := db.signer.Sign(ev.Seq, ev.Hash, now)
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5)`,
				c.Seq, c.Hash, micros(c.At), c.KeyID, c.Signature); err != nil {
				return apperr.Internalf("store: audit checkpoint: %w", err)
			}
		}
		seq, hash = ev.Seq, ev.Hash
	}
	head := db.signer.Sign(seq, hash, now)
	if _, err := db.txExec(ctx, tx, qAuditHead,
		head.Seq, head.Hash, micros(head.At), head.KeyID, head.Signature); err != nil {
		return apperr.Internalf("store: audit head: %w", err)
	}
	return nil
}

// RecordAudit appends entries on their own, for events that change no other
// row (a reveal of personal data, an export).
func (db *DB) RecordAudit(ctx context.Context, entries ...audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error { return db.appendAudit(ctx, tx, entries...) })
}

// AuditEvents calls fn for every event in sequence order until fn returns
// false; it streams, so the whole log never sits in memory.
func (db *DB) AuditEvents(ctx context.Context, fromSeq int64, fn func(audit.Event) bool) error {
	rows, err := db.read.QueryContext(ctx, `SELECT seq, at, actor, action, entity, entity_id, data, prev_hash, hash
		FROM audit_events WHERE seq >= $1 ORDER BY seq`, fromSeq)
	if err != nil {
		return apperr.Internalf("store: audit read: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e audit.Event
		var at int64
		var data string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &data, &e.PrevHash, &e.Hash); err != nil {
			return apperr.Internalf("store: audit read: %w", err)
		}
		e.At, e.Data = fromMicros(at), []byte(data)
		if !fn(e) {
			return nil
		}
	}
	return rows.Err()
}

// RecentAudit returns the newest events, newest first, optionally for one
// entity, at most limit.
func (db *DB) RecentAudit(ctx context.Context, entity, entityID string, beforeSeq int64, limit int) ([]audit.Event, error) {
	w := &where{}
	if entity != "" {
		w.add("entity = " + w.arg(entity))
		w.add("entity_id = " + w.arg(entityID))
	}
	if beforeSeq > 0 {
		w.add("seq < " + w.arg(beforeSeq))
	}
	rows, err := db.read.QueryContext(ctx, `SELECT seq, at, actor, action, entity, entity_id, data, prev_hash, hash
		FROM audit_events`+w.String()+` ORDER BY seq DESC LIMIT `+w.arg(limit), w.args...)
	if err != nil {
		return nil, apperr.Internalf("store: audit read: %w", err)
	}
	defer rows.Close()
	var out []audit.Event
	for rows.Next() {
		var e audit.Event
		var at int64
		var data string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Entity, &e.EntityID, &data, &e.PrevHash, &e.Hash); err != nil {
			return nil, apperr.Internalf("store: audit read: %w", err)
		}
		e.At, e.Data = fromMicros(at), []byte(data)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditCheckpoints returns the kept checkpoints and the signed head (nil
// when nothing was ever appended).
func (db *DB) AuditCheckpoints(ctx context.Context) ([]audit.Checkpoint, *audit.Checkpoint, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY seq`)
	if err != nil {
		return nil, nil, apperr.Internalf("store: audit checkpoints: %w", err)
	}
	defer rows.Close()
	var cps []audit.Checkpoint
	for rows.Next() {
		var c audit.Checkpoint
		var at int64
		if err := rows.Scan(&c.Seq, &c.Hash, &at, &c.KeyID, &c.Signature); err != nil {
			return nil, nil, apperr.Internalf("store: audit checkpoints: %w", err)
		}
		c.At = fromMicros(at)
		cps = append(cps, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, apperr.Internalf("store: audit checkpoints: %w", err)
	}
	var h audit.Checkpoint
	var at int64
	err = db.read.QueryRowContext(ctx, `SELECT seq, hash, at, key_id, signature FROM audit_head WHERE id = 1`).
		Scan(&h.Seq, &h.Hash, &at, &h.KeyID, &h.Signature)
	if errors.Is(err, sql.ErrNoRows) {
		return cps, nil, nil
	}
	if err != nil {
		return nil, nil, apperr.Internalf("store: audit head: %w", err)
	}
	if h.Seq == 0 && h.Signature == nil {
		return cps, nil, nil
	}
	h.At = fromMicros(at)
	return cps, &h, nil
}

// VerifyAudit checks the whole chain and returns the first problem (nil
// when intact) and how many events were read.
func (db *DB) VerifyAudit(ctx context.Context) (*audit.Problem, int64, error) {
	cps, head, err := db.AuditCheckpoints(ctx)
	if err != nil {
		return nil, 0, err
	}
	v := audit.NewVerifier(db.signer.PublicKey(), cps)
	if err := db.AuditEvents(ctx, 0, v.Add); err != nil {
		return nil, v.Count, err
	}
	return v.Finish(head), v.Count, nil
}
