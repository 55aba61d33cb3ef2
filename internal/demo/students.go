package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"time"

	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/idcard"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/student"
)

// Reference is the day the demo data describes: records run to the end of 2025.
var Reference = time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)

// firstYearShown is the first day the demo's figures cover; students who
// left before it are not generated.
const firstYearShown = "2016-01-01"

// FirstCohort is the earliest intake generated: early enough that the
// students in school during 2016 exist as records.
const FirstCohort = 2013

// provinceIntake is Shandong's yearly intake (persons). 2016–2020 average
// 15.5万 with about 17万 in 2020, as 专栏1 of the provincial plan says;
// earlier and later years continue the trend.
var provinceIntake = map[int]int{
	2013: 118000, 2014: 123000, 2015: 129000,
	2016: 136000, 2017: 146000, 2018: 155000, 2019: 163000, 2020: 175000,
	2021: 175000, 2022: 178000, 2023: 180000, 2024: 183000, 2025: 186000,
}

// track is a programme: class level, entry point, years, share of intake
// in each school type (技工学校, 高级技工学校, 技师学院).
type track struct {
	level, entry string
	years        int
	share        [3]float64
}

// tracks calibrate the in-school stock: most programmes are short (2–3
// years, the upper levels entered from a lower certificate), so the stock
// is about 2.3 times the intake and half of it is in 高级工班 or above.
var tracks = []track{
	{"中级工班", "初中毕业生", 3, [3]float64{0.65, 0.33, 0.18}},
	{"中级工班", "高中毕业生", 2, [3]float64{0.35, 0.22, 0.10}},
	{"高级工班", "取得中级职业资格(职业技能等级)者/相近专业中级工毕业生", 2, [3]float64{0, 0.35, 0.40}},
	{"高级工班", "初中毕业生", 5, [3]float64{0, 0.05, 0.05}},
	{"高级工班", "高中毕业生", 3, [3]float64{0, 0.05, 0.10}},
	{"预备技师班", "取得高级职业资格(职业技能等级)者/相近专业高级工毕业生", 2, [3]float64{0, 0, 0.12}},
	{"预备技师班", "高中毕业生", 4, [3]float64{0, 0, 0.05}},
}

func typeIndex(t string) int {
	for i, v := range school.Types {
		if v == t {
			return i
		}
	}
	return 0
}

var surnames = []rune("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤尹黎易常武乔贺赖龚文")
var givenMale = []rune("伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林博文晨阳昊然轩睿泽")
var givenFemale = []rune("芳娜敏静丽艳娟霞秀英慧巧美婷雪琳颖倩洁玲欣怡佳悦萱彤晴璐瑶梦雨涵蕾琪")

func personName(rng *rand.Rand, sex string) string {
	pool := givenMale
	if sex == "女" {
		pool = givenFemale
	}
	name := string(surnames[rng.IntN(len(surnames))]) + string(pool[rng.IntN(len(pool))])
	if rng.Float64() < 0.7 {
		name += string(pool[rng.IntN(len(pool))])
	}
	return name
}

// schoolWeights give each school a share of intake: a heavy tail so that
// about 18 of 181 schools pass 10,000 students, as in Shandong 2020.
func schoolWeights(rng *rand.Rand, schools []*school.School) []float64 {
	w := make([]float64, len(schools))
	order := rng.Perm(len(schools))
	big := 0
	for _, i := range order {
		s := schools[i]
		base := []float64{0.55, 0.8, 1.4}[typeIndex(s.Type)]
		w[i] = base * math.Exp(rng.NormFloat64()*0.35)
		if s.Type != "技工学校" && big < len(schools)*18/181 {
			w[i] = 9.5 + rng.Float64()*2.5 // the large colleges
			big++
		}
	}
	return w
}

// StudentSummary says what the student generator produced.
type StudentSummary struct {
	Records, Active int
	Changes         int                 // status-change requests filed through the workflow
	Certificates    int                 // graduation certificates issued (CertificatesSince on)
	Revoked         int                 // of them revoked
	Planted         map[string][]string // planted anomalies per finding kind: student numbers (school codes for over_capacity)
}

