// Package demo generates deterministic synthetic data calibrated to the
// published figures of Shandong's and the nation's technical schools, so a
// fresh instance shows a populated province. It writes through the store's
// bulk paths, not row by row.
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
)

// Scale names a size of demo data.
type Scale string

const (
	Small    Scale = "small"    // 4 Shandong cities, 24 schools: for tests
	Province Scale = "province" // Shandong 2020: 181 schools (45/32/104)
	National Scale = "national" // 2020: 2,423 schools, 496 技师学院
)

// ParseScale validates a scale name.
func ParseScale(s string) (Scale, error) {
	switch Scale(s) {
	case Small, Province, National:
		return Scale(s), nil
	}
	return "", fmt.Errorf("未知的规模 %q（可选 small、province、national）", s)
}

// Password is the password of every demo account. It is printed, so demo
// data must never be loaded into a production database.
const Password = "gongjiang-demo"

// Demo account names.
const (
	ProvinceUser = "province"
	AuditorUser  = "auditor"
)

// CityUser and SchoolUser name the demo accounts of a city and a school.
func CityUser(cityCode string) string     { return "city-" + cityCode }
func SchoolUser(schoolCode string) string { return "school-" + schoolCode }

// Counts of schools by type, lowest level first as in school.Types.
type typeCounts [3]int

var (
	// Shandong at the end of 2020: 104 技工学校, 32 高级技工学校, 45 技师学院.
	shandong2020 = typeCounts{104, 32, 45}
	// The nation at the end of 2020: 2,423 schools of which 496 技师学院; the
	// split of the rest follows Shandong's ratio (no national figure found).
	nation2020  = typeCounts{1474, 453, 496}
	smallSet    = typeCounts{12, 6, 6}
	smallCities = []string{"370100", "370200", "370700", "371000"}
)

// Summary says what was generated.
type Summary struct {
	Schools, Users int
	ByType         map[string]int
	Students       StudentSummary
	Filings        FilingSummary
	Elapsed        time.Duration
}

// intakeFactor scales Shandong's intake to a scale: the nation had about
// 9.9 times Shandong's students in 2020; the small set is for tests.
var intakeFactor = map[Scale]float64{Small: 0.003, Province: 1, National: 9.9}

// Generate fills db (which must hold no schools) with demo data. Identity
// numbers are sealed with protect, as registration would.
func Generate(ctx context.Context, db *store.DB, protect pii.Protector, scale Scale, seed uint64) (Summary, error) {
	return generate(ctx, db, protect, scale, seed, true)
}

// GenerateSchools makes only the schools and accounts of a scale (tests of
// the school registry need no millions of students).
func GenerateSchools(ctx context.Context, db *store.DB, scale Scale, seed uint64) (Summary, error) {
	return generate(ctx, db, nil, scale, seed, false)
}

