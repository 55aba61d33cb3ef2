package cert

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
)

// StoredKey is a key as stored: the published half and the sealed private
// key.
type StoredKey struct {
	Key
	PrivateSealed []byte
}

// Filter selects certificates for a list.
type Filter struct {
	Scope      auth.Scope
	No         string
	HolderName string
	StudentID  int64
	SchoolCode string
	Status     string
	After      int64 // id cursor: certificates with a smaller id
	Limit      int
}

// Store is what the certificate service needs from storage.
type Store interface {
	CertKeys(ctx context.Context) ([]StoredKey, error)
	// AddCertKey stores a new active key and retires the active one, in
	// one transaction.
	AddCertKey(ctx context.Context, k StoredKey, e audit.Entry) error
	// CreateCertificate refuses a second valid certificate for a 学籍 with
	// conflict and a taken number with duplicate.
	CreateCertificate(ctx context.Context, c *Certificate, e audit.Entry) error
	// ReissueCertificate voids old (at version prev) and creates c, in one
	// transaction.
	ReissueCertificate(ctx context.Context, old *Certificate, prev int64, c *Certificate, e audit.Entry) error
	UpdateCertificate(ctx context.Context, c *Certificate, prev int64, e audit.Entry) error
	FindCertificate(ctx context.Context, scope auth.Scope, no string) (*Certificate, error)
	ListCertificates(ctx context.Context, f Filter) ([]*Certificate, int, error)
	// LookupCertificate is the public verification read: by number, no
	// scope, nil when there is none; it fills what PublicView shows, the
	// holder's name and the state.
	LookupCertificate(ctx context.Context, no string) (*Certificate, error)
	// UncertifiedGraduates lists students whose graduation was applied and
	// who hold no certificate yet.
	UncertifiedGraduates(ctx context.Context, limit int) ([]int64, error)
	FindStudent(ctx context.Context, scope auth.Scope, id int64) (*student.Student, error)
	FindSchool(ctx context.Context, scope auth.Scope, code string) (*school.School, error)
}

// Service issues, revokes, reissues and verifies certificates.
type Service struct {
	Store   Store
	Protect pii.Protector
	Now     func() time.Time

	mu       sync.Mutex
	keys     KeySet
	signer   *SigningKey
	loadedAt time.Time
}

// NewService returns a certificate service.
func NewService(store Store, protect pii.Protector) *Service {
	return &Service{Store: store, Protect: protect, Now: time.Now}
}

// keyReload bounds how long a node keeps signing with a key another node
// has retired, and how long it takes to learn a new key's public half.
const keyReload = time.Minute

// Limits of free text.
const (
	MaxReasonLength = 200
	maxIssueTries   = 3
)

var shanghai = time.FixedZone("CST", 8*3600)

func (s *Service) today() string { return s.Now().In(shanghai).Format(time.DateOnly) }

func keyAAD(kid string) []byte { return []byte("certificate signing key " + kid) }

// loadKeys refreshes the key cache when it is stale or force is set.
func (s *Service) loadKeys(ctx context.Context, force bool) (KeySet, *SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !force && s.keys != nil && s.Now().Sub(s.loadedAt) < keyReload {
		return s.keys, s.signer, nil
	}
	stored, err := s.Store.CertKeys(ctx)
	if err != nil {
		return nil, nil, err
	}
	pubs := make([]Key, len(stored))
	var signer *SigningKey
	for i, k := range stored {
		pubs[i] = k.Key
		if !k.Active() {
			continue
		}
		plain, err := s.Protect.Open(k.PrivateSealed, keyAAD(k.ID))
		if err != nil {
			return nil, nil, apperr.Internalf("cert: open key %s (is this the instance's master key?): %w", k.ID, err)
		}
		if signer, err = ParseSigningKey(k.Key, plain); err != nil {
			return nil, nil, apperr.Internalf("%w", err)
		}
	}
	ks, err := NewKeySet(pubs)
	if err != nil {
		return nil, nil, apperr.Internalf("%w", err)
	}
	s.keys, s.signer, s.loadedAt = ks, signer, s.Now()
	return ks, signer, nil
}