// sink batches generated students into the store.
// Batches go to a loader goroutine, so generating the next batch overlaps
// with writing the last one.
type sink struct {
	ctx      context.Context
	db       *store.DB
	buf      []*student.Student
	total    int
	active   int
	bySchool map[string]int // active students per school
	counter  map[[3]string]int
	// graduates who get an electronic certificate (CertificatesSince on)
	graduates []*student.Student
	batches   chan []*student.Student
	done      chan error
}

const sinkBatch = 50000

func newSink(ctx context.Context, db *store.DB) *sink {
	k := &sink{ctx: ctx, db: db, counter: map[[3]string]int{}, bySchool: map[string]int{},
		batches: make(chan []*student.Student, 1), done: make(chan error, 1)}
	go func() {
		var err error
		for b := range k.batches {
			if err == nil {
				err = db.LoadStudents(ctx, b)
			}
		}
		k.done <- err
	}()
	return k
}

// add queues s for the store. The registry is empty when a bulk load
// begins (BulkLoadStudents refuses it otherwise), so the records are
// numbered here in order, and the certificates can name their students
// before the indexes that would find them again are built.
func (k *sink) add(s *student.Student) error {
	k.buf = append(k.buf, s)
	k.total++
	s.ID = int64(k.total)
	if s.Status == student.StatusGraduated && s.LeftDate >= CertificatesSince {
		k.graduates = append(k.graduates, s)
	}
	if s.Active() {
		k.active++
		k.bySchool[s.SchoolCode]++
	}
	if len(k.buf) >= sinkBatch {
		k.batches <- k.buf
		k.buf = make([]*student.Student, 0, sinkBatch)
	}
	return nil
}

// close writes what is left and waits for the loader.
func (k *sink) close() error {
	if len(k.buf) > 0 {
		k.batches <- k.buf
	}
	close(k.batches)
	return <-k.done
}

type studentGen struct {
	rng      *rand.Rand
	protect  pii.Protector
	sink     *sink
	majors   []string
	seq      map[string]int                // ID sequence per area+birth date
	areas    map[string]string             // a county code per prefecture
	counties map[string][]refdata.Division // the counties of each city
}

// number takes the next 学籍号 of a school's registry.
func (g *studentGen) number(schoolCode, mode string, year int) string {
	k := [3]string{schoolCode, mode, strconv.Itoa(year)}
	g.sink.counter[k]++
	return store.StudentNo(schoolCode, mode, year, g.sink.counter[k])
}

// countyOf finds a real county-level address code under a prefecture
// (outside Shandong the reference data lists no counties by city).
func (g *studentGen) countyOf(city string) string {
	if a, ok := g.areas[city]; ok {
		return a
	}
	a := city
	for i := 1; i < 100; i++ {
		code := fmt.Sprintf("%s%02d", city[:4], i)
		if _, ok := refdata.AddressCode(code); ok && refdata.AddressCodeValidIn(code, 2025) {
			a = code
			break
		}
	}
	g.areas[city] = a
	return a
}

// identity makes a valid resident ID near the school.
func (g *studentGen) identity(s *school.School, birth time.Time, sex string) string {
	area := s.DivisionCode
	counties, ok := g.counties[s.CityCode]
	if !ok {
		counties = refdata.Counties(s.CityCode)
		g.counties[s.CityCode] = counties
	}
	if len(counties) > 0 && g.rng.Float64() < 0.6 {
		area = counties[g.rng.IntN(len(counties))].Code
	}
	if area[4:] == "00" {
		area = g.countyOf(area)
	}
	k := area + birth.Format("20060102") + sex
	g.seq[k]++
	return idcard.Synthesize(area, birth, g.seq[k], idcard.Sex(sex))
}