func generate(ctx context.Context, db *store.DB, protect pii.Protector, scale Scale, seed uint64, withStudents bool) (Summary, error) {
	start := time.Now()
	g := &generator{rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), names: map[string]bool{}, now: time.Date(2025, 9, 1, 8, 0, 0, 0, time.UTC)}
	switch scale {
	case Small:
		g.placeProvince(refdata.ShandongCode, smallSet, smallCities)
	case Province:
		g.placeProvince(refdata.ShandongCode, shandong2020, nil)
	case National:
		g.placeProvince(refdata.ShandongCode, shandong2020, nil)
		rest := typeCounts{nation2020[0] - shandong2020[0], nation2020[1] - shandong2020[1], nation2020[2] - shandong2020[2]}
		var others []refdata.Division
		for _, p := range refdata.Provinces() {
			if p.Code != refdata.ShandongCode {
				others = append(others, p)
			}
		}
		perType := make([][]int, 3)
		for t := range rest {
			perType[t] = apportion(rest[t], weights(others))
		}
		for i, p := range others {
			g.placeProvince(p.Code, typeCounts{perType[0][i], perType[1][i], perType[2][i]}, nil)
		}
	default:
		return Summary{}, fmt.Errorf("demo: unknown scale %q", scale)
	}
	users := g.users()
	sum := Summary{Schools: len(g.schools), Users: len(users), ByType: map[string]int{}}
	for _, s := range g.schools {
		sum.ByType[s.Type]++
	}
	err := db.LoadSchoolsAndUsers(ctx, g.schools, users, audit.Entry{Actor: "system", Action: "demo.load", Entity: "demo", EntityID: string(scale),
		Data: map[string]any{"scale": scale, "seed": seed, "schools": len(g.schools), "users": len(users)}})
	if err != nil || !withStudents {
		sum.Elapsed = time.Since(start)
		return sum, err
	}
	sum.Students, err = generateStudents(ctx, db, protect, g.rng, g.schools, intakeFactor[scale])
	if err != nil {
		return sum, err
	}
	if sum.Students.Changes, err = seedChanges(ctx, db, protect, g.schools); err != nil {
		return sum, err
	}
	if sum.Filings, err = seedFilings(ctx, db, g.rng, g.schools); err != nil {
		return sum, err
	}
	// The plan indicators' facts, counted from the records just loaded.
	if _, err = db.RebuildFacts(ctx, true); err != nil {
		return sum, err
	}
	err = db.RecordAudit(ctx, audit.Entry{Actor: "system", Action: "demo.students", Entity: "demo", EntityID: string(scale),
		Data: map[string]any{"records": sum.Students.Records, "active": sum.Students.Active, "planted": sum.Students.Planted}})
	sum.Elapsed = time.Since(start)
	return sum, err
}

type generator struct {
	rng     *rand.Rand
	schools []*school.School
	names   map[string]bool
	now     time.Time
}

// weights are the divisions' census populations (1 where unknown).
func weights(ds []refdata.Division) []float64 {
	w := make([]float64, len(ds))
	for i, d := range ds {
		w[i] = float64(max(refdata.Population(d.Code), 1))
	}
	return w
}

// apportion splits n over weights by the largest-remainder method, so the
// parts sum to n exactly and follow the weights as closely as whole numbers can.
func apportion(n int, w []float64) []int {
	var total float64
	for _, x := range w {
		total += x
	}
	out := make([]int, len(w))
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(w))
	given := 0
	for i, x := range w {
		exact := float64(n) * x / total
		out[i] = int(exact)
		given += out[i]
		rems[i] = rem{i, exact - float64(out[i])}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
	for k := 0; given < n; k++ {
		out[rems[k%len(rems)].i]++
		given++
	}
	return out
}

// placeProvince spreads counts of schools over the province's cities in
// proportion to population (only the given cities, if any).
func (g *generator) placeProvince(provinceCode string, counts typeCounts, only []string) {
	cities := refdata.Cities(provinceCode)
	if only != nil {
		keep := map[string]bool{}
		for _, c := range only {
			keep[c] = true
		}
		var sel []refdata.Division
		for _, c := range cities {
			if keep[c.Code] {
				sel = append(sel, c)
			}
		}
		cities = sel
	}
	w := weights(cities)
	if provinceCode != refdata.ShandongCode {
		// No city populations outside Shandong: favour the capital (xx01).
		for i, c := range cities {
			w[i] = 1
			if c.Code[2:4] == "01" {
				w[i] = 3
			}
		}
	}
	seq := map[string]int{}
	for t := len(school.Types) - 1; t >= 0; t-- { // 技师学院 first: they get the plain names
		for i, n := range apportion(counts[t], w) {
			for range n {
				g.addSchool(cities[i], school.Types[t], seq)
			}
		}
	}
}

var fields = []string{"机电", "交通", "工程", "电子信息", "建筑", "化工", "轻工", "商贸", "工业", "汽车", "城市建设", "劳动", "技术",
	"铁路", "能源", "纺织", "农业", "医药健康", "旅游", "现代服务", "智能制造", "数字经济", "航空", "海洋", "经贸", "水利", "冶金", "装备制造"}

