package student

import (
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

// Approver says who reviews a change type.
type Approver string

const (
	ByCity     Approver = "city"     // the city bureau of the student's school
	ByProvince Approver = "province" // the provincial department
)

// Fields a change may set.
const (
	FieldSchool     = "school_code"
	FieldMajor      = "major"
	FieldName       = "name"
	FieldIDType     = "id_type"
	FieldIDNumber   = "id_number"
	FieldSex        = "sex"
	FieldBirthDate  = "birth_date"
	FieldEthnicity  = "ethnicity"
	FieldGraduation = "expected_graduation"
)

// ChangeType declares a kind of 学籍异动: which statuses it starts from,
// the status it leads to, the fields it may change and who approves it.
type ChangeType struct {
	Name     string
	From     []string // statuses the student must be in
	To       string   // resulting status; "" keeps the status
	Fields   []string // fields the request may set
	Required []string // fields the request must set
	Approver Approver
}

var active = []string{StatusEnrolled, StatusSuspended, StatusReserved}

// ChangeGraduation ends a 学籍 with graduation, which earns a certificate.
const ChangeGraduation = "毕业"

// ChangeTypes are the status changes of the registry (../shared/data/status_change_types.csv).
var ChangeTypes = []ChangeType{
	{Name: "转学", From: []string{StatusEnrolled}, Fields: []string{FieldSchool, FieldMajor}, Required: []string{FieldSchool}, Approver: ByCity},
	{Name: "转专业", From: []string{StatusEnrolled}, Fields: []string{FieldMajor}, Required: []string{FieldMajor}, Approver: ByCity},
	{Name: "休学", From: []string{StatusEnrolled}, To: StatusSuspended, Approver: ByCity},
	{Name: "复学", From: []string{StatusSuspended, StatusReserved}, To: StatusEnrolled, Approver: ByCity},
	{Name: "保留学籍", From: []string{StatusEnrolled}, To: StatusReserved, Approver: ByCity},
	{Name: "退学", From: active, To: StatusWithdrawn, Approver: ByCity},
	{Name: "留级", From: []string{StatusEnrolled}, Fields: []string{FieldGraduation}, Approver: ByCity},
	{Name: ChangeGraduation, From: []string{StatusEnrolled}, To: StatusGraduated, Approver: ByCity},
	{Name: "结业", From: []string{StatusEnrolled}, To: StatusCompleted, Approver: ByCity},
	{Name: "肄业", From: []string{StatusEnrolled, StatusSuspended}, To: StatusLeftEarly, Approver: ByCity},
	{Name: "开除", From: active, To: StatusExpelled, Approver: ByCity},
	{Name: "信息更正", From: active, Fields: []string{FieldName, FieldIDType, FieldIDNumber, FieldSex, FieldBirthDate, FieldEthnicity},
		Approver: ByProvince},
}

// LookupChangeType finds a change type by name.
func LookupChangeType(name string) (ChangeType, bool) {
	for _, t := range ChangeTypes {
		if t.Name == name {
			return t, true
		}
	}
	return ChangeType{}, false
}

// ChangeTypeNames lists the change type names.
func ChangeTypeNames() []string {
	out := make([]string, len(ChangeTypes))
	for i, t := range ChangeTypes {
		out[i] = t.Name
	}
	return out
}

// Ends reports whether the change ends the 学籍.
func (t ChangeType) Ends() bool { return t.To != "" && !IsActive(t.To) }

// Request states.
const (
	StatePending   = "pending"   // waiting for one or more approvals
	StateApproved  = "approved"  // approved, waiting for its effective date
	StateApplied   = "applied"   // the record was changed
	StateRejected  = "rejected"  // refused by a reviewer
	StateWithdrawn = "withdrawn" // taken back by the proposer
	StateFailed    = "failed"    // approved, but applying it was refused (e.g. a second active 学籍)
)

// States lists request states in workflow order.
var States = []string{StatePending, StateApproved, StateApplied, StateRejected, StateWithdrawn, StateFailed}

// StateLabel is a state's Chinese name.
func StateLabel(s string) string {
	return map[string]string{StatePending: "待审核", StateApproved: "已批准待生效", StateApplied: "已生效",
		StateRejected: "已驳回", StateWithdrawn: "已撤回", StateFailed: "生效失败"}[s]
}

// Approval is one reviewer's consent.
type Approval struct {
	Slot string    `json:"slot"` // "city:370100" or "province"
	By   string    `json:"by"`
	At   time.Time `json:"at"`
	Note string    `json:"note,omitempty"`
}

// ChangeRequest is a proposed status change and its review.
type ChangeRequest struct {
	ID               int64             `json:"id"`
	StudentID        int64             `json:"student_id"`
	StudentNo        string            `json:"student_no"`
	StudentName      string            `json:"student_name"`
	SchoolCode       string            `json:"school_code"`
	SchoolName       string            `json:"school_name"`
	CityCode         string            `json:"city_code"`
	TargetSchoolCode string            `json:"target_school_code,omitempty"`
	TargetSchoolName string            `json:"target_school_name,omitempty"`
	TargetCityCode   string            `json:"target_city_code,omitempty"`
	Type             string            `json:"type"`
	Reason           string            `json:"reason"`
	EffectiveDate    string            `json:"effective_date"`
	Changes          map[string]string `json:"changes,omitempty"` // id_number masked
	NewIDSealed      []byte            `json:"-"`
	NewIDBlind       string            `json:"-"`
	State            string            `json:"state"`
	Needs            []string          `json:"needs"` // approval slots
	Approvals        []Approval        `json:"approvals"`
	ProposedBy       string            `json:"proposed_by"`
	ProposedAt       time.Time         `json:"proposed_at"`
	DecidedBy        string            `json:"decided_by,omitempty"`
	DecidedAt        time.Time         `json:"decided_at,omitzero"`
	DecisionNote     string            `json:"decision_note,omitempty"`
	AppliedAt        time.Time         `json:"applied_at,omitzero"`
	Failure          string            `json:"failure,omitempty"`
	Version          int64             `json:"-"`
}

// Missing lists the approval slots not yet filled.
func (r *ChangeRequest) Missing() []string {
	var out []string
	for _, slot := range r.Needs {
		filled := false
		for _, a := range r.Approvals {
			if a.Slot == slot {
				filled = true
			}
		}
		if !filled {
			out = append(out, slot)
		}
	}
	return out
}

// errTransition refuses an action on a request in the wrong state.
func errTransition(r *ChangeRequest, action string) error {
	return apperr.E(apperr.InvalidTransition, "state", "change.state.refused", action, StateLabel(r.State))
}
