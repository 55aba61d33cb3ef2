// Package auth holds who a caller is (principal, role, scope), what each role
// may do, and the credentials that prove it: argon2id passwords, session and
// API tokens stored only as hashes.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/refdata"
)

// Role is one of the fixed roles of the system.
type Role string

const (
	RoleProvince Role = "province" // 省人社厅: sees and edits everything
	RoleCity     Role = "city"     // 市人社局: its city's schools
	RoleSchool   Role = "school"   // a school: itself
	RoleAuditor  Role = "auditor"  // reads everything and the audit log, writes nothing
)

// Roles lists the roles in display order.
var Roles = []Role{RoleProvince, RoleCity, RoleSchool, RoleAuditor}

// Label is the role's Chinese name.
func (r Role) Label() string {
	switch r {
	case RoleProvince:
		return "省级管理员"
	case RoleCity:
		return "市级管理员"
	case RoleSchool:
		return "学校管理员"
	case RoleAuditor:
		return "审计员"
	}
	return string(r)
}

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", apperr.E(apperr.Invalid, "role", "auth.role.unknown", s)
}

// ScopeKind says how far a principal sees.
type ScopeKind int

const (
	ScopeNone   ScopeKind = iota // sees nothing (anonymous)
	ScopeAll                     // the whole system
	ScopeCity                    // one prefecture-level city (Code = GB/T 2260)
	ScopeSchool                  // one school (Code = school code)
)

// Scope is the data a principal may see. Stores apply it in SQL.
type Scope struct {
	Kind ScopeKind
	Code string
}

// Principal is an authenticated caller.
type Principal struct {
	UserID      int64
	Name        string
	DisplayName string
	Role        Role
	ScopeCode   string // city division code or school code, per role
}

// Scope returns what p may see.
func (p Principal) Scope() Scope {
	switch p.Role {
	case RoleProvince, RoleAuditor:
		return Scope{Kind: ScopeAll}
	case RoleCity:
		return Scope{Kind: ScopeCity, Code: p.ScopeCode}
	case RoleSchool:
		return Scope{Kind: ScopeSchool, Code: p.ScopeCode}
	}
	return Scope{Kind: ScopeNone}
}

// CanWrite reports whether p's role may change records at all.
func (p Principal) CanWrite() bool {
	return p.Role == RoleProvince || p.Role == RoleCity || p.Role == RoleSchool
}

// CanReadAudit reports whether p may read the audit log.
func (p Principal) CanReadAudit() bool {
	return p.Role == RoleProvince || p.Role == RoleAuditor
}

// User is an account.
type User struct {
	ID           int64
	Name         string
	DisplayName  string
	Role         Role
	Scope        string
	PasswordHash string
	Disabled     bool
	CreatedAt    time.Time
}

// Principal returns the principal the user acts as.
func (u *User) Principal() Principal {
	return Principal{UserID: u.ID, Name: u.Name, DisplayName: u.DisplayName, Role: u.Role, ScopeCode: u.Scope}
}

// SchoolExists is asked when validating a school user's scope.
type SchoolExists func(code string) (bool, error)

// ValidateUser checks name, role and scope of a new user.
func ValidateUser(u *User, schoolExists SchoolExists) error {
	u.Name = strings.TrimSpace(u.Name)
	n := utf8.RuneCountInString(u.Name)
	if n < 2 || n > 64 || strings.ContainsAny(u.Name, " \t\r\n/\\'\"<>") {
		return apperr.E(apperr.Invalid, "name", "auth.user.name_invalid")
	}
	if u.DisplayName == "" {
		u.DisplayName = u.Name
	}
	if utf8.RuneCountInString(u.DisplayName) > 64 {
		return apperr.E(apperr.Invalid, "display_name", "field.too_long", 64)
	}
	switch u.Role {
	case RoleProvince, RoleAuditor:
		if u.Scope != "" {
			return apperr.E(apperr.Invalid, "scope", "auth.scope.not_allowed", u.Role.Label())
		}
	case RoleCity:
		if d, ok := refdata.CityOf(u.Scope); !ok || d.Code != u.Scope {
			return apperr.E(apperr.UnknownDivision, "scope", "auth.scope.city_unknown", u.Scope)
		}
	case RoleSchool:
		ok, err := schoolExists(u.Scope)
		if err != nil {
			return err
		}
		if !ok {
			return apperr.E(apperr.Invalid, "scope", "auth.scope.school_unknown", u.Scope)
		}
	default:
		return apperr.E(apperr.Invalid, "role", "auth.role.unknown", string(u.Role))
	}
	return nil
}

// NewToken returns a random secret token (shown once) and the hash stored.
func NewToken(prefix string) (token, hash string) {
	b := make([]byte, 32)
	rand.Read(b)
	token = prefix + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is how session and API tokens are found without storing them.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Token prefixes make leaked secrets recognisable to scanners.
const (
	APITokenPrefix = "gjt_"
	SessionPrefix  = "gjs_"
)