// ActiveKey returns the active key, creating the instance's first
// (Ed25519) key when there is none.
func (s *Service) ActiveKey(ctx context.Context) (*SigningKey, error) {
	_, k, err := s.loadKeys(ctx, false)
	if err != nil || k != nil {
		return k, err
	}
	if _, err := s.RotateKey(ctx, "system", AlgEd25519); err != nil && apperr.CodeOf(err) != apperr.Conflict {
		return nil, err
	}
	_, k, err = s.loadKeys(ctx, true)
	if err == nil && k == nil {
		err = apperr.Internalf("cert: no active signing key after creating one")
	}
	return k, err
}

// RotateKey makes a new signing key for alg the active one; the previous
// key is retired and keeps verifying what it signed.
func (s *Service) RotateKey(ctx context.Context, actor, alg string) (*Key, error) {
	if !slices.Contains(Algorithms, alg) {
		return nil, apperr.E(apperr.Invalid, "alg", "cert.alg.unknown", alg, strings.Join(Algorithms, "、"))
	}
	k, err := GenerateKey(alg, s.Now())
	if err != nil {
		return nil, apperr.Internalf("%w", err)
	}
	der, err := k.MarshalPrivate()
	if err != nil {
		return nil, apperr.Internalf("cert: marshal key: %w", err)
	}
	sk := StoredKey{Key: k.Key, PrivateSealed: s.Protect.Seal(der, keyAAD(k.ID))}
	if err := s.Store.AddCertKey(ctx, sk, audit.Entry{Actor: actor, Action: "cert.key.rotate", Entity: "cert_key", EntityID: k.ID,
		Data: map[string]any{"alg": alg}}); err != nil {
		return nil, err
	}
	if _, _, err := s.loadKeys(ctx, true); err != nil {
		return nil, err
	}
	return &k.Key, nil
}

// Keys returns the published keys: the active one, then the retired
// ones, most recently retired first.
func (s *Service) Keys(ctx context.Context) ([]Key, error) {
	if _, err := s.ActiveKey(ctx); err != nil {
		return nil, err
	}
	ks, _, err := s.loadKeys(ctx, false)
	if err != nil {
		return nil, err
	}
	out := make([]Key, 0, len(ks))
	for _, k := range ks {
		out = append(out, *k)
	}
	slices.SortFunc(out, func(a, b Key) int { // the active key, then the newest retired
		if a.Active() != b.Active() {
			if a.Active() {
				return -1
			}
			return 1
		}
		return b.RetiredAt.Compare(a.RetiredAt)
	})
	return out, nil
}

// Build makes the unsigned, unnumbered certificate a graduate's record
// earns, issued on issueDate (YYYY-MM-DD) by actor.
func Build(st *student.Student, issueDate, actor string, now time.Time) (*Certificate, error) {
	if st.Status != student.StatusGraduated || st.LeftDate == "" {
		return nil, apperr.E(apperr.Conflict, "", "cert.not_graduated", st.Status)
	}
	return &Certificate{
		Kind: KindGraduation, StudentID: st.ID, StudentNo: st.StudentNo, SchoolCode: st.SchoolCode, CityCode: st.CityCode,
		HolderName: st.Name, IDMasked: st.IDMasked, SchoolName: st.SchoolName, Major: st.Major, ClassLevel: st.ClassLevel,
		StudyMode: st.StudyMode, EntryDate: st.EnrollmentDate, GraduationDate: st.LeftDate, IssueDate: issueDate,
		ProvinceCode: st.CityCode[:2], Status: StatusValid, IssuedBy: actor, CreatedAt: now, Version: 1,
	}, nil
}

func (s *Service) build(st *student.Student, actor string) (*Certificate, error) {
	return Build(st, s.today(), actor, s.Now())
}

// sign numbers and signs c, and stores it with store, drawing a new number
// if the one drawn is taken.
func (s *Service) sign(ctx context.Context, c *Certificate, store func(*Certificate) error) error {
	k, err := s.ActiveKey(ctx)
	if err != nil {
		return err
	}
	for try := 1; ; try++ {
		c.No = NewNumber(s.Now().In(shanghai).Year(), c.ProvinceCode)
		if err := k.Sign(c); err != nil {
			return apperr.Internalf("%w", err)
		}
		err := store(c)
		if apperr.CodeOf(err) != apperr.Duplicate || try == maxIssueTries {
			return err
		}
	}
}

