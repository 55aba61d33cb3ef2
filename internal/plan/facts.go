// Package plan holds the plans (规划) as data: their indicators, targets
// and milestones, how each indicator is measured from the records or
// reported by a named unit, and how progress is judged.
package plan

// SchoolYear is what the records say about one school in one calendar
// year: the facts every computed indicator is aggregated from. Sums over
// any set of schools are sums of these rows; ratios are computed from
// those sums, never averaged.
type SchoolYear struct {
	School      string `json:"school"`       // school code
	City        string `json:"city"`         // city division code
	Type        string `json:"type"`         // 技工学校 / 高级技工学校 / 技师学院 (the school's type now)
	NationalKey bool   `json:"national_key"` // 国家级重点 (now)
	Quality     bool   `json:"quality"`      // 省级优质 (now)
	Year        int    `json:"year"`
	// Intake is the students whose enrollment date falls in Year.
	Intake int `json:"intake"`
	// Enrolled is the students in school on 31 December of Year: enrolled
	// on or before that day and not left (graduated, withdrawn …) by it.
	Enrolled int `json:"enrolled"`
	// EnrolledSenior is those of Enrolled in 高级工班 or 预备技师班.
	EnrolledSenior int `json:"enrolled_senior"`
}
