package student

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/school"
)

// ChangeInput is what a school submits to propose a status change.
type ChangeInput struct {
	Type          string            `json:"type"`
	Reason        string            `json:"reason"`
	EffectiveDate string            `json:"effective_date"`
	Changes       map[string]string `json:"changes"`
}

// MaxReasonLength bounds a reason or review note.
const MaxReasonLength = 500

func citySlot(code string) string { return "city:" + code }

// ProposeChange files a status-change request for a student p may see.
// Nothing about the student changes until the request is approved and
// its effective date arrives.
func (s *Service) ProposeChange(ctx context.Context, p auth.Principal, studentID int64, in ChangeInput) (*ChangeRequest, error) {
	if !p.CanWrite() {
		return nil, apperr.E(apperr.Forbidden, "", "change.propose.forbidden")
	}
	st, err := s.Store.FindStudent(ctx, p.Scope(), studentID)
	if err != nil {
		return nil, err
	}
	t, ok := LookupChangeType(strings.TrimSpace(in.Type))
	if !ok {
		return nil, apperr.E(apperr.Invalid, "type", "field.one_of", "异动类型", strings.Join(ChangeTypeNames(), "、"))
	}
	if !slices.Contains(t.From, st.Status) {
		return nil, apperr.E(apperr.Invalid, "type", "change.from_status", t.Name, st.Status)
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" {
		return nil, apperr.E(apperr.Invalid, "reason", "field.required", "异动原因")
	}
	if utf8.RuneCountInString(in.Reason) > MaxReasonLength || strings.ContainsRune(in.Reason, 0) {
		return nil, apperr.E(apperr.Invalid, "reason", "field.too_long", MaxReasonLength)
	}
	eff, err := parseDate("effective_date", "生效日期", in.EffectiveDate)
	if err != nil {
		return nil, err
	}
	enrolled, _ := time.Parse(dateLayout, st.EnrollmentDate)
	if eff.Before(enrolled) || eff.After(s.today().AddDate(1, 0, 0)) || eff.Before(s.today().AddDate(-1, 0, 0)) {
		return nil, apperr.E(apperr.Invalid, "effective_date", "change.effective.range")
	}
	r := &ChangeRequest{StudentID: st.ID, StudentNo: st.StudentNo, StudentName: st.Name, SchoolCode: st.SchoolCode, CityCode: st.CityCode,
		Type: t.Name, Reason: in.Reason, EffectiveDate: in.EffectiveDate, Changes: map[string]string{}, State: StatePending,
		ProposedBy: p.Name, ProposedAt: s.Now(), Version: 1}
	if err := s.validateChanges(ctx, st, t, in.Changes, r); err != nil {
		return nil, err
	}
	switch t.Approver {
	case ByProvince:
		r.Needs = []string{string(ByProvince)}
	default:
		r.Needs = []string{citySlot(st.CityCode)}
		if r.TargetCityCode != "" && r.TargetCityCode != st.CityCode {
			r.Needs = append(r.Needs, citySlot(r.TargetCityCode))
		}
	}
	err = s.Store.CreateChange(ctx, r, audit.Entry{Actor: p.Name, Action: "change.propose", Entity: "student", EntityID: st.StudentNo,
		Data: map[string]any{"type": r.Type, "reason": r.Reason, "effective_date": r.EffectiveDate, "changes": r.Changes}})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// validateChanges checks the fields a request sets against its type and
// fills r.Changes (document numbers masked; the sealed number kept apart).
func (s *Service) validateChanges(ctx context.Context, st *Student, t ChangeType, changes map[string]string, r *ChangeRequest) error {
	for k := range changes {
		if !slices.Contains(t.Fields, k) {
			return apperr.E(apperr.Invalid, "changes."+k, "change.field.not_allowed", t.Name, k)
		}
	}
	for _, k := range t.Required {
		if strings.TrimSpace(changes[k]) == "" {
			return apperr.E(apperr.Invalid, "changes."+k, "change.field.required", t.Name, k)
		}
	}
	if code := strings.ToUpper(strings.TrimSpace(changes[FieldSchool])); code != "" {
		target, err := s.Store.FindSchool(ctx, auth.Scope{Kind: auth.ScopeAll}, code)
		if apperr.CodeOf(err) == apperr.NotFound {
			return apperr.E(apperr.Invalid, "changes.school_code", "school.not_found", code)
		}
		if err != nil {
			return err
		}
		if target.Code == st.SchoolCode {
			return apperr.E(apperr.Invalid, "changes.school_code", "change.transfer.same_school")
		}
		if target.Status != school.StatusOperating {
			return apperr.E(apperr.Invalid, "changes.school_code", "student.school.not_enrolling", target.Name, target.Status)
		}
		r.TargetSchoolCode, r.TargetCityCode = target.Code, target.CityCode
		r.Changes[FieldSchool] = target.Code
	}
	if major := strings.TrimSpace(changes[FieldMajor]); major != "" {
		if ok, err := s.Store.MajorExists(ctx, major); err != nil {
			return err
		} else if !ok {
			return apperr.E(apperr.Invalid, "changes.major", "student.major.unknown", major)
		}
		if major == st.Major && t.Name == "转专业" {
			return apperr.E(apperr.Invalid, "changes.major", "change.major.same")
		}
		r.Changes[FieldMajor] = major
	}
	if t.Name == "留级" {
		r.Changes[FieldGraduation] = shiftMonth(st.ExpectedGraduation, 1)
	}
	if t.Approver == ByProvince {
		return s.validateCorrection(st, changes, r)
	}
	return nil
}

// validateCorrection checks an identity correction as a whole: the
// corrected identity must pass the same rules as a registration.
func (s *Service) validateCorrection(st *Student, changes map[string]string, r *ChangeRequest) error {
	if len(changes) == 0 {
		return apperr.E(apperr.Invalid, "changes", "change.correction.empty")
	}
	reg := Registration{Name: st.Name, IDType: st.IDType, Sex: st.Sex, BirthDate: st.BirthDate, Ethnicity: st.Ethnicity}
	for k, v := range changes {
		v = strings.TrimSpace(v)
		switch k {
		case FieldName:
			reg.Name = v
		case FieldIDType:
			reg.IDType = v
		case FieldIDNumber:
			reg.IDNumber = v
		case FieldSex:
			reg.Sex = v
		case FieldBirthDate:
			reg.BirthDate = v
		case FieldEthnicity:
			reg.Ethnicity = v
		}
	}
	if reg.IDNumber == "" {
		// The stored number must still fit the corrected sex and birth date.
		plain, err := s.Protect.Open(st.IDSealed, []byte(st.IDType))
		if err != nil {
			return apperr.Internalf("student %d: %w", st.ID, err)
		}
		reg.IDNumber = string(plain)
	}
	if err := validateIdentity(&reg, s.today()); err != nil {
		return err
	}
	set := func(k, v string) {
		if _, ok := changes[k]; ok {
			r.Changes[k] = v
		}
	}
	set(FieldName, reg.Name)
	set(FieldIDType, reg.IDType)
	set(FieldSex, reg.Sex)
	set(FieldBirthDate, reg.BirthDate)
	set(FieldEthnicity, reg.Ethnicity)
	if _, ok := changes[FieldIDNumber]; ok || changes[FieldIDType] != "" {
		r.Changes[FieldIDNumber] = pii.MaskNumber(reg.IDNumber)
		r.NewIDSealed = s.Protect.Seal([]byte(reg.IDNumber), []byte(reg.IDType))
		r.NewIDBlind = s.blind(reg.IDType, reg.IDNumber)
	}
	return nil
}

func shiftMonth(yyyymm string, years int) string {
	t, err := time.Parse("2006-01", yyyymm)
	if err != nil {
		return yyyymm
	}
	return t.AddDate(years, 0, 0).Format("2006-01")
}

// GetChange returns a request p may see: a city sees requests of its
// schools and transfers into them; a school its own and incoming ones.
func (s *Service) GetChange(ctx context.Context, p auth.Principal, id int64) (*ChangeRequest, error) {
	return s.Store.FindChange(ctx, p.Scope(), id)
}

// ListChanges returns a page of the requests p may see.
func (s *Service) ListChanges(ctx context.Context, p auth.Principal, f ChangeFilter) ([]*ChangeRequest, int, error) {
	f.Scope = p.Scope()
	if f.Limit <= 0 || f.Limit > MaxPageSize {
		f.Limit = 50
	}
	if f.State != "" && !slices.Contains(States, f.State) {
		return nil, 0, apperr.E(apperr.Invalid, "state", "field.one_of", "状态", strings.Join(States, "、"))
	}
	return s.Store.FindChanges(ctx, f)
}

// slotFor is the approval slot p fills on r, or "" if p may not review it.
// A city fills its own slot; the province may fill any.
func slotFor(p auth.Principal, r *ChangeRequest) string {
	missing := r.Missing()
	switch p.Role {
	case auth.RoleProvince:
		if len(missing) > 0 {
			return missing[0]
		}
	case auth.RoleCity:
		if slices.Contains(missing, citySlot(p.ScopeCode)) {
			return citySlot(p.ScopeCode)
		}
	}
	return ""
}

// reviewable loads a pending request p may review.
func (s *Service) reviewable(ctx context.Context, p auth.Principal, id int64, action string) (*ChangeRequest, string, error) {
	r, err := s.Store.FindChange(ctx, p.Scope(), id)
	if err != nil {
		return nil, "", err
	}
	if r.State != StatePending {
		return nil, "", errTransition(r, action)
	}
	if r.ProposedBy == p.Name {
		return nil, "", apperr.E(apperr.Forbidden, "", "change.self_review")
	}
	slot := slotFor(p, r)
	if slot == "" {
		return nil, "", apperr.E(apperr.Forbidden, "", "change.review.forbidden")
	}
	return r, slot, nil
}

// Approve records p's approval. When every required approval is in, the
// request is approved and, if its effective date has come, applied.
func (s *Service) Approve(ctx context.Context, p auth.Principal, id int64, note string) (*ChangeRequest, error) {
	if utf8.RuneCountInString(note) > MaxReasonLength {
		return nil, apperr.E(apperr.Invalid, "note", "field.too_long", MaxReasonLength)
	}
	r, slot, err := s.reviewable(ctx, p, id, "批准")
	if err != nil {
		return nil, err
	}
	prev := r.Version
	r.Approvals = append(r.Approvals, Approval{Slot: slot, By: p.Name, At: s.Now(), Note: note})
	r.Version++
	if len(r.Missing()) == 0 {
		r.State, r.DecidedBy, r.DecidedAt, r.DecisionNote = StateApproved, p.Name, s.Now(), note
	}
	if err := s.Store.UpdateChange(ctx, r, prev, audit.Entry{Actor: p.Name, Action: "change.approve", Entity: "student", EntityID: r.StudentNo,
		Data: map[string]any{"request": r.ID, "type": r.Type, "slot": slot, "note": note}}); err != nil {
		return nil, err
	}
	if r.State == StateApproved && r.EffectiveDate <= s.today().Format(dateLayout) {
		return r, s.apply(ctx, r, p.Name)
	}
	return r, nil
}

// Reject refuses a pending request with a reason.
func (s *Service) Reject(ctx context.Context, p auth.Principal, id int64, note string) (*ChangeRequest, error) {
	note = strings.TrimSpace(note)
	if note == "" {
		return nil, apperr.E(apperr.Invalid, "note", "field.required", "驳回理由")
	}
	if utf8.RuneCountInString(note) > MaxReasonLength {
		return nil, apperr.E(apperr.Invalid, "note", "field.too_long", MaxReasonLength)
	}
	r, _, err := s.reviewable(ctx, p, id, "驳回")
	if err != nil {
		return nil, err
	}
	prev := r.Version
	r.State, r.DecidedBy, r.DecidedAt, r.DecisionNote, r.Version = StateRejected, p.Name, s.Now(), note, r.Version+1
	return r, s.Store.UpdateChange(ctx, r, prev, audit.Entry{Actor: p.Name, Action: "change.reject", Entity: "student", EntityID: r.StudentNo,
		Data: map[string]any{"request": r.ID, "type": r.Type, "note": note}})
}

// Withdraw takes back a request not yet applied. The proposer's school
// (or the proposer) may.
func (s *Service) Withdraw(ctx context.Context, p auth.Principal, id int64) (*ChangeRequest, error) {
	r, err := s.Store.FindChange(ctx, p.Scope(), id)
	if err != nil {
		return nil, err
	}
	if r.ProposedBy != p.Name && !(p.Role == auth.RoleSchool && p.ScopeCode == r.SchoolCode) {
		return nil, apperr.E(apperr.Forbidden, "", "change.withdraw.forbidden")
	}
	if r.State != StatePending && r.State != StateApproved {
		return nil, errTransition(r, "撤回")
	}
	prev := r.Version
	r.State, r.Version = StateWithdrawn, r.Version+1
	return r, s.Store.UpdateChange(ctx, r, prev, audit.Entry{Actor: p.Name, Action: "change.withdraw", Entity: "student", EntityID: r.StudentNo,
		Data: map[string]any{"request": r.ID, "type": r.Type}})
}

// ApplyDue applies approved requests whose effective date has come; the
// scheduler calls it. It returns how many were applied.
func (s *Service) ApplyDue(ctx context.Context) (int, error) {
	due, err := s.Store.DueChanges(ctx, s.today().Format(dateLayout), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range due {
		if err := s.apply(ctx, r, "system"); err == nil {
			n++
		} else if apperr.CodeOf(err) == apperr.Internal {
			return n, err
		}
	}
	return n, nil
}

// apply changes the student record as the approved request says, in one
// transaction with the request's new state. A change the rules refuse now
// (the student's status moved on, or a second active 学籍 would result)
// marks the request failed and returns why.
func (s *Service) apply(ctx context.Context, r *ChangeRequest, actor string) error {
	st, err := s.Store.FindStudent(ctx, auth.Scope{Kind: auth.ScopeAll}, r.StudentID)
	if err != nil {
		return err
	}
	t, _ := LookupChangeType(r.Type)
	var target *school.School
	if r.TargetSchoolCode != "" {
		if target, err = s.Store.FindSchool(ctx, auth.Scope{Kind: auth.ScopeAll}, r.TargetSchoolCode); err != nil {
			return err
		}
	}
	var refusal *apperr.Error
	if !slices.Contains(t.From, st.Status) {
		refusal = apperr.E(apperr.Conflict, "", "change.from_status", t.Name, st.Status)
	} else {
		prevStudent, prevReq := st.Version, r.Version
		applyTo(st, r, t, target, s.Now())
		r.State, r.AppliedAt, r.Version = StateApplied, s.Now(), r.Version+1
		err = s.Store.ApplyChange(ctx, r, prevReq, st, prevStudent, audit.Entry{Actor: actor, Action: "change.apply", Entity: "student", EntityID: st.StudentNo,
			Data: map[string]any{"request": r.ID, "type": r.Type, "status": st.Status, "changes": r.Changes}})
		if err == nil {
			if st.Status == StatusGraduated && s.OnGraduated != nil {
				s.OnGraduated(ctx, st)
			}
			return nil
		}
		r.State, r.AppliedAt, r.Version = StateApproved, time.Time{}, prevReq
		if e := apperr.As(err); e.Code == apperr.Internal {
			return err
		} else {
			refusal = e
		}
	}
	prev := r.Version
	r.State, r.Failure, r.Version = StateFailed, refusal.Message(), r.Version+1
	if err := s.Store.UpdateChange(ctx, r, prev, audit.Entry{Actor: actor, Action: "change.fail", Entity: "student", EntityID: r.StudentNo,
		Data: map[string]any{"request": r.ID, "type": r.Type, "failure": r.Failure}}); err != nil {
		return err
	}
	return refusal
}

// applyTo changes st as r says.
func applyTo(st *Student, r *ChangeRequest, t ChangeType, target *school.School, now time.Time) {
	if t.To != "" {
		st.Status = t.To
	}
	if t.Ends() {
		st.LeftDate = r.EffectiveDate
	}
	if target != nil {
		st.SchoolCode, st.SchoolName, st.CityCode = target.Code, target.Name, target.CityCode
	}
	for k, v := range r.Changes {
		switch k {
		case FieldMajor:
			st.Major = v
		case FieldName:
			st.Name = v
		case FieldIDType:
			st.IDType = v
		case FieldSex:
			st.Sex = v
		case FieldBirthDate:
			st.BirthDate = v
		case FieldEthnicity:
			st.Ethnicity = v
		case FieldGraduation:
			st.ExpectedGraduation = v
		case FieldIDNumber:
			st.IDMasked = v
		}
	}
	if r.NewIDSealed != nil {
		st.IDSealed, st.IDBlind = r.NewIDSealed, r.NewIDBlind
	}
	st.LastActivity, st.UpdatedAt, st.Version = now, now, st.Version+1
}
