package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/student"
)

// CertKeys returns every certificate signing key, oldest first.
func (db *DB) CertKeys(ctx context.Context) ([]cert.StoredKey, error) {
	rows, err := db.write.QueryContext(ctx, `SELECT kid, alg, public_key, private_sealed, created_at, retired_at FROM cert_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, apperr.Internalf("store: cert keys: %w", err)
	}
	defer rows.Close()
	var out []cert.StoredKey
	for rows.Next() {
		var k cert.StoredKey
		var created, retired int64
		if err := rows.Scan(&k.ID, &k.Alg, &k.Public, &k.PrivateSealed, &created, &retired); err != nil {
			return nil, apperr.Internalf("store: scan cert key: %w", err)
		}
		k.CreatedAt, k.RetiredAt = fromMicros(created), fromMicros(retired)
		out = append(out, k)
	}
	return out, rows.Err()
}

// AddCertKey retires the active key and stores k as the active one. Two
// nodes creating a first key at once: one wins, the other gets conflict.
func (db *DB) AddCertKey(ctx context.Context, k cert.StoredKey, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE cert_keys SET retired_at = $1 WHERE retired_at = 0`, micros(k.CreatedAt)); err != nil {
			return apperr.Internalf("store: retire cert key: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO cert_keys (kid, alg, public_key, private_sealed, created_at) VALUES ($1, $2, $3, $4, $5)`,
			k.ID, k.Alg, k.Public, k.PrivateSealed, micros(k.CreatedAt))
		if isUniqueViolation(err) {
			return apperr.E(apperr.Conflict, "", "cert.key.concurrent")
		}
		if err != nil {
			return apperr.Internalf("store: add cert key: %w", err)
		}
		return db.appendAudit(ctx, tx, e)
	})
}

const certColumns = `c.id, c.no, c.kind, c.student_id, s.student_no, c.school_code, c.city_code, c.holder_name, c.id_masked,
	c.school_name, c.major, c.class_level, c.study_mode, c.entry_date, c.graduation_date, c.issue_date, c.province_code,
	c.alg, c.kid, c.signature, c.status, c.reason, c.revoked_at, c.revoked_by, c.replaces, c.replaced_by, c.issued_by,
	c.created_at, c.version`

const certFrom = ` FROM certificates c JOIN students s ON s.id = c.student_id`

func scanCert(row interface{ Scan(...any) error }) (*cert.Certificate, error) {
	var c cert.Certificate
	var revoked, created int64
	err := row.Scan(&c.ID, &c.No, &c.Kind, &c.StudentID, &c.StudentNo, &c.SchoolCode, &c.CityCode, &c.HolderName, &c.IDMasked,
		&c.SchoolName, &c.Major, &c.ClassLevel, &c.StudyMode, &c.EntryDate, &c.GraduationDate, &c.IssueDate, &c.ProvinceCode,
		&c.Alg, &c.KeyID, &c.Signature, &c.Status, &c.Reason, &revoked, &c.RevokedBy, &c.Replaces, &c.ReplacedBy, &c.IssuedBy,
		&created, &c.Version)
	if err != nil {
		return nil, err
	}
	c.RevokedAt, c.CreatedAt = fromMicros(revoked), fromMicros(created)
	return &c, nil
}

const qCertInsert = `INSERT INTO certificates (no, kind, student_id, school_code, city_code, holder_name, id_masked, school_name,
	major, class_level, study_mode, entry_date, graduation_date, issue_date, province_code, alg, kid, signature, status,
	replaces, issued_by, created_at, version)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23) RETURNING id`

