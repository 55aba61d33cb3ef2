package student

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/idcard"
)

// Kinds of data-comparison (数据比对) findings.
const (
	FindNearDuplicate = "near_duplicate"   // same name, sex and birth date, different document numbers, both active
	FindImpossibleAge = "impossible_age"   // age at enrollment outside what the class level's entry point allows
	FindInvalidID     = "invalid_identity" // a stored resident ID that fails GB 11643 or disagrees with the record
	FindOverdue       = "overdue"          // still active long past the class level's normal duration
	FindOverCapacity  = "over_capacity"    // a school's active students exceed its approved size
	FindGhost         = "ghost"            // active with no activity for a long time (空挂学籍)
)

// FindingKinds lists the kinds in report order.
var FindingKinds = []string{FindNearDuplicate, FindImpossibleAge, FindInvalidID, FindOverdue, FindOverCapacity, FindGhost}

// FindingLabel is a kind's Chinese name.
func FindingLabel(kind string) string {
	return map[string]string{FindNearDuplicate: "疑似重复学籍", FindImpossibleAge: "年龄不合理", FindInvalidID: "身份信息无效",
		FindOverdue: "超期在籍", FindOverCapacity: "在籍人数超过核定规模", FindGhost: "疑似空挂学籍"}[kind]
}

