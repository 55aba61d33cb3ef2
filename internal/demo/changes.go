package demo

import (
	"context"
	"time"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/student"
)

// seedChanges files a few status-change requests through the real
// workflow, so the review screens have something in every state: pending
// (休学, a transfer to another city), applied (转专业) and rejected (退学).
// They are dated today: the workflow accepts effective dates near now only.
func seedChanges(ctx context.Context, db *store.DB, protect pii.Protector, schools []*school.School) (int, error) {
	svc := student.NewService(db, protect)
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	n := 0
	for i, sc := range schools {
		if i >= 6 {
			break
		}
		list, _, err := db.FindStudents(ctx, student.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, SchoolCode: sc.Code, Status: student.StatusEnrolled, Year: 2023, Limit: 4}) // not the planted anomalies (2019, 2024)
		if err != nil {
			return n, err
		}
		if len(list) < 4 {
			continue
		}
		school := auth.Principal{Name: SchoolUser(sc.Code), Role: auth.RoleSchool, ScopeCode: sc.Code}
		city := auth.Principal{Name: CityUser(sc.CityCode), Role: auth.RoleCity, ScopeCode: sc.CityCode}
		steps := []struct {
			st      *student.Student
			in      student.ChangeInput
			decide  string
			comment string
		}{
			{list[0], student.ChangeInput{Type: "休学", Reason: "因病需休养一学期，附医院证明"}, "", ""},
			{list[1], student.ChangeInput{Type: "转专业", Reason: "本人申请，经学校考核同意", Changes: map[string]string{"major": "焊接加工"}}, "approve", "同意"},
			{list[2], student.ChangeInput{Type: "退学", Reason: "家庭原因"}, "reject", "材料不全，请补充家长签字的申请"},
		}
		if other := otherCity(schools, sc); other != nil {
			steps = append(steps, struct {
				st      *student.Student
				in      student.ChangeInput
				decide  string
				comment string
			}{list[3], student.ChangeInput{Type: "转学", Reason: "随父母工作调动", Changes: map[string]string{"school_code": other.Code}}, "approve", "转出地同意"})
		}
		for _, s := range steps {
			if s.in.Changes[student.FieldMajor] == s.st.Major {
				continue
			}
			s.in.EffectiveDate = today
			req, err := svc.ProposeChange(ctx, school, s.st.ID, s.in)
			if err != nil {
				return n, err
			}
			n++
			switch s.decide {
			case "approve":
				_, err = svc.Approve(ctx, city, req.ID, s.comment)
			case "reject":
				_, err = svc.Reject(ctx, city, req.ID, s.comment)
			}
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// otherCity is a school in another city, for a transfer between cities.
func otherCity(schools []*school.School, from *school.School) *school.School {
	for _, s := range schools {
		if s.CityCode != from.CityCode && s.Status == school.StatusOperating {
			return s
		}
	}
	return nil
}