// insertCert adds c inside tx. A student who already holds a valid
// certificate is a conflict; a taken number is a duplicate (the caller
// draws another).
func insertCert(ctx context.Context, tx *sql.Tx, c *cert.Certificate) error {
	var held int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM certificates WHERE student_id = $1 AND status = 'valid'`, c.StudentID).Scan(&held); err != nil {
		return apperr.Internalf("store: certificate check: %w", err)
	}
	if held > 0 {
		return apperr.E(apperr.Conflict, "", "cert.already_issued")
	}
	err := tx.QueryRowContext(ctx, qCertInsert, c.No, c.Kind, c.StudentID, c.SchoolCode, c.CityCode, c.HolderName, c.IDMasked,
		c.SchoolName, c.Major, c.ClassLevel, c.StudyMode, c.EntryDate, c.GraduationDate, c.IssueDate, c.ProvinceCode, c.Alg,
		c.KeyID, c.Signature, c.Status, c.Replaces, c.IssuedBy, micros(c.CreatedAt), c.Version).Scan(&c.ID)
	if isUniqueViolation(err) {
		// The one-valid-certificate index: an issue for the same student
		// committed after the check above (PostgreSQL names the index,
		// SQLite the column).
		if m := err.Error(); strings.Contains(m, "certificates_valid_student") || strings.Contains(m, "certificates.student_id") {
			return apperr.E(apperr.Conflict, "", "cert.already_issued")
		}
		return apperr.E(apperr.Duplicate, "no", "cert.no.taken")
	}
	if err != nil {
		return apperr.Internalf("store: insert certificate: %w", err)
	}
	return nil
}

// CreateCertificate stores a newly issued certificate.
func (db *DB) CreateCertificate(ctx context.Context, c *cert.Certificate, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := insertCert(ctx, tx, c); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, e)
	})
}

func updateCert(ctx context.Context, tx *sql.Tx, c *cert.Certificate, prev int64) error {
	res, err := tx.ExecContext(ctx, `UPDATE certificates SET status = $1, reason = $2, revoked_at = $3, revoked_by = $4, replaced_by = $5,
		version = $6 WHERE id = $7 AND version = $8`,
		c.Status, c.Reason, micros(c.RevokedAt), c.RevokedBy, c.ReplacedBy, c.Version, c.ID, prev)
	if err != nil {
		return apperr.Internalf("store: update certificate: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return apperr.E(apperr.Conflict, "", "cert.version.stale")
	}
	return nil
}

// UpdateCertificate writes a revocation, if nobody changed c since
// version prev.
func (db *DB) UpdateCertificate(ctx context.Context, c *cert.Certificate, prev int64, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := updateCert(ctx, tx, c, prev); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, e)
	})
}

// ReissueCertificate voids old and stores its replacement together.
func (db *DB) ReissueCertificate(ctx context.Context, old *cert.Certificate, prev int64, c *cert.Certificate, e audit.Entry) error {
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := updateCert(ctx, tx, old, prev); err != nil {
			return err
		}
		if err := insertCert(ctx, tx, c); err != nil {
			return err
		}
		return db.appendAudit(ctx, tx, e)
	})
}

func certWhere(f cert.Filter) *where {
	w := &where{}
	applyScope(w, f.Scope, cols("c.city_code"), cols("c.school_code"))
	if f.No != "" {
		w.add("c.no = " + w.arg(f.No))
	}
	if f.HolderName != "" {
		w.add("c.holder_name = " + w.arg(f.HolderName))
	}
	if f.StudentID > 0 {
		w.add("c.student_id = " + w.arg(f.StudentID))
	}
	if f.SchoolCode != "" {
		w.add("c.school_code = " + w.arg(f.SchoolCode))
	}
	if f.Status != "" {
		w.add("c.status = " + w.arg(f.Status))
	}
	return w
}

// FindCertificate returns a certificate scope may see.
func (db *DB) FindCertificate(ctx context.Context, scope auth.Scope, no string) (*cert.Certificate, error) {
	w := certWhere(cert.Filter{Scope: scope, No: no})
	c, err := scanCert(db.read.QueryRowContext(ctx, `SELECT `+certColumns+certFrom+w.String(), w.args...))
	if errors.Is(err, sql.ErrNoRows) || no == "" {
		return nil, apperr.E(apperr.NotFound, "", "cert.not_found")
	}
	if err != nil {
		return nil, apperr.Internalf("store: find certificate: %w", err)
	}
	return c, nil
}

// ListCertificates returns a page of certificates, newest first, and the
// number matching (capped at CountCap).
func (db *DB) ListCertificates(ctx context.Context, f cert.Filter) ([]*cert.Certificate, int, error) {
	w := certWhere(f)
	var total int
	if err := db.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM certificates c`+w.String()+` LIMIT `+fmt.Sprint(CountCap)+`) capped`,
		w.args...).Scan(&total); err != nil {
		return nil, 0, apperr.Internalf("store: count certificates: %w", err)
	}
	if f.After > 0 {
		w.add("c.id < " + w.arg(f.After))
	}
	rows, err := db.read.QueryContext(ctx, `SELECT `+certColumns+certFrom+w.String()+` ORDER BY c.id DESC LIMIT `+w.arg(f.Limit), w.args...)
	if err != nil {
		return nil, 0, apperr.Internalf("store: list certificates: %w", err)
	}
	defer rows.Close()
	var out []*cert.Certificate
	for rows.Next() {
		c, err := scanCert(rows)
		if err != nil {
			return nil, 0, apperr.Internalf("store: scan certificate: %w", err)
		}
		out = append(out, c)
	}
	return out, total, rows.Err()
}

