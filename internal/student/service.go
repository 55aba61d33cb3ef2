package student

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/school"
)

// Filter selects students; Scope is set from the caller by the service.
type Filter struct {
	Scope      auth.Scope
	SchoolCode string
	CityCode   string
	Major      string
	ClassLevel string
	StudyMode  string
	Status     string // a status, or "active"
	Year       int    // enrollment year
	// InSchool is a year: the students in school on its 31 December
	// (enrolled by then and not left by then), as the plans count them.
	InSchool int
	Query    string // name prefix or student number
	After    int64  // keyset cursor: ids below this (lists run newest first)
	Limit    int
}

// ChangeFilter selects change requests.
type ChangeFilter struct {
	Scope      auth.Scope
	State      string
	Type       string
	SchoolCode string
	StudentID  int64
	After      int64
	Limit      int
}

// HolderRecord is what the public status query shows: nothing personal.
type HolderRecord struct {
	SchoolName string `json:"school_name"`
	Major      string `json:"major"`
	ClassLevel string `json:"class_level"`
	StudyMode  string `json:"study_mode"`
	Status     string `json:"status"`
}

// Store is what the registry needs from storage. Finds apply Scope in SQL.
type Store interface {
	FindSchool(ctx context.Context, scope auth.Scope, code string) (*school.School, error)
	MajorExists(ctx context.Context, name string) (bool, error)
	CreateStudent(ctx context.Context, s *Student, e audit.Entry) error
	FindStudent(ctx context.Context, scope auth.Scope, id int64) (*Student, error)
	FindStudents(ctx context.Context, f Filter) ([]*Student, int, error)
	FindHolderRecords(ctx context.Context, blind, name string) ([]HolderRecord, error)
	CreateChange(ctx context.Context, r *ChangeRequest, e audit.Entry) error
	FindChange(ctx context.Context, scope auth.Scope, id int64) (*ChangeRequest, error)
	FindChanges(ctx context.Context, f ChangeFilter) ([]*ChangeRequest, int, error)
	UpdateChange(ctx context.Context, r *ChangeRequest, prevVersion int64, e audit.Entry) error
	ApplyChange(ctx context.Context, r *ChangeRequest, prevRequestVersion int64, s *Student, prevStudentVersion int64, e audit.Entry) error
	DueChanges(ctx context.Context, today string, limit int) ([]*ChangeRequest, error)
	AllowRate(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (bool, error)
	RecordAudit(ctx context.Context, entries ...audit.Entry) error
}

// Service enforces the registry's rules.
type Service struct {
	Store   Store
	Protect pii.Protector
	Now     func() time.Time
	// OnGraduated runs after a graduation is applied: the certificate
	// service issues the certificate. It must not fail the change; what it
	// misses, its catch-up job finds.
	OnGraduated func(ctx context.Context, st *Student)
}

// NewService returns a registry service.
func NewService(store Store, protect pii.Protector) *Service {
	return &Service{Store: store, Protect: protect, Now: time.Now}
}

var shanghai = time.FixedZone("CST", 8*3600)

// today is the calendar date in China, at midnight UTC for comparisons
// with stored dates.
func (s *Service) today() time.Time {
	y, m, d := s.Now().In(shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// blind is the uniqueness key of a person's document.
func (s *Service) blind(idType, number string) string {
	return s.Protect.BlindIndex(idType + ":" + number)
}

// MaxPageSize bounds a list page.
const MaxPageSize = 500

// Register creates a 学籍. The person must not hold an active 学籍 anywhere;
// the database enforces it, so concurrent registrations cannot both win.
func (s *Service) Register(ctx context.Context, p auth.Principal, r Registration) (*Student, error) {
	if !p.CanWrite() {
		return nil, apperr.E(apperr.Forbidden, "", "student.register.forbidden")
	}
	if p.Role == auth.RoleSchool && r.SchoolCode == "" {
		r.SchoolCode = p.ScopeCode
	}
	r.SchoolCode = strings.ToUpper(strings.TrimSpace(r.SchoolCode))
	if r.SchoolCode == "" {
		return nil, apperr.E(apperr.Invalid, "school_code", "field.required", "学校代码")
	}
	sc, err := s.Store.FindSchool(ctx, p.Scope(), r.SchoolCode)
	if apperr.CodeOf(err) == apperr.NotFound {
		return nil, apperr.E(apperr.NotFound, "school_code", "school.not_found", r.SchoolCode)
	}
	if err != nil {
		return nil, err
	}
	st, err := s.Prepare(ctx, sc, r)
	if err != nil {
		return nil, err
	}
	err = s.Store.CreateStudent(ctx, st, audit.Entry{Actor: p.Name, Action: "student.register", Entity: "student", EntityID: st.SchoolCode,
		Data: map[string]string{"school_code": st.SchoolCode, "name": st.Name, "id_type": st.IDType, "id_number": st.IDMasked,
			"class_level": st.ClassLevel, "study_mode": st.StudyMode, "major": st.Major, "enrollment_date": st.EnrollmentDate}})
	if err != nil {
		return nil, err
	}
	st.IDNumber = st.IDMasked
	return st, nil
}

// Prepare checks a registration for school sc with the registry's rules
// and builds the record, protected identity included, without storing it:
// Register stores one, an import many. The one-active rule is the
// store's, at insert.
func (s *Service) Prepare(ctx context.Context, sc *school.School, r Registration) (*Student, error) {
	if sc.Status != school.StatusOperating {
		return nil, apperr.E(apperr.Invalid, "school_code", "student.school.not_enrolling", sc.Name, sc.Status)
	}
	if err := r.Validate(s.today(), s.majorKnown(ctx)); err != nil {
		return nil, err
	}
	now := s.Now()
	return &Student{
		SchoolCode: sc.Code, SchoolName: sc.Name, CityCode: sc.CityCode,
		Name: r.Name, IDType: r.IDType, IDMasked: pii.MaskNumber(r.IDNumber), IDBlind: s.blind(r.IDType, r.IDNumber),
		IDSealed: s.Protect.Seal([]byte(r.IDNumber), []byte(r.IDType)),
		Sex:      r.Sex, BirthDate: r.BirthDate, Ethnicity: r.Ethnicity, Major: r.Major, ClassLevel: r.ClassLevel,
		StudyMode: r.StudyMode, EntryPoint: r.EntryPoint, EnrollmentDate: r.EnrollmentDate,
		ExpectedGraduation: ExpectedGraduation(r.EnrollmentDate, r.ClassLevel, r.EntryPoint),
		Status:             StatusEnrolled, LastActivity: now, CreatedAt: now, UpdatedAt: now, Version: 1,
	}, nil
}

func (s *Service) majorKnown(ctx context.Context) func(string) bool {
	return func(name string) bool {
		ok, err := s.Store.MajorExists(ctx, name)
		return err == nil && ok
	}
}

// CanReveal reports whether p may see a student's full document number:
// the student's own school and the province. Cities and auditors see it
// masked; they review, they do not need the number.
func CanReveal(p auth.Principal, st *Student) bool {
	return p.Role == auth.RoleProvince || (p.Role == auth.RoleSchool && p.ScopeCode == st.SchoolCode)
}

// Get returns a student p may see, with the document number masked.
func (s *Service) Get(ctx context.Context, p auth.Principal, id int64) (*Student, error) {
	st, err := s.Store.FindStudent(ctx, p.Scope(), id)
	if err != nil {
		return nil, err
	}
	st.IDNumber = st.IDMasked
	return st, nil
}

// Reveal returns the student with the full document number, if p may see
// it, and records the reveal in the audit log.
func (s *Service) Reveal(ctx context.Context, p auth.Principal, id int64) (*Student, error) {
	st, err := s.Get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !CanReveal(p, st) {
		return nil, apperr.E(apperr.Forbidden, "", "student.reveal.forbidden")
	}
	plain, err := s.Protect.Open(st.IDSealed, []byte(st.IDType))
	if err != nil {
		return nil, apperr.Internalf("student %d: %w", st.ID, err)
	}
	if err := s.Store.RecordAudit(ctx, audit.Entry{Actor: p.Name, Action: "student.reveal", Entity: "student",
		EntityID: st.StudentNo, Data: map[string]string{"field": "id_number"}}); err != nil {
		return nil, err
	}
	st.IDNumber = string(plain)
	return st, nil
}

// List returns a page of the students p may see.
func (s *Service) List(ctx context.Context, p auth.Principal, f Filter) ([]*Student, int, error) {
	f.Scope = p.Scope()
	if f.Limit <= 0 || f.Limit > MaxPageSize {
		f.Limit = 50
	}
	if utf8.RuneCountInString(f.Query) > MaxNameLength {
		return nil, 0, apperr.E(apperr.Invalid, "q", "field.too_long", MaxNameLength)
	}
	items, total, err := s.Store.FindStudents(ctx, f)
	for _, st := range items {
		st.IDNumber = st.IDMasked
	}
	return items, total, err
}

// Public status query limits: per address.
const (
	QueryLimit  = 10
	QueryWindow = 10 * time.Minute
)

// QueryStatus is the holder's lawful query: name and document number give
// school, major, class level, mode and status. Rate-limited per address;
// a wrong name and a wrong number look the same.
func (s *Service) QueryStatus(ctx context.Context, name, idType, number, address string) ([]HolderRecord, error) {
	ok, err := s.Store.AllowRate(ctx, "status_query:"+address, QueryLimit, QueryWindow, s.Now())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.E(apperr.RateLimited, "", "query.throttled", int(QueryWindow.Minutes()))
	}
	name = CleanName(name)
	if idType == "" {
		idType = ResidentID
	}
	if name == "" || number == "" || utf8.RuneCountInString(name) > MaxNameLength || len(number) > MaxNumberLength || !contains(IDTypes, idType) {
		return nil, apperr.E(apperr.Invalid, "", "query.input")
	}
	if idType == ResidentID {
		number = idcard.Normalize(number)
	} else {
		number = strings.ToUpper(strings.TrimSpace(number))
	}
	recs, err := s.Store.FindHolderRecords(ctx, s.blind(idType, number), name)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, apperr.E(apperr.NotFound, "", "query.not_found")
	}
	return recs, nil
}
