// Package school is the registry of technical schools (技工院校): their type,
// ownership, location by GB/T 2260 code, flags and status, and the rules on
// who may create and change them.
package school

import (
	"context"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/refdata"
)

// Types of school, from the lowest training level to the highest.
var Types = []string{"技工学校", "高级技工学校", "技师学院"}

// Ownerships (举办者性质).
var Ownerships = []string{"公办", "民办", "企业(行业)办"}

// Statuses a school can be in.
var Statuses = []string{StatusOperating, StatusSuspended, StatusClosed}

const (
	StatusOperating = "办学"
	StatusSuspended = "停招"
	StatusClosed    = "撤销"
)

// Field limits.
const (
	MaxNameLength    = 60
	MaxAddressLength = 200
	MaxCapacity      = 100000
)

var codePattern = regexp.MustCompile(`^[0-9A-Z]{4,20}$`)

// School is one technical school.
type School struct {
	ID                int64     `json:"-"`
	Code              string    `json:"code"`
	Name              string    `json:"name"`
	Type              string    `json:"type"`
	Ownership         string    `json:"ownership"`
	DivisionCode      string    `json:"division_code"`
	DivisionName      string    `json:"division_name"`
	CityCode          string    `json:"city_code"`
	CityName          string    `json:"city_name"`
	ProvinceCode      string    `json:"province_code"`
	NationalKey       bool      `json:"national_key"`
	ProvincialQuality bool      `json:"provincial_quality"`
	Status            string    `json:"status"`
	Address           string    `json:"address"`
	Capacity          int       `json:"capacity"` // 核定办学规模 (students); 0 when not set
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	Version           int64     `json:"version"`
}

// Input is what a user submits to create or change a school. Nil fields of
// an update are left as they are.
type Input struct {
	Code              *string `json:"code"`
	Name              *string `json:"name"`
	Type              *string `json:"type"`
	Ownership         *string `json:"ownership"`
	DivisionCode      *string `json:"division_code"`
	NationalKey       *bool   `json:"national_key"`
	ProvincialQuality *bool   `json:"provincial_quality"`
	Status            *string `json:"status"`
	Address           *string `json:"address"`
	Capacity          *int    `json:"capacity"`
	Version           *int64  `json:"version"` // optimistic lock on update
}

// Filter selects schools. Scope is set by the service from the caller.
type Filter struct {
	Scope        auth.Scope
	Query        string // part of name or code
	CityCode     string
	DivisionCode string
	Type         string
	Status       string
	After        string // keyset cursor: codes greater than this
	Limit        int
}

// Counts summarises schools in a scope.
type Counts struct {
	Total  int
	ByType map[string]int
	ByCity map[string]int
}

// Store is what the service needs from storage. Every find applies
// Filter.Scope in SQL.
type Store interface {
	FindSchools(ctx context.Context, f Filter) ([]*School, int, error)
	FindSchool(ctx context.Context, scope auth.Scope, code string) (*School, error)
	CountSchools(ctx context.Context, scope auth.Scope) (Counts, error)
	CreateSchool(ctx context.Context, s *School, e audit.Entry) error
	UpdateSchool(ctx context.Context, s *School, prevVersion int64, e audit.Entry) error
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// apply copies the set fields of in onto s and validates the result.
func (in Input) apply(s *School) error {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&s.Code, in.Code)
	set(&s.Name, in.Name)
	set(&s.Type, in.Type)
	set(&s.Ownership, in.Ownership)
	set(&s.DivisionCode, in.DivisionCode)
	set(&s.Status, in.Status)
	set(&s.Address, in.Address)
	if in.NationalKey != nil {
		s.NationalKey = *in.NationalKey
	}
	if in.ProvincialQuality != nil {
		s.ProvincialQuality = *in.ProvincialQuality
	}
	if in.Capacity != nil {
		s.Capacity = *in.Capacity
	}
	if s.Status == "" {
		s.Status = StatusOperating
	}
	return Validate(s)
}

// Validate checks a school and fills the names and codes derived from its
// division.
func Validate(s *School) error {
	s.Code = strings.ToUpper(s.Code)
	switch {
	case s.Code == "":
		return apperr.E(apperr.Invalid, "code", "field.required", "学校代码")
	case !codePattern.MatchString(s.Code):
		return apperr.E(apperr.Invalid, "code", "school.code.format")
	case s.Name == "":
		return apperr.E(apperr.Invalid, "name", "field.required", "学校名称")
	case utf8.RuneCountInString(s.Name) > MaxNameLength:
		return apperr.E(apperr.Invalid, "name", "field.too_long", MaxNameLength)
	case strings.ContainsAny(s.Name, "<>\"'\\\x00\r\n\t"):
		return apperr.E(apperr.Invalid, "name", "field.bad_characters", "学校名称")
	case !contains(Types, s.Type):
		return apperr.E(apperr.Invalid, "type", "field.one_of", "学校类型", strings.Join(Types, "、"))
	case !contains(Ownerships, s.Ownership):
		return apperr.E(apperr.Invalid, "ownership", "field.one_of", "举办性质", strings.Join(Ownerships, "、"))
	case !contains(Statuses, s.Status):
		return apperr.E(apperr.Invalid, "status", "field.one_of", "办学状态", strings.Join(Statuses, "、"))
	case utf8.RuneCountInString(s.Address) > MaxAddressLength:
		return apperr.E(apperr.Invalid, "address", "field.too_long", MaxAddressLength)
	case strings.ContainsRune(s.Address, 0):
		return apperr.E(apperr.Invalid, "address", "field.bad_characters", "地址")
	case s.Capacity < 0 || s.Capacity > MaxCapacity:
		return apperr.E(apperr.Invalid, "capacity", "field.range", "核定办学规模", 0, MaxCapacity)
	}
	div, ok := refdata.CurrentDivision(s.DivisionCode)
	if !ok || div.Level == refdata.LevelProvince {
		return apperr.E(apperr.UnknownDivision, "division_code", "school.division.unknown", s.DivisionCode)
	}
	city, _ := refdata.CityOf(div.Code)
	prov, _ := refdata.ProvinceOf(div.Code)
	s.DivisionName, s.CityCode, s.CityName, s.ProvinceCode = div.Name, city.Code, city.Name, prov.Code
	return nil
}