func (g *studentGen) person(s *school.School, tr track, mode string, enrolled time.Time) *student.Student {
	sex := "男"
	if g.rng.Float64() < 0.38 {
		sex = "女"
	}
	age := map[string]int{"初中毕业生": 15, "高中毕业生": 18}[tr.entry]
	if age == 0 {
		age = 18 + tr.years
	}
	if mode == student.ModePartTime {
		age += 4 + g.rng.IntN(15)
	}
	birth := enrolled.AddDate(-age, -g.rng.IntN(12), -g.rng.IntN(28))
	number := g.identity(s, birth, sex)
	eth := "汉族"
	if g.rng.Float64() < 0.007 {
		groups := refdata.EthnicGroups()
		eth = groups[1+g.rng.IntN(len(groups)-1)].Name
	}
	st := &student.Student{
		SchoolCode: s.Code, SchoolName: s.Name, CityCode: s.CityCode, Name: personName(g.rng, sex), IDType: student.ResidentID,
		IDSealed: g.protect.Seal([]byte(number), []byte(student.ResidentID)), IDBlind: g.protect.BlindIndex(student.ResidentID + ":" + number),
		IDMasked: pii.MaskNumber(number), Sex: sex, BirthDate: birth.Format("2006-01-02"), Ethnicity: eth,
		Major: g.majors[g.rng.IntN(len(g.majors))], ClassLevel: tr.level, StudyMode: mode, EntryPoint: tr.entry,
		EnrollmentDate: enrolled.Format("2006-01-02"), Status: student.StatusEnrolled,
		CreatedAt: enrolled.Add(9 * time.Hour), Version: 1,
	}
	st.ExpectedGraduation = student.ExpectedGraduation(st.EnrollmentDate, tr.level, tr.entry)
	st.StudentNo = g.number(s.Code, mode, enrolled.Year())
	g.outcome(st, enrolled, tr.years)
	st.UpdatedAt = st.LastActivity
	return st
}

// outcome decides how a student's 学籍 went by the reference day: most
// graduate on time, some withdraw early, a few finish without a diploma.
func (g *studentGen) outcome(st *student.Student, enrolled time.Time, years int) {
	grad := time.Date(enrolled.Year()+years, 7, 1, 0, 0, 0, 0, time.UTC)
	r := g.rng.Float64()
	switch {
	case r < 0.09: // withdraws within the first year and a half
		left := enrolled.AddDate(0, 2+g.rng.IntN(16), g.rng.IntN(28))
		if !left.After(Reference) {
			st.Status, st.LeftDate = student.StatusWithdrawn, left.Format("2006-01-02")
		}
	case r < 0.11:
		if !grad.After(Reference) {
			st.Status, st.LeftDate = student.StatusCompleted, grad.Format("2006-01-02")
		}
	case r < 0.115:
		if !grad.After(Reference) {
			st.Status, st.LeftDate = student.StatusLeftEarly, grad.Format("2006-01-02")
		}
	default:
		if !grad.After(Reference) {
			st.Status, st.LeftDate = student.StatusGraduated, grad.Format("2006-01-02")
		}
	}
	switch {
	case st.LeftDate != "":
		t, _ := time.Parse("2006-01-02", st.LeftDate)
		st.LastActivity = t.Add(9 * time.Hour)
	default: // the autumn 2025 term registration (学期注册)
		st.LastActivity = time.Date(2025, 9, 5, 9, 0, 0, 0, time.UTC)
		if g.rng.Float64() < 0.01 {
			st.Status = student.StatusSuspended
		}
	}
}

