package demo

import (
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/cert"
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

// certificates are the demo's graduation certificates: those of the
// latest graduates, as the platform would have issued them on graduation
// day with the instance's active key.
type certificates struct {
	key     *cert.SigningKey
	list    []*cert.Certificate
	revoked int
	signed  chan error
}

// signCertificates builds the certificates of graduates (in registration
// order, numbers drawn from rng) and signs them in the background (see
// signAll), while the store rebuilds the registry's indexes.
func signCertificates(key *cert.SigningKey, graduates []*student.Student, rng *rand.Rand) (*certificates, error) {
	c := &certificates{key: key, list: make([]*cert.Certificate, 0, len(graduates)), signed: make(chan error, 1)}
	seen := map[string]bool{}
	for _, st := range graduates {
		grad, _ := time.Parse(time.DateOnly, st.LeftDate)
		crt, err := cert.Build(st, st.LeftDate, SchoolUser(st.SchoolCode), grad.Add(10*time.Hour))
		if err != nil {
			return nil, err
		}
		for crt.No == "" || seen[crt.No] {
			crt.No = cert.FormatNumber(grad.Year(), crt.ProvinceCode, rng.Uint64())
		}
		seen[crt.No] = true
		if rng.IntN(revokedEvery) == 0 {
			crt.Status, crt.Reason, crt.RevokedBy = cert.StatusRevoked, "学籍被撤销：核查发现入学资格材料不实", "province"
			crt.RevokedAt, crt.Version = grad.AddDate(0, 3, 0), 2
			c.revoked++
		}
		c.list = append(c.list, crt)
	}
	go func() { c.signed <- signAll(key, c.list) }()
	return c, nil
}

// store waits for the signatures and writes the certificates.
func (c *certificates) store(ctx context.Context, db *store.DB) error {
	if err := <-c.signed; err != nil {
		return err
	}
	if err := db.LoadCertificates(ctx, c.list); err != nil {
		return err
	}
	return db.RecordAudit(ctx, audit.Entry{Actor: "system", Action: "demo.certificates", Entity: "demo", EntityID: CertificatesSince,
		Data: map[string]any{"issued": len(c.list), "revoked": c.revoked, "key": c.key.ID}})
}

// signAll signs certs in parallel, leaving one core to the database's
// index builds that run meanwhile.
func signAll(key *cert.SigningKey, certs []*cert.Certificate) error {
	workers := max(1, runtime.GOMAXPROCS(0)-1)
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