// Service enforces who may do what with schools.
type Service struct {
	Store Store
	Now   func() time.Time
}

// NewService returns a service over store.
func NewService(store Store) *Service { return &Service{Store: store, Now: time.Now} }

// MaxPageSize bounds a page of a list.
const MaxPageSize = 500

// List returns a page of the schools p may see, and the total matching.
func (s *Service) List(ctx context.Context, p auth.Principal, f Filter) ([]*School, int, error) {
	f.Scope = p.Scope()
	if f.Limit <= 0 || f.Limit > MaxPageSize {
		f.Limit = 50
	}
	if utf8.RuneCountInString(f.Query) > 100 {
		return nil, 0, apperr.E(apperr.Invalid, "q", "field.too_long", 100)
	}
	return s.Store.FindSchools(ctx, f)
}

// Get returns one school p may see; outside scope it is not found.
func (s *Service) Get(ctx context.Context, p auth.Principal, code string) (*School, error) {
	return s.Store.FindSchool(ctx, p.Scope(), strings.ToUpper(strings.TrimSpace(code)))
}

// Counts summarises the schools p may see.
func (s *Service) Counts(ctx context.Context, p auth.Principal) (Counts, error) {
	return s.Store.CountSchools(ctx, p.Scope())
}

// Create registers a school. Only the province may.
func (s *Service) Create(ctx context.Context, p auth.Principal, in Input) (*School, error) {
	if p.Role != auth.RoleProvince {
		return nil, apperr.E(apperr.Forbidden, "", "school.create.forbidden")
	}
	sc := &School{}
	if err := in.apply(sc); err != nil {
		return nil, err
	}
	sc.CreatedAt = s.Now()
	sc.UpdatedAt = sc.CreatedAt
	sc.Version = 1
	if err := s.Store.CreateSchool(ctx, sc, audit.Entry{Actor: p.Name, Action: "school.create", Entity: "school", EntityID: sc.Code, Data: sc}); err != nil {
		return nil, err
	}
	return sc, nil
}

// Update changes a school. The province may change any; a city only its own
// schools, and may not move one to another city. A stale version is refused.
func (s *Service) Update(ctx context.Context, p auth.Principal, code string, in Input) (*School, error) {
	before, sc, err := s.planUpdate(ctx, p, code, in)
	if err != nil || *sc == before {
		return sc, err
	}
	sc.UpdatedAt = s.Now()
	sc.Version = before.Version + 1
	if err := s.Store.UpdateSchool(ctx, sc, before.Version, audit.Entry{Actor: p.Name, Action: "school.update", Entity: "school", EntityID: sc.Code,
		Data: map[string]any{"before": before, "after": sc}}); err != nil {
		return nil, err
	}
	return sc, nil
}

// planUpdate checks an update as Update does and returns the school
// before and after it, without writing.
func (s *Service) planUpdate(ctx context.Context, p auth.Principal, code string, in Input) (School, *School, error) {
	if p.Role != auth.RoleProvince && p.Role != auth.RoleCity {
		return School{}, nil, apperr.E(apperr.Forbidden, "", "school.update.forbidden")
	}
	sc, err := s.Get(ctx, p, code)
	if err != nil {
		return School{}, nil, err
	}
	before := *sc
	if in.Code != nil && strings.ToUpper(strings.TrimSpace(*in.Code)) != sc.Code {
		return before, nil, apperr.E(apperr.Invalid, "code", "school.code.immutable")
	}
	if in.Version != nil && *in.Version != sc.Version {
		return before, nil, apperr.E(apperr.Conflict, "version", "school.version.stale")
	}
	if err := in.apply(sc); err != nil {
		return before, nil, err
	}
	if p.Role == auth.RoleCity && sc.CityCode != p.ScopeCode {
		return before, nil, apperr.E(apperr.Forbidden, "division_code", "school.move.forbidden")
	}
	return before, sc, nil
}

// Changes reports whether Update would change the school (imports' dry
// runs and their unchanged rows); the same checks apply.
func (s *Service) Changes(ctx context.Context, p auth.Principal, code string, in Input) (bool, error) {
	before, after, err := s.planUpdate(ctx, p, code, in)
	return err == nil && *after != before, err
}

// CheckNew checks a school p would create, without writing.
func (s *Service) CheckNew(p auth.Principal, in Input) error {
	if p.Role != auth.RoleProvince {
		return apperr.E(apperr.Forbidden, "", "school.create.forbidden")
	}
	return in.apply(&School{})
}
