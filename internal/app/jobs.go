package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/student"
)

// jobs runs the background work of a node: approved status changes whose
// effective date has come are applied every minute (and graduations that
// have no certificate yet get one, and the public portal's listing is
// rebuilt before a visitor has to wait for it), and the data
// comparison runs once a night after 02:00 China time. Both are safe to
// run on several nodes at once: applying is a state transition guarded by
// versions, and findings are upserted by key.
type jobs struct {
	students   *student.Service
	certs      *cert.Service
	warm       func(context.Context) error // the public portal's listing
	comparison *student.Comparison
	// facts rebuilds the plans' per-school, per-year facts: incrementally
	// each minute, in full each night.
	facts func(ctx context.Context, full bool) (int, error)
	// purgeImports deletes import jobs (and the rows they refused) that
	// ended before a time; run nightly for those older than importKeep.
	purgeImports func(context.Context, time.Time) (int, error)
	logger       *slog.Logger
	now          func() time.Time
	lastNight    string // the date of the last nightly comparison
}

var shanghai = time.FixedZone("CST", 8*3600)

// importKeep is how long a finished import job, with the refused rows it
// holds (personal data), is kept.
const importKeep = 30 * 24 * time.Hour

func (j *jobs) run(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	j.tick(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			j.tick(ctx)
		}
	}
}

func (j *jobs) tick(ctx context.Context) {
	if n, err := j.students.ApplyDue(ctx); err != nil {
		j.logger.Error("apply due changes", "error", err)
	} else if n > 0 {
		j.logger.Info("applied due changes", "count", n)
	}
	if err := j.warm(ctx); err != nil {
		j.logger.Error("warm the public portal", "error", err)
	}
	if n, err := j.certs.IssueMissing(ctx); err != nil {
		j.logger.Error("issue missing certificates", "error", err)
	} else if n > 0 {
		j.logger.Info("issued missing certificates", "count", n)
	}
	if n, err := j.facts(ctx, false); err != nil {
		j.logger.Error("rebuild plan facts", "error", err)
	} else if n > 0 {
		j.logger.Info("rebuilt plan facts", "schools", n)
	}
	local := j.now().In(shanghai)
	today := local.Format("2006-01-02")
	if local.Hour() >= 2 && j.lastNight != today {
		j.lastNight = today
		if _, err := j.facts(ctx, true); err != nil {
			j.logger.Error("nightly rebuild of plan facts", "error", err)
		}
		if n, err := j.purgeImports(ctx, j.now().Add(-importKeep)); err != nil {
			j.logger.Error("purge old import jobs", "error", err)
		} else if n > 0 {
			j.logger.Info("purged old import jobs", "count", n)
		}
		sum, err := j.comparison.RunAll(ctx, student.CompareOptions{})
		if err != nil {
			j.logger.Error("nightly comparison", "error", err)
			return
		}
		j.logger.Info("nightly comparison", "findings", sum.ByKind, "new", sum.New, "duration_ms", sum.Elapsed.Milliseconds())
	}
}
