package plan

import (
	"slices"
	"testing"
	"testing/fstest"
)

func TestBuiltinPlansValidate(t *testing.T) {
	plans := BuiltinPlans()
	var ids []string
	for _, p := range plans {
		ids = append(ids, p.ID)
		before := p.Clone()
		if err := ValidatePlan(&p, BuiltinGroupExists); err != nil {
			t.Errorf("%s: %v", p.ID, err)
		}
		if !sameContent(before, p) {
			t.Errorf("%s: the file is not tidy (spaces or empty milestones)", p.ID)
		}
		if p.Version != 1 {
			t.Errorf("%s: built-in plans start at version 1", p.ID)
		}
		for _, ind := range p.Indicators {
			if ind.Quote == "" || ind.Section == "" {
				t.Errorf("%s/%s: every built-in indicator says where in the document it comes from", p.ID, ind.Code)
			}
		}
	}
	want := []string{"mohrss-jg-14-5", "sd-jg-14-5", "sd-tingshu-2023", "wh-jg-2025"}
	if !slices.Equal(ids, want) {
		t.Errorf("built-in plans %v, want %v (national, province, department, city)", ids, want)
	}
	// Copies: changing one does not change the next.
	plans[1].Indicators[0].Name = "改"
	*plans[1].Indicators[0].Target = 1
	if p, _ := BuiltinPlan("sd-jg-14-5"); p.Indicators[0].Name != "技师学院数" || *p.Indicators[0].Target != 50 {
		t.Error("BuiltinPlans shares memory")
	}
	if _, ok := BuiltinPlan("nope"); ok {
		t.Error("unknown plan found")
	}
}

type expected struct {
	code, name, unit string
	agg              Aggregate
	cmp              Comparison
	baseline         *float64
	target           *float64
	kind             SourceKind
	rule             string
}

// TestShandongColumn1 is 专栏1 of 鲁人社字〔2021〕172号, read off the seed:
// ten indicators, the 2020 column as baselines ("——" none), the 2025
// column as targets, [ ] five-year totals.
func TestShandongColumn1(t *testing.T) {
	want := []expected{
		{"technician_colleges", "技师学院数", "所", AggregateCount, Above, f(45), f(50), Computed, "technician_colleges"},
		{"quality_schools", "省级优质技工院校", "所", AggregateCount, Above, nil, f(10), Computed, "quality_schools"},
		{"quality_major_groups", "省级优质专业群", "个", AggregateCount, Above, nil, f(30), Reported, ""},
		{"integration_pilot_majors", "省级“一体化”教学改革试点专业", "个", AggregateCount, Above, f(20), f(50), Reported, ""},
		{"avg_intake", "年均招生规模", "万人", AggregateYearlyAverage, Above, f(15.5), f(15), Computed, "avg_intake"},
		{"avg_enrolled", "年均在校生规模", "万人", AggregateYearlyAverage, Above, f(35), f(35), Computed, "avg_enrolled"},
		{"schools_over_10000", "在校生达万人以上的学校数量", "所", AggregateCount, Above, f(18), f(20), Computed, "schools_over_10000"},
		{"senior_share", "高级工班以上在校生比例", "%", AggregateRatio, Above, f(50), f(55), Computed, "senior_share"},
		{"employment_rate", "毕业生总体就业率", "%", AggregateRatio, Above, f(97), f(97), Reported, ""},
		{"training_cumulative", "职业培训", "万人次", AggregateCumulative, Above, f(200), f(250), Reported, ""},
	}
	p, _ := BuiltinPlan("sd-jg-14-5")
	if p.BaselineYear != 2020 || p.TargetYear != 2025 || p.BaselinePeriod() != (Window{2016, 2020}) || p.ScopeCode != "370000" {
		t.Errorf("period %d–%d, baseline period %v, scope %s", p.BaselineYear, p.TargetYear, p.BaselinePeriod(), p.ScopeCode)
	}
	var got []Indicator
	for _, ind := range p.Indicators {
		if ind.Section == "专栏1" {
			got = append(got, ind)
		}
	}
	checkIndicators(t, got, want)
}

func checkIndicators(t *testing.T, got []Indicator, want []expected) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d indicators, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Code != w.code || g.Name != w.name || g.Unit != w.unit || g.Aggregate != w.agg || g.Comparison != w.cmp ||
			!samePtr(g.Baseline, w.baseline) || !samePtr(g.Target, w.target) || g.Source.Kind != w.kind || g.Source.Rule != w.rule {
			t.Errorf("indicator %d:\n got %s %s %s %s %s %v→%v %s %s\nwant %+v", i+1, g.Code, g.Name, g.Unit, g.Aggregate, g.Comparison,
				ptr(g.Baseline), ptr(g.Target), g.Source.Kind, g.Source.Rule, w)
		}
	}
}