// Finding is one thing the comparison found, with the records behind it.
type Finding struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Key        string    `json:"-"` // identifies the same finding across runs
	SchoolCode string    `json:"school_code"`
	CityCode   string    `json:"city_code"`
	StudentIDs []int64   `json:"student_ids"`
	Detail     string    `json:"detail"`
	State      string    `json:"state"` // open or resolved
	FirstSeen  time.Time `json:"first_seen_at"`
	LastSeen   time.Time `json:"last_seen_at"`
	ResolvedBy string    `json:"resolved_by,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	Note       string    `json:"note,omitempty"`
}

// Finding states.
const (
	FindingOpen     = "open"
	FindingResolved = "resolved"
)

// CompareOptions tune the comparison.
type CompareOptions struct {
	GhostDays         int     // no activity for this many days (default 540: three missed term registrations)
	OverdueMonths     int     // active this many months past expected graduation (default 12)
	CapacityTolerance float64 // active students above capacity × (1 + this) (default 0.1)
}

func (o *CompareOptions) defaults() {
	if o.GhostDays <= 0 {
		o.GhostDays = 540
	}
	if o.OverdueMonths <= 0 {
		o.OverdueMonths = 12
	}
	if o.CapacityTolerance <= 0 {
		o.CapacityTolerance = 0.1
	}
}

// AgeRange is the plausible age at enrollment for a study mode and entry
// point; ages outside it are reported, not refused.
func AgeRange(mode, entry string) (lo, hi int) {
	if mode == ModePartTime {
		return 16, 60
	}
	switch {
	case strings.HasPrefix(entry, "初中"):
		return 13, 22
	case strings.HasPrefix(entry, "高中"):
		return 16, 26
	}
	return 16, 45
}

// CompareCandidate is an active student as the comparison reads it.
type CompareCandidate struct {
	ID                 int64
	SchoolCode         string
	CityCode           string
	IDType             string
	IDSealed           []byte
	Sex                string
	BirthDate          string
	StudyMode          string
	EntryPoint         string
	EnrollmentDate     string
	ExpectedGraduation string
	LastActivity       time.Time
}

// CompareStore is what the comparison needs from storage.
type CompareStore interface {
	NearDuplicates(ctx context.Context, scope auth.Scope) ([]Finding, error)
	SchoolCapacities(ctx context.Context, scope auth.Scope) (map[string]SchoolCapacity, error)
	StudentIDRange(ctx context.Context) (lo, hi int64, err error)
	EachActive(ctx context.Context, scope auth.Scope, fromID, toID int64, fn func(CompareCandidate) error) error
	SaveFindings(ctx context.Context, scope auth.Scope, kinds []string, found []Finding, now time.Time, e audit.Entry) (int, error)
	FindFindings(ctx context.Context, f FindingFilter) ([]Finding, int, error)
	ResolveFinding(ctx context.Context, scope auth.Scope, id int64, by, note string, now time.Time, e audit.Entry) (*Finding, error)
}

// FindingFilter selects findings.
type FindingFilter struct {
	Scope auth.Scope
	Kind  string
	State string
	After int64
	Limit int
}

// Comparison runs the data comparison over a store.
type Comparison struct {
	Store   CompareStore
	Protect interface {
		Open(sealed, aad []byte) ([]byte, error)
	}
	Now func() time.Time
}

// SchoolCapacity is a school's approved size (0: not set).
type SchoolCapacity struct {
	CityCode string
	Capacity int
}

// Summary counts a run's findings by kind.
type Summary struct {
	ByKind  map[string]int `json:"by_kind"`
	New     int            `json:"new"`
	Elapsed time.Duration  `json:"-"`
}

// Run compares the records in p's scope, stores what it finds (a finding
// seen before keeps its state and resolution) and returns the counts.
func (c *Comparison) Run(ctx context.Context, p auth.Principal, opts CompareOptions) (Summary, error) {
	if !p.CanWrite() {
		return Summary{}, apperr.E(apperr.Forbidden, "", "compare.forbidden")
	}
	return c.run(ctx, p.Scope(), p.Name, opts)
}

// RunAll is the nightly run over everything.
func (c *Comparison) RunAll(ctx context.Context, opts CompareOptions) (Summary, error) {
	return c.run(ctx, auth.Scope{Kind: auth.ScopeAll}, "system", opts)
}

func (c *Comparison) run(ctx context.Context, scope auth.Scope, actor string, opts CompareOptions) (Summary, error) {
	start := c.Now()
	opts.defaults()
	today := start.In(shanghai)
	// Near-duplicates (one query) and the pass over the active students
	// (split by id range, one part per core) run at the same time, each on
	// its own read connection.
	var near []Finding
	var nearErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		near, nearErr = c.Store.NearDuplicates(ctx, scope)
	}()
	lo, hi, err := c.Store.StudentIDRange(ctx)
	if err != nil {
		wg.Wait()
		return Summary{}, err
	}
	parts := max(1, min(runtime.NumCPU(), 4))
	type partResult struct {
		found  []Finding
		active map[string]int
		err    error
	}
	results := make([]partResult, parts)
	overdueBefore := today.AddDate(0, -opts.OverdueMonths, 0).Format("2006-01")
	inactiveSince := start.AddDate(0, 0, -opts.GhostDays)
	span := (hi-lo)/int64(parts) + 1
	for i := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[i]
			r.active = map[string]int{}
			from, to := lo+int64(i)*span, lo+int64(i+1)*span-1
			r.err = c.Store.EachActive(ctx, scope, from, to, func(st CompareCandidate) error {
				r.active[st.SchoolCode]++
				if f, ok := c.checkPerson(st, today); ok {
					r.found = append(r.found, f)
				}
				one := Finding{SchoolCode: st.SchoolCode, CityCode: st.CityCode, StudentIDs: []int64{st.ID}, Key: itoa64(st.ID)}
				if st.ExpectedGraduation < overdueBefore {
					one.Kind, one.Detail = FindOverdue, "应于 "+st.ExpectedGraduation+" 毕业，至今仍在籍"
					r.found = append(r.found, one)
				}
				if st.LastActivity.Before(inactiveSince) {
					one.Kind, one.Detail = FindGhost, "自 "+inactiveSince.In(shanghai).Format("2006-01-02")+" 以来没有任何注册、异动或其他记录"
					r.found = append(r.found, one)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	if nearErr != nil {
		return Summary{}, nearErr
	}
	found := near
	active := map[string]int{}
	for _, r := range results {
		if r.err != nil {
			return Summary{}, r.err
		}
		found = append(found, r.found...)
		for k, v := range r.active {
			active[k] += v
		}
	}
	capacities, err := c.Store.SchoolCapacities(ctx, scope)
	if err != nil {
		return Summary{}, err
	}
	for code, sc := range capacities {
		if n := active[code]; sc.Capacity > 0 && float64(n) > float64(sc.Capacity)*(1+opts.CapacityTolerance) {
			found = append(found, Finding{Kind: FindOverCapacity, Key: code, SchoolCode: code, CityCode: sc.CityCode,
				Detail: fmt.Sprintf("在籍 %d 人，核定办学规模 %d 人，超出 %.0f%%", n, sc.Capacity, float64(n-sc.Capacity)*100/float64(sc.Capacity))})
		}
	}
	sum := Summary{ByKind: map[string]int{}}
	for _, f := range found {
		sum.ByKind[f.Kind]++
	}
	sum.New, err = c.Store.SaveFindings(ctx, scope, FindingKinds, found, start, audit.Entry{Actor: actor, Action: "compare.run", Entity: "comparison",
		EntityID: scopeLabel(scope), Data: sum.ByKind})
	sum.Elapsed = c.Now().Sub(start)
	return sum, err
}

func scopeLabel(s auth.Scope) string {
	if s.Kind == auth.ScopeAll {
		return "all"
	}
	return s.Code
}

// checkPerson finds identity problems of one stored record.
func (c *Comparison) checkPerson(st CompareCandidate, today time.Time) (Finding, bool) {
	f := Finding{Kind: FindImpossibleAge, SchoolCode: st.SchoolCode, CityCode: st.CityCode, StudentIDs: []int64{st.ID}}
	birth, err1 := time.Parse(dateLayout, st.BirthDate)
	enrolled, err2 := time.Parse(dateLayout, st.EnrollmentDate)
	if err1 != nil || err2 != nil {
		f.Kind, f.Detail = FindInvalidID, "出生日期或入学日期不是有效日期"
	} else if lo, hi := AgeRange(st.StudyMode, st.EntryPoint); AgeAt(birth, enrolled) < lo || AgeAt(birth, enrolled) > hi {
		f.Detail = "入学时 " + itoa(AgeAt(birth, enrolled)) + " 岁，" + st.StudyMode + st.EntryPoint + "起点应在 " + itoa(lo) + "–" + itoa(hi) + " 岁之间"
	} else if st.IDType == ResidentID {
		plain, err := c.Protect.Open(st.IDSealed, []byte(st.IDType))
		if err != nil {
			f.Kind, f.Detail = FindInvalidID, "证件号码无法解密（密钥不符或数据被改动）"
		} else if _, err := checkResident(string(plain), birth, st.Sex, today); err != nil {
			f.Kind, f.Detail = FindInvalidID, err.Error()
		} else {
			return Finding{}, false
		}
	} else {
		return Finding{}, false
	}
	f.Key = itoa64(st.ID)
	return f, true
}

func itoa(n int) string     { return strconv.Itoa(n) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

func checkResident(number string, birth time.Time, sex string, today time.Time) (idcard.Info, error) {
	return idcard.Check(number, birth, idcard.Sex(sex), today)
}

// ListFindings returns a page of findings in p's scope.
func (c *Comparison) ListFindings(ctx context.Context, p auth.Principal, f FindingFilter) ([]Finding, int, error) {
	f.Scope = p.Scope()
	if f.Limit <= 0 || f.Limit > MaxPageSize {
		f.Limit = 50
	}
	return c.Store.FindFindings(ctx, f)
}

// Resolve closes a finding with a note; the resolution is audited.
func (c *Comparison) Resolve(ctx context.Context, p auth.Principal, id int64, note string) (*Finding, error) {
	if !p.CanWrite() {
		return nil, apperr.E(apperr.Forbidden, "", "compare.resolve.forbidden")
	}
	note = strings.TrimSpace(note)
	if note == "" {
		return nil, apperr.E(apperr.Invalid, "note", "field.required", "处理说明")
	}
	if utf8.RuneCountInString(note) > MaxReasonLength {
		return nil, apperr.E(apperr.Invalid, "note", "field.too_long", MaxReasonLength)
	}
	return c.Store.ResolveFinding(ctx, p.Scope(), id, p.Name, note, c.Now(), audit.Entry{Actor: p.Name, Action: "compare.resolve",
		Entity: "finding", EntityID: itoa64(id), Data: map[string]string{"note": note}})
}