func (g *generator) addSchool(city refdata.Division, typ string, seq map[string]int) {
	seq[city.Code]++
	code := fmt.Sprintf("%s%03d", city.Code[:4], seq[city.Code])
	division := city
	if counties := refdata.Counties(city.Code); len(counties) > 0 {
		division = pickCounty(g.rng, counties)
	}
	cityName := city.Name
	if cityName == "市辖区" || cityName == "县" {
		prov, _ := refdata.ProvinceOf(city.Code)
		cityName = prov.Name
	}
	name := ""
	for try := 0; name == "" || g.names[name]; try++ {
		prefix := cityName
		if try > 3 && division.Code != city.Code {
			prefix = cityName + strings.TrimSuffix(strings.TrimSuffix(division.Name, "区"), "县")
		}
		name = prefix + fields[g.rng.IntN(len(fields))] + typ
		if try > 8 {
			name = fmt.Sprintf("%s第%s%s", cityName, chineseOrdinal(try-7), typ)
		}
	}
	g.names[name] = true
	s := &school.School{
		Code: code, Name: name, Type: typ, Ownership: g.ownership(), DivisionCode: division.Code,
		Status: school.StatusOperating, Address: fmt.Sprintf("%s%s%s路%d号", cityName, division.Name, fields[g.rng.IntN(len(fields))], 1+g.rng.IntN(999)),
		CreatedAt: g.now, UpdatedAt: g.now, Version: 1,
	}
	s.NationalKey = typ != "技工学校" && g.rng.Float64() < 0.35
	if r := g.rng.Float64(); r < 0.03 {
		s.Status = school.StatusSuspended
	}
	if err := school.Validate(s); err != nil {
		panic(fmt.Sprintf("demo: generated an invalid school %+v: %v", s, err)) // a bug in the generator
	}
	g.schools = append(g.schools, s)
}

// pickCounty favours urban districts, where most schools stand.
func pickCounty(rng *rand.Rand, counties []refdata.Division) refdata.Division {
	w := make([]float64, len(counties))
	var total float64
	for i, c := range counties {
		w[i] = 1
		if c.Type == "市辖区" {
			w[i] = 2.5
		}
		total += w[i]
	}
	x := rng.Float64() * total
	for i, c := range counties {
		if x -= w[i]; x < 0 {
			return c
		}
	}
	return counties[len(counties)-1]
}

func (g *generator) ownership() string {
	switch r := g.rng.Float64(); {
	case r < 0.72:
		return "公办"
	case r < 0.93:
		return "民办"
	default:
		return "企业(行业)办"
	}
}

func chineseOrdinal(n int) string {
	digits := []string{"零", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十"}
	if n <= 10 {
		return digits[n]
	}
	return fmt.Sprint(n)
}

// users makes the accounts: the province, an auditor, each city and each
// school. One password hash serves them all: argon2id for thousands of
// accounts would take minutes and they share the printed password anyway.
func (g *generator) users() []*auth.User {
	hash := auth.HashPassword(Password)
	mk := func(name, display string, role auth.Role, scope string) *auth.User {
		return &auth.User{Name: name, DisplayName: display, Role: role, Scope: scope, PasswordHash: hash, CreatedAt: g.now}
	}
	out := []*auth.User{mk(ProvinceUser, "省人社厅职业能力建设处", auth.RoleProvince, ""), mk(AuditorUser, "审计员", auth.RoleAuditor, "")}
	seen := map[string]bool{}
	for _, s := range g.schools {
		if !seen[s.CityCode] {
			seen[s.CityCode] = true
			cityName := s.CityName
			if prov, _ := refdata.ProvinceOf(s.CityCode); cityName == "市辖区" || cityName == "县" {
				cityName = prov.Name
			}
			out = append(out, mk(CityUser(s.CityCode), cityName+"人社局", auth.RoleCity, s.CityCode))
		}
	}
	for _, s := range g.schools {
		out = append(out, mk(SchoolUser(s.Code), s.Name, auth.RoleSchool, s.Code))
	}
	return out
}
