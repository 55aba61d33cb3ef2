package demo

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/student"
)

// CertificatesSince is the first graduation date with an electronic
// certificate in the demo: the latest cohort (July 2025). Earlier
// graduates hold the paper certificates of before the platform.
const CertificatesSince = "2025-07-01"

// revokedEvery makes one demo certificate in so many revoked, so the
// verify page has revoked answers to show.
const revokedEvery = 400

const certBatch = 5000

// issueCertificates signs and stores the certificates of the demo's
// latest graduates with the instance's active key, as the platform would
// have issued them on graduation day. Signing runs on every core.
func issueCertificates(ctx context.Context, db *store.DB, protect pii.Protector, rng *rand.Rand) (issued, revoked int, err error) {
	key, err := cert.NewService(db, protect).ActiveKey(ctx)
	if err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	var batch []*cert.Certificate
	flush := func() error {
		if err := signAll(key, batch); err != nil {
			return err
		}
		if err := db.LoadCertificates(ctx, batch); err != nil {
			return err
		}
		issued += len(batch)
		batch = batch[:0]
		return nil
	}
	err = db.EachGraduate(ctx, CertificatesSince, func(st *student.Student) error {
		grad, _ := time.Parse(time.DateOnly, st.LeftDate)
		c, err := cert.Build(st, st.LeftDate, SchoolUser(st.SchoolCode), grad.Add(10*time.Hour))
		if err != nil {
			return err
		}
		for c.No == "" || seen[c.No] {
			c.No = cert.FormatNumber(grad.Year(), c.ProvinceCode, rng.Uint64())
		}
		seen[c.No] = true
		if rng.IntN(revokedEvery) == 0 {
			c.Status, c.Reason, c.RevokedBy = cert.StatusRevoked, "学籍被撤销：核查发现入学资格材料不实", "province"
			c.RevokedAt, c.Version = grad.AddDate(0, 3, 0), 2
			revoked++
		}
		batch = append(batch, c)
		if len(batch) == certBatch {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	if err != nil {
		return issued, revoked, err
	}
	return issued, revoked, db.RecordAudit(ctx, audit.Entry{Actor: "system", Action: "demo.certificates", Entity: "demo", EntityID: CertificatesSince,
		Data: map[string]any{"issued": issued, "revoked": revoked, "key": key.ID}})
}

// signAll signs certs in parallel.
func signAll(key *cert.SigningKey, certs []*cert.Certificate) error {
	workers := runtime.GOMAXPROCS(0)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(certs); i += workers {
				if err := key.Sign(certs[i]); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
