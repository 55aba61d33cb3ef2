// Package cert issues graduation certificates (毕业证书) and checks them:
// numbering that cannot be guessed from another number, a compact signed
// payload for the QR code (Ed25519 by default, SM2 with SM3 where 商用密码
// rules apply), signing keys that rotate without invalidating what was
// signed before, revocation and reissue (补发), and the answers public
// verification gives.
package cert

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/refdata"
)

// KindGraduation is a graduation certificate; skill-level certificates
// will be another kind.
const KindGraduation = "graduation"

// Certificate states. A voided certificate was replaced by a reissue.
const (
	StatusValid   = "valid"
	StatusRevoked = "revoked"
	StatusVoided  = "voided"
)

// Certificate is one graduation certificate as issued. The holder's data
// are a copy taken at issue: the certificate says what it said on the day
// it was signed, whatever later happens to the record.
type Certificate struct {
	ID             int64     `json:"-"`
	No             string    `json:"no"`
	Kind           string    `json:"kind"`
	StudentID      int64     `json:"student_id"`
	StudentNo      string    `json:"student_no"`
	SchoolCode     string    `json:"school_code"`
	CityCode       string    `json:"city_code"`
	HolderName     string    `json:"holder_name"`
	IDMasked       string    `json:"id_number_masked"`
	SchoolName     string    `json:"school_name"`
	Major          string    `json:"major"`
	ClassLevel     string    `json:"class_level"`
	StudyMode      string    `json:"study_mode"`
	EntryDate      string    `json:"entry_date"`      // YYYY-MM-DD
	GraduationDate string    `json:"graduation_date"` // YYYY-MM-DD
	IssueDate      string    `json:"issue_date"`      // YYYY-MM-DD
	ProvinceCode   string    `json:"province_code"`   // two digits: the 验印 authority
	Alg            string    `json:"alg"`
	KeyID          string    `json:"key_id"`
	Signature      []byte    `json:"-"`
	Status         string    `json:"status"`
	Reason         string    `json:"reason,omitempty"` // why revoked or voided
	RevokedAt      time.Time `json:"revoked_at,omitzero"`
	RevokedBy      string    `json:"revoked_by,omitempty"`
	Replaces       string    `json:"replaces,omitempty"`    // the number this one reissues
	ReplacedBy     string    `json:"replaced_by,omitempty"` // the number that voided this one
	IssuedBy       string    `json:"issued_by"`
	CreatedAt      time.Time `json:"created_at"`
	Version        int64     `json:"version"`
}

// Equivalence is the academic level the class level counts as
// (中专/大专/本科), stated on the certificate.
func (c *Certificate) Equivalence() string { return refdata.ClassLevelEquivalence(c.ClassLevel) }

// Authority names the department that seals certificates in the holder's
// province, e.g. 山东省人力资源和社会保障厅.
func (c *Certificate) Authority() string { return Authority(c.ProvinceCode) }

// Authority names the provincial human resources and social security
// department for a two-digit province code.
func Authority(province string) string {
	d, ok := refdata.ProvinceOf(province + "0000")
	if !ok {
		return ""
	}
	return d.Name + "人力资源和社会保障厅"
}

// StatusName is the Chinese name of a certificate state.
func StatusName(status string) string {
	switch status {
	case StatusValid:
		return "有效"
	case StatusRevoked:
		return "已撤销"
	case StatusVoided:
		return "已作废（已补发）"
	}
	return status
}

// Certificate numbers are 18 digits: the issue year, the province code, 11
// random digits and an ISO 7064 MOD 11,10 check digit that catches a
// mistyped digit before any lookup. Random digits make a number useless for
// guessing its neighbours; with the holder's name required for an answer,
// enumeration gets nowhere.
const noLength = 18

// NewNumber draws a certificate number for a year and province.
func NewNumber(year int, province string) string {
	var r [8]byte
	rand.Read(r[:])
	return FormatNumber(year, province, binary.BigEndian.Uint64(r[:]))
}

// FormatNumber makes the number with random part r (reduced to 11 digits)
// and its check digit; the demo draws r from its seeded generator.
func FormatNumber(year int, province string, r uint64) string {
	s := fmt.Sprintf("%04d%s%011d", year%10000, province, r%100_000_000_000)
	return s + string(rune('0'+checkDigit(s)))
}

// checkDigit computes the ISO 7064 MOD 11,10 check digit of digits.
func checkDigit(digits string) int {
	p := 10
	for i := 0; i < len(digits); i++ {
		s := (p + int(digits[i]-'0')) % 10
		if s == 0 {
			s = 10
		}
		p = (2 * s) % 11
	}
	return (11 - p) % 10
}

// NormalizeNumber strips the spaces and dashes people type or copy with a
// number and reports whether what remains is a well-formed number with a
// correct check digit.
func NormalizeNumber(s string) (string, bool) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '\u3000', '\t':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
	if len(s) != noLength {
		return s, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return s, false
		}
	}
	return s, int(s[noLength-1]-'0') == checkDigit(s[:noLength-1])
}