// generateStudents fills the registry for the schools with intake scaled by
// factor (1 for Shandong), plants known anomalies and issues the latest
// graduates' certificates.
func generateStudents(ctx context.Context, db *store.DB, protect pii.Protector, rng *rand.Rand, schools []*school.School, factor float64) (StudentSummary, error) {
	majors, err := db.Majors(ctx)
	if err != nil {
		return StudentSummary{}, err
	}
	key, err := cert.NewService(db, protect).ActiveKey(ctx)
	if err != nil {
		return StudentSummary{}, err
	}
	g := &studentGen{rng: rng, protect: protect, majors: majors, seq: map[string]int{}, areas: map[string]string{},
		counties: map[string][]refdata.Division{}, sink: newSink(ctx, db)}
	var sum StudentSummary
	var certs *certificates
	err = db.BulkLoadStudents(ctx, func() error {
		var err error
		if sum, err = g.generate(ctx, db, rng, schools, factor); err != nil {
			return err
		}
		certs, err = signCertificates(key, g.sink.graduates, rng)
		return err
	})
	if err == nil {
		err = certs.store(ctx, db)
	}
	if err != nil {
		return StudentSummary{}, err
	}
	sum.Certificates, sum.Revoked = len(certs.list), certs.revoked
	return sum, nil
}

func (g *studentGen) generate(ctx context.Context, db *store.DB, rng *rand.Rand, schools []*school.School, factor float64) (StudentSummary, error) {
	weights := schoolWeights(rng, schools)
	var total float64
	for _, w := range weights {
		total += w
	}
	years := make([]int, 0, len(provinceIntake))
	for y := range provinceIntake {
		years = append(years, y)
	}
	sort.Ints(years)
	for _, year := range years {
		intake := float64(provinceIntake[year]) * factor
		for i, s := range schools {
			n := int(intake*weights[i]/total + rng.Float64())
			ti := typeIndex(s.Type)
			for range n {
				tr := pickTrack(rng, ti)
				mode := student.ModeFullTime
				if rng.Float64() < 0.08 {
					mode = student.ModePartTime
				}
				enrolled := time.Date(year, 9, 1+rng.IntN(10), 0, 0, 0, 0, time.UTC)
				st := g.person(s, tr, mode, enrolled)
				if st.LeftDate != "" && (st.LeftDate < firstYearShown || s.ProvinceCode != refdata.ShandongCode) {
					// Gone before the years the demo shows; outside Shandong the
					// national demo keeps only the students in school now, so
					// its four million fit in minutes.
					continue
				}
				if err := g.sink.add(st); err != nil {
					return StudentSummary{}, err
				}
			}
		}
	}
	planted, err := g.plant(schools)
	if cerr := g.sink.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return StudentSummary{}, err
	}
	if err := db.SetStudentCounters(ctx, g.sink.counter); err != nil {
		return StudentSummary{}, err
	}
	over, err := g.setCapacities(ctx, db, schools)
	if err != nil {
		return StudentSummary{}, err
	}
	planted[student.FindOverCapacity] = over
	return StudentSummary{Records: g.sink.total, Active: g.sink.active, Planted: planted}, nil
}

func pickTrack(rng *rand.Rand, typeIdx int) track {
	var sum float64
	for _, t := range tracks {
		sum += t.share[typeIdx]
	}
	x := rng.Float64() * sum
	for _, t := range tracks {
		if x -= t.share[typeIdx]; x < 0 {
			return t
		}
	}
	return tracks[0]
}

// Planted anomalies: how many of each kind the demo hides for the data
// comparison to find.
var Planted = map[string]int{
	student.FindNearDuplicate: 12, // pairs
	student.FindImpossibleAge: 8,
	student.FindInvalidID:     5,
	student.FindOverdue:       10,
	student.FindGhost:         15,
	student.FindOverCapacity:  3,
}

// termRegistration is the last term registration (学期注册) in the data.
var termRegistration = time.Date(2025, 9, 5, 9, 0, 0, 0, time.UTC)

// activate makes a planted student active and seen at the last term registration.
func activate(s *student.Student) *student.Student {
	s.Status, s.LeftDate, s.LastActivity, s.UpdatedAt = student.StatusEnrolled, "", termRegistration, termRegistration
	return s
}

