package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
)

const userColumns = `u.id, u.name, u.display_name, u.role, u.scope, u.password_hash, u.disabled, u.created_at`

func (db *DB) queryUser(ctx context.Context, query string, args ...any) (*auth.User, error) {
	u := &auth.User{}
	var created int64
	err := db.read.QueryRowContext(ctx, query, args...).Scan(&u.ID, &u.Name, &u.DisplayName, &u.Role, &u.Scope, &u.PasswordHash, &u.Disabled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.E(apperr.NotFound, "", "auth.user.not_found")
	}
	if err != nil {
		return nil, apperr.Internalf("store: find user: %w", err)
	}
	u.CreatedAt = fromMicros(created)
	return u, nil
}

// CreateUser inserts u; a taken name is a conflict.
func (db *DB) CreateUser(ctx context.Context, u *auth.User, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO users (name, display_name, role, scope, password_hash, disabled, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			u.Name, u.DisplayName, string(u.Role), u.Scope, u.PasswordHash, u.Disabled, micros(u.CreatedAt)).Scan(&u.ID)
		if isUniqueViolation(err) {
			return apperr.E(apperr.Duplicate, "name", "auth.user.name_taken", u.Name)
		}
		if err != nil {
			return apperr.Internalf("store: create user: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// FindUserByName returns the user called name.
func (db *DB) FindUserByName(ctx context.Context, name string) (*auth.User, error) {
	return db.queryUser(ctx, `SELECT `+userColumns+` FROM users u WHERE u.name = $1`, name)
}

// CountUsers returns how many accounts exist.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, apperr.Internalf("store: count users: %w", err)
	}
	return n, nil
}

// CreateSession stores a session and removes expired ones.
func (db *DB) CreateSession(ctx context.Context, s *auth.Session, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < $1`, micros(s.CreatedAt)); err != nil {
			return apperr.Internalf("store: expire sessions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			s.IDHash, s.UserID, s.CSRFToken, micros(s.CreatedAt), micros(s.ExpiresAt)); err != nil {
			return apperr.Internalf("store: create session: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// FindSession returns an unexpired session and its user.
func (db *DB) FindSession(ctx context.Context, idHash string, now time.Time) (*auth.Session, *auth.User, error) {
	s := &auth.Session{IDHash: idHash}
	u := &auth.User{}
	var created, expires, ucreated int64
	err := db.read.QueryRowContext(ctx, `SELECT s.user_id, s.csrf_token, s.created_at, s.expires_at, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2`, idHash, micros(now)).
		Scan(&s.UserID, &s.CSRFToken, &created, &expires, &u.ID, &u.Name, &u.DisplayName, &u.Role, &u.Scope, &u.PasswordHash, &u.Disabled, &ucreated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, apperr.E(apperr.NotFound, "", "auth.session.invalid")
	}
	if err != nil {
		return nil, nil, apperr.Internalf("store: find session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt, u.CreatedAt = fromMicros(created), fromMicros(expires), fromMicros(ucreated)
	return s, u, nil
}

// DeleteSession ends a session and records it.
func (db *DB) DeleteSession(ctx context.Context, idHash string, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
			return apperr.Internalf("store: delete session: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// CreateAPIToken stores a token hash.
func (db *DB) CreateAPIToken(ctx context.Context, t *auth.APIToken, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_tokens (token_hash, user_id, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			t.Hash, t.UserID, t.Label, micros(t.CreatedAt), micros(t.ExpiresAt)); err != nil {
			return apperr.Internalf("store: create token: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// FindUserByAPIToken returns the owner of an unexpired token.
func (db *DB) FindUserByAPIToken(ctx context.Context, hash string, now time.Time) (*auth.User, error) {
	return db.queryUser(ctx, `SELECT `+userColumns+` FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.token_hash = $1 AND (t.expires_at = 0 OR t.expires_at > $2)`, hash, micros(now))
}

// RecordLoginAttempt keeps an attempt for throttling, with its audit entry
// if any, and forgets attempts older than a day.
func (db *DB) RecordLoginAttempt(ctx context.Context, a auth.LoginAttempt, e *audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE at < $1`, micros(a.At.Add(-24*time.Hour))); err != nil {
			return apperr.Internalf("store: prune login attempts: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_attempts (at, username, address, ok) VALUES ($1, $2, $3, $4)`,
			micros(a.At), a.User, a.Address, a.OK); err != nil {
			return apperr.Internalf("store: record login attempt: %w", err)
		}
		if e == nil {
			return nil
		}
		return db.appendAudit(ctx, tx, *e)
	})
}

// CountLoginFailures counts failed attempts since a time, by user and by
// address. A success resets neither: the window does.
func (db *DB) CountLoginFailures(ctx context.Context, user, address string, since time.Time) (int, int, error) {
	var byUser, byAddr int
	err := db.read.QueryRowContext(ctx, `SELECT
		COUNT(*) FILTER (WHERE username = $1),
		COUNT(*) FILTER (WHERE address = $2)
		FROM login_attempts WHERE at >= $3 AND NOT ok AND (username = $1 OR address = $2)`, user, address, micros(since)).Scan(&byUser, &byAddr)
	if err != nil {
		return 0, 0, apperr.Internalf("store: count login failures: %w", err)
	}
	return byUser, byAddr, nil
}
