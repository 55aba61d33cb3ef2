package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
)

// FilingSummary counts the demo's filings.
type FilingSummary struct {
	Year                int
	Plans, Sites, Joint int
	ByState             map[string]int
}

// seedFilings gives every school the majors it teaches (from its 2025
// intake) and files a year of plans through the real review, with a
// clock set to the spring of the year: most published, some at every
// other step, a few late; plus off-campus sites and joint programs, one
// of each already expired. The year is the current one, so the screens
// and the public portal show it by default.
func seedFilings(ctx context.Context, db *store.DB, rng *rand.Rand, schools []*school.School) (FilingSummary, error) {
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()
	sum := FilingSummary{Year: year, ByState: map[string]int{}}
	intake, err := db.IntakeByOffering(ctx, 2025)
	if err != nil {
		return sum, err
	}
	bySchool := map[string][]store.OfferingIntake{}
	for _, o := range intake {
		bySchool[o.SchoolCode] = append(bySchool[o.SchoolCode], o)
	}
	catalogue, err := db.Majors(ctx)
	if err != nil {
		return sum, err
	}
	svc := school.NewFilingService(db)
	clock := time.Date(year, 3, 1, 9, 0, 0, 0, time.UTC)
	svc.Now = func() time.Time { return clock }
	step := func(d time.Duration) { clock = clock.Add(d) }
	province := auth.Principal{Name: ProvinceUser, Role: auth.RoleProvince}
	if err := svc.SetYear(ctx, province, school.YearSettings{Year: year, Deadline: fmt.Sprintf("%04d-04-30", year)}); err != nil {
		return sum, err
	}
	for i, sc := range schools {
		offered := bySchool[sc.Code]
		if len(offered) == 0 || sc.Status != school.StatusOperating {
			continue
		}
		sp := auth.Principal{Name: SchoolUser(sc.Code), Role: auth.RoleSchool, ScopeCode: sc.Code}
		cp := auth.Principal{Name: CityUser(sc.CityCode), Role: auth.RoleCity, ScopeCode: sc.CityCode}
		list := make([]school.Offering, len(offered))
		lines := make([]school.PlanLine, len(offered))
		for j, o := range offered {
			list[j] = o.Offering
			// Next year's plan: this year's intake give or take a tenth.
			n := max(1, int(float64(o.Students)*(0.9+0.2*rng.Float64())))
			lines[j] = school.PlanLine{Major: o.Major, ClassLevel: o.ClassLevel, StudyMode: o.StudyMode, Intake: min(n, school.MaxIntake)}
		}
		if _, err := svc.SetOfferings(ctx, sp, sc.Code, list, catalogue); err != nil {
			return sum, err
		}
		// Where the school's plan ends up this spring.
		r := rng.Float64()
		target := school.FilingPublished
		switch {
		case r < 0.03:
			continue // not filed yet
		case r < 0.06:
			target = school.FilingDraft
		case r < 0.12:
			target = school.FilingSubmitted
		case r < 0.16:
			target = school.FilingReturned
		case r < 0.22:
			target = school.FilingCityApproved
		case r < 0.30:
			target = school.FilingApproved
		case r < 0.32:
			target = school.FilingRejected
		}
		clock = time.Date(year, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(24*60)) * time.Hour / 8)
		if i%9 == 4 {
			clock = time.Date(year, 5, 2+rng.IntN(20), 10, 0, 0, 0, time.UTC) // after the deadline
		}
		f, err := svc.Create(ctx, sp, school.FilingInput{Kind: school.KindPlan, SchoolCode: sc.Code, Year: year, Lines: lines,
			Statement: fmt.Sprintf("%s现有实训工位与师资满足%d个专业方向的教学需要，校舍、设备和安全条件符合技工院校设置标准。", sc.Name, len(lines))})
		if err != nil {
			return sum, err
		}
		sum.Plans++
		if err := walk(ctx, svc, f.ID, target, sp, cp, province, step); err != nil {
			return sum, fmt.Errorf("demo: plan of %s: %w", sc.Code, err)
		}
		sum.ByState[target]++
		// Off-campus sites and joint programs at a few schools.
		if i%12 == 3 || i%12 == 7 {
			majors := []string{lines[0].Major}
			from := time.Date(year-1, 9, 1, 0, 0, 0, 0, time.UTC)
			in := school.FilingInput{Kind: school.KindSite, SchoolCode: sc.Code, ValidFrom: from.Format(time.DateOnly),
				ValidTo: from.AddDate(3, 0, -1).Format(time.DateOnly)}
			in.Site = &school.Site{Name: sc.Name + "产业园教学点", Address: divisionName(sc.DivisionCode) + "经济开发区创业路" + fmt.Sprint(10+i) + "号",
				Majors: majors, Capacity: 200 + rng.IntN(400)}
			kindTarget := school.FilingPublished
			if i%24 == 3 {
				// One whose term has run out: published, but no longer shown.
				in.ValidFrom, in.ValidTo = fmt.Sprintf("%04d-09-01", year-4), fmt.Sprintf("%04d-08-31", year-1)
			}
			if i%36 == 7 {
				kindTarget = school.FilingSubmitted
			}
			if err := fileAndWalk(ctx, svc, sp, cp, province, in, kindTarget, step); err != nil {
				return sum, err
			}
			sum.Sites++
			joint := school.FilingInput{Kind: school.KindJoint, SchoolCode: sc.Code, ValidFrom: from.Format(time.DateOnly),
				ValidTo: from.AddDate(4, 0, -1).Format(time.DateOnly),
				Joint: &school.Joint{Partners: []string{divisionName(sc.CityCode) + "装备制造集团有限公司"},
					Responsibilities: "学校负责招生、学籍管理和理论教学；企业提供实训岗位和兼职教师，参与制定人才培养方案。", Majors: majors}}
			if err := fileAndWalk(ctx, svc, sp, cp, province, joint, school.FilingPublished, step); err != nil {
				return sum, err
			}
			sum.Joint++
		}
	}
	return sum, nil
}