// reidentify gives s another valid resident ID for a new birth date.
func (g *studentGen) reidentify(s *student.Student, area *school.School, birth time.Time) {
	number := g.identity(area, birth, s.Sex)
	s.BirthDate = birth.Format("2006-01-02")
	s.IDSealed, s.IDBlind, s.IDMasked = g.protect.Seal([]byte(number), []byte(student.ResidentID)), g.protect.BlindIndex(student.ResidentID+":"+number), pii.MaskNumber(number)
}

// plant adds the known anomalies among active students and returns the
// student numbers planted per kind (schools for over_capacity are chosen
// when capacities are set).
func (g *studentGen) plant(schools []*school.School) (map[string][]string, error) {
	planted := map[string][]string{}
	pick := func() *school.School { return schools[g.rng.IntN(len(schools))] }
	enrolled := time.Date(2024, 9, 2, 0, 0, 0, 0, time.UTC)
	mid := tracks[0]
	add := func(kind string, ss ...*student.Student) error {
		for _, s := range ss {
			planted[kind] = append(planted[kind], s.StudentNo)
			if err := g.sink.add(s); err != nil {
				return err
			}
		}
		return nil
	}
	for range Planted[student.FindNearDuplicate] {
		a := activate(g.person(pick(), mid, student.ModeFullTime, enrolled))
		b := activate(g.person(pick(), mid, student.ModeFullTime, enrolled))
		birth, _ := time.Parse("2006-01-02", a.BirthDate)
		b.Name, b.Sex = a.Name, a.Sex
		g.reidentify(b, schools[0], birth) // same particulars, another ID number
		if err := add(student.FindNearDuplicate, a, b); err != nil {
			return nil, err
		}
	}
	for range Planted[student.FindImpossibleAge] {
		s := activate(g.person(pick(), mid, student.ModeFullTime, enrolled))
		g.reidentify(s, schools[0], enrolled.AddDate(-9, -3, 0)) // nine years old at enrollment
		if err := add(student.FindImpossibleAge, s); err != nil {
			return nil, err
		}
	}
	for i := range Planted[student.FindInvalidID] {
		s := activate(g.person(pick(), mid, student.ModeFullTime, enrolled))
		first17 := fmt.Sprintf("37010220070101%03d", 100+i)
		wrong := byte('0')
		if idcard.CheckDigit(first17) == '0' {
			wrong = '1'
		}
		number := first17 + string(wrong) // a check digit that does not fit, as legacy imports left
		s.IDSealed, s.IDBlind, s.IDMasked = g.protect.Seal([]byte(number), []byte(student.ResidentID)), g.protect.BlindIndex(student.ResidentID+":"+number), pii.MaskNumber(number)
		if err := add(student.FindInvalidID, s); err != nil {
			return nil, err
		}
	}
	for range Planted[student.FindOverdue] {
		s := activate(g.person(pick(), mid, student.ModeFullTime, time.Date(2019, 9, 2, 0, 0, 0, 0, time.UTC)))
		if err := add(student.FindOverdue, s); err != nil {
			return nil, err
		}
	}
	for range Planted[student.FindGhost] {
		s := activate(g.person(pick(), mid, student.ModeFullTime, enrolled))
		s.LastActivity = enrolled.Add(9 * time.Hour) // never seen again after registration
		if err := add(student.FindGhost, s); err != nil {
			return nil, err
		}
	}
	return planted, nil
}

// setCapacities gives every school an approved size (核定办学规模) with room
// to spare, except the planted few whose students exceed it.
func (g *studentGen) setCapacities(ctx context.Context, db *store.DB, schools []*school.School) ([]string, error) {
	capacity := map[string]int{}
	var over []string
	for _, i := range g.rng.Perm(len(schools)) {
		s := schools[i]
		n := g.sink.bySchool[s.Code]
		if len(over) < Planted[student.FindOverCapacity] && n >= 200 {
			capacity[s.Code] = n * 7 / 10
			over = append(over, s.Code)
			continue
		}
		capacity[s.Code] = (n*13/10/100 + 1) * 100
	}
	return over, db.SetSchoolCapacities(ctx, capacity)
}