func samePtr(a, b *float64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func ptr(v *float64) any {
	if v == nil {
		return "——"
	}
	return *v
}

type target struct {
	code      string
	cmp       Comparison
	target    float64
	unit      string
	everyYear bool
	due       int
}

// TestBuiltinTargets lists every quantitative target of each seed outside
// 专栏1, as read off the seed: the code, comparison, number, unit, whether
// it holds every year, and when it is due.
func TestBuiltinTargets(t *testing.T) {
	tests := map[string][]target{
		"sd-jg-14-5": {
			{"training_yearly", AtLeast, 50, "万人次", true, 2025},           // 每年开展职业培训不少于50万人次
			{"coop_majors", AtLeast, 90, "%", false, 2025},                // 90%以上专业开展校企合作专业建设
			{"education_groups", About, 15, "个", false, 2025},             // 15 个左右技工教育集团（联盟）
			{"new_apprentices", AtLeast, 10, "万人", false, 2025},           // 新型学徒制培养职工不少于10万人
			{"integrated_teachers", AtLeast, 60, "%", false, 2025},        // 一体化师资比例不低于60%
			{"ideology_demo_schools", AtLeast, 10, "所", false, 2025},      // 专栏2
			{"campus_culture_schools", AtLeast, 10, "所", false, 2025},     // 专栏2
			{"ideology_master_studios", AtLeast, 30, "个", false, 2025},    // 专栏2
			{"ideology_quality_courses", AtLeast, 60, "项", false, 2025},   // 专栏2
			{"ideology_teacher_training", AtLeast, 500, "人次", true, 2025}, // 专栏2: 每年500人次以上
			{"worldskills_bases", About, 50, "个", false, 2025},            // 专栏3
			{"provincial_competition_bases", About, 10, "个", false, 2025}, // 专栏3
			{"ideology_training_bases", About, 5, "个", false, 2025},
			{"teacher_training_bases", About, 10, "个", false, 2025},
			{"backbone_rotation", Equal, 100, "%", false, 2024}, // 3年左右完成轮训
			{"labour_education", Equal, 100, "%", true, 2025},   // 每学年不少于16学时
			{"skill_assessment_capability", Equal, 100, "%", false, 2025},
			{"part_time_teachers", AtMost, 20, "%", true, 2025}, // 20%编制员额内
		},
		"sd-tingshu-2023": {
			{"intake", AtLeast, 2, "万人", false, 2025},
			{"enrolled", AtLeast, 6, "万人", false, 2025},
			{"employment_rate", AtLeast, 98, "%", false, 2025},
			{"training", AtLeast, 7, "万人次", false, 2025},
			{"coop_majors", AtLeast, 95, "%", false, 2025},
			{"integrated_majors", AtLeast, 60, "%", false, 2028}, // 用3-5年的时间
		},
		"wh-jg-2025": {
			{"industry_education_bases", AtLeast, 1, "个", false, 2030},
			{"public_training_bases", AtLeast, 3, "个", false, 2030},
			{"order_class_enterprise_hours", AtLeast, 50, "%", true, 2030},
			{"order_class_practice_increase", Equal, 100, "%", true, 2030},
			{"teacher_competition", AtLeast, 1, "次", true, 2030},
		},
		"mohrss-jg-14-5": {
			{"ideology_research_bases", About, 30, "个", false, 2025},
			{"labour_education", Equal, 100, "%", true, 2025},
		},
	}
	for id, want := range tests {
		p, ok := BuiltinPlan(id)
		if !ok {
			t.Fatalf("no plan %s", id)
		}
		var got []Indicator
		for _, ind := range p.Indicators {
			if ind.Section != "专栏1" && ind.Target != nil {
				got = append(got, ind)
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: %d targets, want %d", id, len(got), len(want))
		}
		for i := range min(len(got), len(want)) {
			g, w := got[i], want[i]
			if g.Code != w.code || g.Comparison != w.cmp || *g.Target != w.target || g.Unit != w.unit || g.EveryYear != w.everyYear || g.DueYear(&p) != w.due {
				t.Errorf("%s %d: got %s %s %v %s every=%v due=%d, want %+v", id, i, g.Code, g.Comparison, *g.Target, g.Unit, g.EveryYear, g.DueYear(&p), w)
			}
		}
	}
}

func TestBuiltinPlanDetails(t *testing.T) {
	// The national plan's 2020 figures are monitored, not targets.
	n, _ := BuiltinPlan("mohrss-jg-14-5")
	var monitored []expected
	for _, ind := range n.Indicators {
		if ind.Target == nil {
			monitored = append(monitored, expected{ind.Code, ind.Name, ind.Unit, ind.Aggregate, ind.Comparison, ind.Baseline, nil, ind.Source.Kind, ind.Source.Rule})
		}
	}
	want := []expected{
		{"schools", "技工院校数", "所", AggregateCount, "", f(2423), nil, Computed, "schools"},
		{"technician_colleges", "技师学院数", "所", AggregateCount, "", f(496), nil, Computed, "technician_colleges"},
		{"enrolled", "在校生", "万人", AggregateSum, "", f(395.5), nil, Computed, "enrolled"},
		{"training_yearly", "每年面向社会开展职业培训", "万人次", AggregateSum, "", f(400), nil, Reported, ""},
	}
	if len(monitored) != len(want) {
		t.Fatalf("monitored %d, want %d", len(monitored), len(want))
	}
	for i := range want {
		if m, w := monitored[i], want[i]; m.code != w.code || m.name != w.name || m.unit != w.unit || !samePtr(m.baseline, w.baseline) || m.kind != w.kind || m.rule != w.rule {
			t.Errorf("monitored %d = %+v, want %+v", i, m, w)
		}
	}
	if n.Level != LevelNational || n.ScopeCode != NationalScope {
		t.Error("national plan scope")
	}

	// Shandong: what the records compute today; the rest is reported.
	s, _ := BuiltinPlan("sd-jg-14-5")
	var computed []string
	for _, ind := range s.Indicators {
		if ind.Source.Kind == Computed {
			computed = append(computed, ind.Code)
		} else if ind.Source.ResponsibleUnit != "省人力资源社会保障厅职业能力建设处" {
			t.Errorf("%s: reported by %q", ind.Code, ind.Source.ResponsibleUnit)
		}
	}
	if want := []string{"technician_colleges", "quality_schools", "avg_intake", "avg_enrolled", "schools_over_10000", "senior_share"}; !slices.Equal(computed, want) {
		t.Errorf("computed %v, want %v", computed, want)
	}

	// 厅属院校: every indicator on the group, in the province.
	d, _ := BuiltinPlan("sd-tingshu-2023")
	if d.Level != LevelDepartment || d.ScopeCode != "370000" || !slices.Equal(d.GroupCodes(), []string{"sd-tingshu"}) {
		t.Errorf("department plan %s %s %v", d.Level, d.ScopeCode, d.GroupCodes())
	}
	for _, ind := range d.Indicators {
		if ind.Group != "sd-tingshu" || ind.Baseline != nil {
			t.Errorf("%s: group %q baseline %v", ind.Code, ind.Group, ind.Baseline)
		}
	}

	// 威海: the city's plan, due 2030.
	w, _ := BuiltinPlan("wh-jg-2025")
	if w.Level != LevelCity || w.ScopeCode != "371000" || w.TargetYear != 2030 {
		t.Errorf("威海 plan %s %s %d", w.Level, w.ScopeCode, w.TargetYear)
	}
}

func TestBuiltinGroups(t *testing.T) {
	groups := BuiltinGroups()
	if len(groups) != 1 {
		t.Fatalf("groups = %+v", groups)
	}
	g := groups[0]
	if err := ValidateGroup(&g); err != nil {
		t.Fatal(err)
	}
	if g.Code != "sd-tingshu" || g.Name != "厅属院校" || !slices.Equal(g.NamedInSource, []string{"山东劳动技师学院", "山东工业技师学院"}) || len(g.Schools) != 0 {
		t.Errorf("厅属院校 = %+v", g)
	}
	groups[0].NamedInSource[0] = "改"
	if BuiltinGroups()[0].NamedInSource[0] != "山东劳动技师学院" {
		t.Error("BuiltinGroups shares memory")
	}
	if !BuiltinGroupExists("sd-tingshu") || BuiltinGroupExists("x") {
		t.Error("BuiltinGroupExists")
	}
}

func TestLoadBuiltinRefusesUnknownFields(t *testing.T) {
	fsys := fstest.MapFS{"builtin/x.json": {Data: []byte(`{"id":"x","targte_year":2025}`)}}
	if _, _, err := loadBuiltin(fsys); err == nil {
		t.Error("a misspelt field must fail")
	}
	fsys = fstest.MapFS{"builtin/groups.json": {Data: []byte(`[{"code":"g","nmae":"组"}]`)}}
	if _, _, err := loadBuiltin(fsys); err == nil {
		t.Error("a misspelt group field must fail")
	}
}