func divisionName(code string) string {
	if d, ok := refdata.LookupDivision(code); ok {
		return d.Name
	}
	return ""
}

// fileAndWalk creates a filing and takes it to target.
func fileAndWalk(ctx context.Context, svc *school.FilingService, sp, cp, pp auth.Principal, in school.FilingInput, target string, step func(time.Duration)) error {
	f, err := svc.Create(ctx, sp, in)
	if err != nil {
		return fmt.Errorf("demo: %s of %s: %w", in.Kind, in.SchoolCode, err)
	}
	return walk(ctx, svc, f.ID, target, sp, cp, pp, step)
}

// walk takes a draft through the review to target, a few days a step.
func walk(ctx context.Context, svc *school.FilingService, id int64, target string, sp, cp, pp auth.Principal, step func(time.Duration)) error {
	type move struct {
		who    auth.Principal
		action string
		note   string
		until  string
	}
	path := []move{
		{sp, school.ActSubmit, "", school.FilingSubmitted},
		{cp, school.ActReturn, "请补充实训设备清单和专任教师名单", school.FilingReturned},
		{sp, school.ActSubmit, "已补充", school.FilingSubmitted},
		{cp, school.ActCityApprove, "材料齐全，同意", school.FilingCityApproved},
		{pp, school.ActApprove, "", school.FilingApproved},
		{pp, school.ActPublish, "", school.FilingPublished},
	}
	if target == school.FilingDraft {
		return nil
	}
	if target == school.FilingRejected {
		path = append(path[:4], move{pp, school.ActReject, "实训场地面积不足，不予批准", school.FilingRejected})
	}
	if target != school.FilingReturned {
		path = append(path[:1], path[3:]...) // most are not returned
	}
	for _, m := range path {
		step(time.Duration(2+len(m.action)%3) * 24 * time.Hour)
		if _, err := svc.Act(ctx, m.who, id, m.action, m.note); err != nil {
			return err
		}
		if m.until == target {
			return nil
		}
	}
	return nil
}