// qCertLookup is public verification's one indexed read: only what an
// answer shows, without the student join the staff views need.
const qCertLookup = `SELECT no, holder_name, id_masked, school_name, major, class_level, study_mode, entry_date, graduation_date,
	issue_date, province_code, status, reason, revoked_at FROM certificates WHERE no = $1`

// LookupCertificate reads the fields public verification shows of a
// certificate; nil when there is none.
func (db *DB) LookupCertificate(ctx context.Context, no string) (*cert.Certificate, error) {
	var c cert.Certificate
	var revoked int64
	err := db.publicRead(ctx, func(q queryer) error {
		row := db.readQueryRow(ctx, qCertLookup, no)
		if q != queryer(db.read) {
			row = q.QueryRowContext(ctx, qCertLookup, no)
		}
		return row.Scan(&c.No, &c.HolderName, &c.IDMasked, &c.SchoolName, &c.Major, &c.ClassLevel,
			&c.StudyMode, &c.EntryDate, &c.GraduationDate, &c.IssueDate, &c.ProvinceCode, &c.Status, &c.Reason, &revoked)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, apperr.Internalf("store: look up certificate: %w", err)
	}
	c.Kind, c.RevokedAt = cert.KindGraduation, fromMicros(revoked)
	return &c, nil
}

// UncertifiedGraduates lists students whose graduation request was applied
// and who have no certificate at all (a revoked one is not replaced by
// this).
func (db *DB) UncertifiedGraduates(ctx context.Context, limit int) ([]int64, error) {
	rows, err := db.read.QueryContext(ctx, `SELECT DISTINCT r.student_id FROM change_requests r JOIN students s ON s.id = r.student_id
		WHERE r.type = $1 AND r.state = $2 AND s.status = $3
		AND NOT EXISTS (SELECT 1 FROM certificates c WHERE c.student_id = r.student_id) ORDER BY r.student_id LIMIT $4`,
		student.ChangeGraduation, student.StateApplied, student.StatusGraduated, limit)
	if err != nil {
		return nil, apperr.Internalf("store: uncertified graduates: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, apperr.Internalf("store: scan student id: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

var certBulkColumns = []string{"no", "kind", "student_id", "school_code", "city_code", "holder_name", "id_masked", "school_name",
	"major", "class_level", "study_mode", "entry_date", "graduation_date", "issue_date", "province_code", "alg", "kid", "signature",
	"status", "reason", "revoked_at", "revoked_by", "issued_by", "created_at", "version"}

// LoadCertificates inserts signed certificates in bulk, in one
// transaction (the demo's graduates).
func (db *DB) LoadCertificates(ctx context.Context, certs []*cert.Certificate) error {
	row := func(args []any, i int) []any {
		c := certs[i]
		return append(args, c.No, c.Kind, c.StudentID, c.SchoolCode, c.CityCode, c.HolderName, c.IDMasked, c.SchoolName, c.Major,
			c.ClassLevel, c.StudyMode, c.EntryDate, c.GraduationDate, c.IssueDate, c.ProvinceCode, c.Alg, c.KeyID, c.Signature,
			c.Status, c.Reason, micros(c.RevokedAt), c.RevokedBy, c.IssuedBy, micros(c.CreatedAt), c.Version)
	}
	return db.inTx(ctx, func(tx *sql.Tx) error {
		if err := db.insertEach(ctx, tx, "certificates", certBulkColumns, len(certs), row); err != nil {
			return apperr.Internalf("store: load certificates: %w", err)
		}
		return nil
	})
}