// IssueFor issues the certificate of a student whose graduation has been
// applied. The student hook and the catch-up job both call it; the second
// call for a student gets conflict.
func (s *Service) IssueFor(ctx context.Context, st *student.Student, actor string) (*Certificate, error) {
	c, err := s.build(st, actor)
	if err != nil {
		return nil, err
	}
	err = s.sign(ctx, c, func(c *Certificate) error {
		return s.Store.CreateCertificate(ctx, c, audit.Entry{Actor: actor, Action: "cert.issue", Entity: "certificate", EntityID: c.No,
			Data: map[string]any{"student": st.StudentNo, "key": c.KeyID}})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// IssueMissing issues the certificates that applied graduations have not
// got yet (the issuing step failed, or the process stopped in between).
// The scheduler calls it; it returns how many it issued.
func (s *Service) IssueMissing(ctx context.Context) (int, error) {
	ids, err := s.Store.UncertifiedGraduates(ctx, 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		st, err := s.Store.FindStudent(ctx, auth.Scope{Kind: auth.ScopeAll}, id)
		if err != nil {
			return n, err
		}
		if _, err := s.IssueFor(ctx, st, "system"); err == nil {
			n++
		} else if apperr.CodeOf(err) == apperr.Internal {
			return n, err
		}
	}
	return n, nil
}

// Get returns a certificate the principal may see.
func (s *Service) Get(ctx context.Context, p auth.Principal, no string) (*Certificate, error) {
	no, _ = NormalizeNumber(no)
	return s.Store.FindCertificate(ctx, p.Scope(), no)
}

// List returns a page of the certificates the principal may see.
func (s *Service) List(ctx context.Context, p auth.Principal, f Filter) ([]*Certificate, int, error) {
	f.Scope = p.Scope()
	if f.Status != "" && !slices.Contains([]string{StatusValid, StatusRevoked, StatusVoided}, f.Status) {
		return nil, 0, apperr.E(apperr.Invalid, "status", "cert.status.unknown", f.Status)
	}
	if f.No != "" {
		f.No, _ = NormalizeNumber(f.No)
	}
	f.HolderName = strings.TrimSpace(f.HolderName)
	return s.Store.ListCertificates(ctx, f)
}

// MayManage reports whether p may revoke or reissue c: the province, or
// the issuing school.
func MayManage(p auth.Principal, c *Certificate) bool {
	return p.Role == auth.RoleProvince || (p.Role == auth.RoleSchool && p.ScopeCode == c.SchoolCode)
}

func checkReason(reason string) (string, error) {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "":
		return "", apperr.E(apperr.Invalid, "reason", "field.required", "原因")
	case len([]rune(reason)) > MaxReasonLength:
		return "", apperr.E(apperr.Invalid, "reason", "field.too_long", MaxReasonLength)
	case strings.ContainsAny(reason, "<>\r\n\x00"):
		return "", apperr.E(apperr.Invalid, "reason", "field.bad_characters", "原因")
	}
	return reason, nil
}

// managed loads a certificate p may manage and checks that it is valid.
func (s *Service) managed(ctx context.Context, p auth.Principal, no, action string) (*Certificate, error) {
	c, err := s.Get(ctx, p, no)
	if err != nil {
		return nil, err
	}
	if !MayManage(p, c) {
		return nil, apperr.E(apperr.Forbidden, "", "cert.manage.forbidden", action)
	}
	if c.Status != StatusValid {
		return nil, apperr.E(apperr.InvalidTransition, "", "cert.not_valid", action, StatusName(c.Status))
	}
	return c, nil
}

// Revoke withdraws a certificate with a reason; verification then answers
// revoked with the reason and date.
func (s *Service) Revoke(ctx context.Context, p auth.Principal, no, reason string) (*Certificate, error) {
	reason, err := checkReason(reason)
	if err != nil {
		return nil, err
	}
	c, err := s.managed(ctx, p, no, "撤销")
	if err != nil {
		return nil, err
	}
	prev := c.Version
	c.Status, c.Reason, c.RevokedAt, c.RevokedBy, c.Version = StatusRevoked, reason, s.Now(), p.Name, c.Version+1
	err = s.Store.UpdateCertificate(ctx, c, prev, audit.Entry{Actor: p.Name, Action: "cert.revoke", Entity: "certificate", EntityID: c.No,
		Data: map[string]any{"reason": reason}})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Reissue (补发) replaces a lost or damaged certificate: a new number,
// signed with the current key from the record as it stands (corrections
// included), and the old number voided, in one transaction.
func (s *Service) Reissue(ctx context.Context, p auth.Principal, no, reason string) (*Certificate, error) {
	reason, err := checkReason(reason)
	if err != nil {
		return nil, err
	}
	old, err := s.managed(ctx, p, no, "补发")
	if err != nil {
		return nil, err
	}
	st, err := s.Store.FindStudent(ctx, auth.Scope{Kind: auth.ScopeAll}, old.StudentID)
	if err != nil {
		return nil, err
	}
	c, err := s.build(st, p.Name)
	if err != nil {
		return nil, err
	}
	c.Replaces = old.No
	prev := old.Version
	err = s.sign(ctx, c, func(c *Certificate) error {
		old.Status, old.Reason, old.RevokedAt, old.RevokedBy, old.ReplacedBy, old.Version =
			StatusVoided, "补发："+reason, s.Now(), p.Name, c.No, prev+1
		return s.Store.ReissueCertificate(ctx, old, prev, c, audit.Entry{Actor: p.Name, Action: "cert.reissue", Entity: "certificate", EntityID: c.No,
			Data: map[string]any{"replaces": old.No, "reason": reason, "key": c.KeyID}})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Verification answers.
const (
	AnswerValid    = "valid"
	AnswerRevoked  = "revoked"
	AnswerNotFound = "not_found"
)

// Answer is what public verification says about a certificate: only
// masked personal data.
type Answer struct {
	Status      string  `json:"status"`
	StatusName  string  `json:"status_name"`
	Reason      string  `json:"reason,omitempty"`
	RevokedOn   string  `json:"revoked_on,omitempty"`
	Certificate *Public `json:"certificate,omitempty"`
	// Signature is set for a payload check: the key that signed it.
	Signature *SignatureCheck `json:"signature,omitempty"`
}

// SignatureCheck reports a genuine signature and the key behind it.
type SignatureCheck struct {
	Valid      bool   `json:"valid"`
	Alg        string `json:"alg"`
	KeyID      string `json:"key_id"`
	KeyRetired bool   `json:"key_retired"`
}

// Public is a certificate as the public may see it.
type Public struct {
	No             string `json:"no"`
	HolderName     string `json:"holder_name"` // masked
	IDMasked       string `json:"id_number_masked"`
	SchoolName     string `json:"school_name"`
	Major          string `json:"major"`
	ClassLevel     string `json:"class_level"`
	Equivalence    string `json:"equivalence"`
	StudyMode      string `json:"study_mode"`
	EntryDate      string `json:"entry_date"`
	GraduationDate string `json:"graduation_date"`
	IssueDate      string `json:"issue_date"`
	Authority      string `json:"authority"`
}

// PublicView is c with the holder's name masked.
func PublicView(c *Certificate) *Public {
	return &Public{No: c.No, HolderName: pii.MaskName(c.HolderName), IDMasked: c.IDMasked, SchoolName: c.SchoolName, Major: c.Major,
		ClassLevel: c.ClassLevel, Equivalence: c.Equivalence(), StudyMode: c.StudyMode, EntryDate: c.EntryDate,
		GraduationDate: c.GraduationDate, IssueDate: c.IssueDate, Authority: c.Authority()}
}

var notFound = &Answer{Status: AnswerNotFound, StatusName: "未查到"}

func answerFor(c *Certificate) *Answer {
	a := &Answer{Status: AnswerValid, StatusName: StatusName(StatusValid), Certificate: PublicView(c)}
	if c.Status != StatusValid {
		a.Status, a.StatusName, a.Reason = AnswerRevoked, StatusName(c.Status), c.Reason
		a.RevokedOn = c.RevokedAt.In(shanghai).Format(time.DateOnly)
	}
	return a
}

// sameName compares names as people type them: surrounding and inner
// spaces do not count. The comparison takes the same time whatever
// differs.
func sameName(typed, held string) bool {
	typed = strings.Join(strings.Fields(typed), "")
	held = strings.Join(strings.Fields(held), "")
	return subtle.ConstantTimeCompare([]byte(typed), []byte(held)) == 1
}

// VerifyOnline answers a check by number and holder name. A number whose
// name does not match answers not found, like a number that does not
// exist: the number alone reveals nothing.
func (s *Service) VerifyOnline(ctx context.Context, no, name string) (*Answer, error) {
	no, ok := NormalizeNumber(no)
	if strings.TrimSpace(name) == "" {
		return nil, apperr.E(apperr.Invalid, "name", "field.required", "持证人姓名")
	}
	if len(name) > 4*student.MaxNameLength {
		return nil, apperr.E(apperr.Invalid, "name", "field.too_long", student.MaxNameLength)
	}
	if !ok {
		return nil, apperr.E(apperr.Invalid, "no", "cert.no.malformed")
	}
	c, err := s.Store.LookupCertificate(ctx, no)
	if err != nil {
		return nil, err
	}
	if c == nil || !sameName(name, c.HolderName) {
		return notFound, nil
	}
	return answerFor(c), nil
}

// VerifyPayload checks a scanned QR payload: the signature against the
// published keys (a forged or altered payload is refused), then the
// certificate's current state online.
func (s *Service) VerifyPayload(ctx context.Context, payload string) (*Answer, error) {
	ks, _, err := s.loadKeys(ctx, false)
	if err != nil {
		return nil, err
	}
	signed, k, err := ks.Verify(payload)
	if apperr.CodeOf(err) == apperr.InvalidSignature {
		// A key made on another node since the last reload.
		if ks, _, err = s.loadKeys(ctx, true); err == nil {
			signed, k, err = ks.Verify(payload)
		}
	}
	if err != nil {
		return nil, err
	}
	check := &SignatureCheck{Valid: true, Alg: k.Alg, KeyID: k.ID, KeyRetired: !k.Active()}
	c, err := s.Store.LookupCertificate(ctx, signed.No)
	if err != nil {
		return nil, err
	}
	if c == nil || c.HolderName != signed.HolderName {
		return &Answer{Status: AnswerNotFound, StatusName: "未查到", Signature: check, Certificate: PublicView(signed)}, nil
	}
	a := answerFor(c)
	a.Signature = check
	return a, nil
}

// OfflineReport describes an offline check for people: what the signature
// proves and what it cannot.
func OfflineReport(c *Certificate, k *Key) string {
	var b strings.Builder
	fmt.Fprintf(&b, "签名有效：该证书内容由密钥 %s（%s）签发，未被篡改。\n", k.ID, k.Alg)
	if !k.Active() {
		fmt.Fprintf(&b, "该密钥已于 %s 停用，停用前签发的证书仍然有效。\n", k.RetiredAt.In(shanghai).Format(time.DateOnly))
	}
	fmt.Fprintf(&b, "证书编号：%s\n持证人：%s\n身份证件号：%s\n学校：%s\n专业：%s\n培养层次：%s（按相当于%s学历落实有关政策）\n学习形式：%s\n入学日期：%s\n毕业日期：%s\n发证日期：%s\n验印机关：%s\n",
		c.No, c.HolderName, c.IDMasked, c.SchoolName, c.Major, c.ClassLevel, c.Equivalence(), c.StudyMode,
		c.EntryDate, c.GraduationDate, c.IssueDate, c.Authority())
	b.WriteString("离线验证只能证明签名真实，不能得知证书此后是否被撤销；请到发证机关的 /verify 页面在线查询证书状态。\n")
	return b.String()
}
