package web

// The public disclosure portal (招生资质公示): what the province has
// published — a year's enrollment plans and the off-campus sites and joint
// programs in force today — for anyone, without login, as pages and as an
// .xlsx workbook. It reads FilingService.Published only, so a filing still
// in review, approved but not yet published, rejected or out of its term
// never reaches it.
//
// The public pages are the busiest and what they show changes a few times
// a year, so the computed listing of a year is kept in memory for
// portalTTL (a few years at most) and the answers carry
// Cache-Control: public and an ETag. Nothing here depends on who asks: the
// pages are rendered without a user, so a shared cache may keep them.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
)

// Limits and lifetimes of the portal.
const (
	portalPerPage    = 50
	portalMaxPerPage = 200  // ?per_page= up to this (a whole province fits)
	portalMaxPage    = 1000 // beyond this a page number is a mistake
	portalMaxText    = 50   // characters of ?q= and ?major=
	portalTTL        = 30 * time.Second
	portalCacheYears = 4 // listings of at most this many years are kept
	portalBuildLimit = 30 * time.Second
	portalWorkbooks  = 16 // workbooks kept per listing (filters asked most)
	portalCacheCtl   = "public, max-age=300"
	xlsxType         = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// portal serves the disclosure pages; it keeps its cache beside the
// server (routes.go makes one per server).
type portal struct {
	s       *Server
	release string // what changes the pages' markup: version, templates, assets

	mu      sync.Mutex
	entries map[int]*portalEntry
}

// WarmPublic builds the portal's listing of the current year if it is
// missing or stale, so that no visitor waits for it: serve's jobs call it
// every minute.
func (s *Server) WarmPublic(ctx context.Context) error {
	_, err := s.portal.listing(ctx, s.currentFilingYear())
	return err
}

// forget drops every cached listing: a publication on this node shows on
// its next request (other nodes catch up within their refresh interval).
func (p *portal) forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	clear(p.entries)
}

func (s *Server) newPortal() *portal {
	return &portal{s: s, release: releaseDigest(s.Version, s.assets), entries: map[int]*portalEntry{}}
}

// releaseDigest names a release's markup, so that an ETag changes when an
// upgrade changes the pages even if the data did not.
func releaseDigest(version string, a *assets) string {
	h := sha256.New()
	h.Write([]byte(version))
	fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := templateFS.ReadFile(p)
			fmt.Fprintf(h, "\x00%s\x00%d\x00", p, len(b))
			h.Write(b)
		}
		return nil
	})
	if a != nil {
		for _, u := range slices.Sorted(maps.Keys(a.byURL)) {
			fmt.Fprintf(h, "\x00%s", u)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// portalEntry is a year's listing, being built until done is closed.
type portalEntry struct {
	done       chan struct{}
	built      time.Time // when its build started
	day        string    // the day whose sites and joint programs it holds
	listing    *portalListing
	err        error
	refreshing bool // a newer listing is being built (under portal.mu)
}

// portalRow is one published filing as the public sees it.
type portalRow struct {
	Kind       string
	SchoolCode string
	SchoolName string
	SchoolType string
	CityCode   string
	CityName   string
	Majors     []string
	MajorsText string // the majors, comma-separated
	Published  string // YYYY-MM-DD (China time)
	// Plan.
	Lines     []school.PlanLine
	Intake    int
	Statement string
	// Site.
	SiteName string
	Address  string
	Capacity int
	// Joint program.
	Partners         []string
	PartnersText     string
	Responsibilities string
	// Term of a site or joint program.
	ValidFrom, ValidTo string
}

// portalCity is a city that appears in a listing.
type portalCity struct{ Code, Name string }

// portalListing is everything published for a year, as of a day.
type portalListing struct {
	Year   int
	Day    string
	Plans  []*portalRow // one per school, by city and school code
	Sites  []*portalRow
	Joints []*portalRow
	Cities []portalCity
	Majors []string
	tag    string // what the ETags of this listing start from

	mu        sync.Mutex
	workbooks map[string][]byte // by filter: an .xlsx costs far more than a page
}

// listing returns the year's listing. The first request for a year
// computes it and concurrent ones wait for that. After portalTTL (or at
// midnight, when sites and joint programs come into force or expire) the
// next request has a newer one built in the background and, like those
// that follow until it is ready, gets the listing there was: under steady
// traffic no request waits for the database and none sees a listing older
// than twice portalTTL. After a quiet spell longer than that, the first
// request waits for a new listing again.
func (p *portal) listing(ctx context.Context, year int) (*portalListing, error) {
	now := time.Now()
	day := p.s.Filings.Now().In(shanghai).Format(time.DateOnly)
	p.mu.Lock()
	e := p.entries[year]
	if e == nil || e.finished() && (e.err != nil || now.Sub(e.built) >= 2*portalTTL) {
		e = p.startLocked(year, now, day)
		p.mu.Unlock()
		p.build(ctx, year, e)
		return e.listing, e.err
	}
	if e.finished() && (now.Sub(e.built) >= portalTTL || e.day != day) && !e.refreshing {
		e.refreshing = true
		next := &portalEntry{done: make(chan struct{}), built: now, day: day}
		go func() {
			p.build(ctx, year, next)
			p.mu.Lock()
			defer p.mu.Unlock()
			e.refreshing = false
			if next.err == nil && p.entries[year] == e {
				p.entries[year] = next
			}
		}()
	}
	p.mu.Unlock()
	select {
	case <-e.done:
		return e.listing, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (e *portalEntry) finished() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// startLocked puts a new entry for year in the cache, making room.
func (p *portal) startLocked(year int, now time.Time, day string) *portalEntry {
	e := &portalEntry{done: make(chan struct{}), built: now, day: day}
	delete(p.entries, year)
	p.trimLocked(portalCacheYears - 1)
	p.entries[year] = e
	return e
}

// build computes e's listing and lets its waiters go; a panic becomes
// the listing's error (a refresh runs on a goroutine of its own). It
// outlives the request that started it: others may be waiting.
func (p *portal) build(ctx context.Context, year int, e *portalEntry) {
	defer func() {
		if v := recover(); v != nil {
			e.listing, e.err = nil, apperr.Internalf("web: portal listing of %d: panic: %v", year, v)
		}
		close(e.done)
		p.mu.Lock()
		p.trimLocked(portalCacheYears) // builds of many years at once may have overfilled it
		p.mu.Unlock()
	}()
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), portalBuildLimit)
	defer cancel()
	filings, err := p.s.Filings.Published(bctx, year)
	if err != nil {
		e.err = err
		return
	}
	e.listing, e.err = newPortalListing(year, e.day, p.release, filings), nil
}

// trimLocked drops the oldest finished entries until at most n are left
// (entries being built stay: their requests wait for them).
func (p *portal) trimLocked(n int) {
	for len(p.entries) > n {
		oldest := -1
		for y, e := range p.entries {
			if e.finished() && (oldest < 0 || e.built.Before(p.entries[oldest].built)) {
				oldest = y
			}
		}
		if oldest < 0 {
			return
		}
		delete(p.entries, oldest)
	}
}

// newPortalListing turns published filings into the portal's rows. Its
// tag digests the release, the year, the day and every filing shown with
// its last change.
func newPortalListing(year int, day, release string, filings []*school.Filing) *portalListing {
	l := &portalListing{Year: year, Day: day, workbooks: map[string][]byte{}}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%d|%s", release, year, day)
	cities := map[string]bool{}
	majors := map[string]bool{}
	for _, f := range filings {
		if f.State != school.FilingPublished { // the store's promise, kept here too
			continue
		}
		fmt.Fprintf(h, "|%d@%d", f.ID, f.UpdatedAt.UnixMicro())
		row := &portalRow{Kind: f.Kind, SchoolCode: f.SchoolCode, SchoolName: f.SchoolName, SchoolType: f.SchoolType, CityCode: f.CityCode,
			CityName: divisionName(f.CityCode), Majors: f.Majors(), Published: publishedOn(f)}
		row.MajorsText = strings.Join(row.Majors, "、")
		for _, m := range row.Majors {
			majors[m] = true
		}
		cities[f.CityCode] = true
		switch f.Kind {
		case school.KindPlan:
			row.Lines, row.Intake, row.Statement = f.Lines, f.Intake(), f.Statement
			l.Plans = append(l.Plans, row)
		case school.KindSite:
			if f.Site == nil {
				continue
			}
			row.SiteName, row.Address, row.Capacity = f.Site.Name, f.Site.Address, f.Site.Capacity
			row.ValidFrom, row.ValidTo = f.ValidFrom, f.ValidTo
			l.Sites = append(l.Sites, row)
		case school.KindJoint:
			if f.Joint == nil {
				continue
			}
			row.Partners, row.Responsibilities = f.Joint.Partners, f.Joint.Responsibilities
			row.PartnersText = strings.Join(f.Joint.Partners, "；")
			row.ValidFrom, row.ValidTo = f.ValidFrom, f.ValidTo
			l.Joints = append(l.Joints, row)
		}
	}
	for code := range cities {
		l.Cities = append(l.Cities, portalCity{Code: code, Name: divisionName(code)})
	}
	slices.SortFunc(l.Cities, func(a, b portalCity) int { return strings.Compare(a.Code, b.Code) })
	for m := range majors {
		l.Majors = append(l.Majors, m)
	}
	slices.Sort(l.Majors)
	l.tag = hex.EncodeToString(h.Sum(nil))
	return l
}

func divisionName(code string) string {
	if d, ok := refdata.LookupDivision(code); ok {
		return d.Name
	}
	return code
}

// publishedOn is the day a filing was published: its publish event's
// when the history is loaded, else its last change (a published filing is
// locked, so that is its publication).
func publishedOn(f *school.Filing) string {
	at := f.UpdatedAt
	for _, ev := range f.Events {
		if ev.Step == school.ActPublish {
			at = ev.At
		}
	}
	if at.IsZero() {
		return ""
	}
	return at.In(shanghai).Format(time.DateOnly)
}

// portalQuery is what a listing is asked for.
type portalQuery struct {
	Year           int
	Q, City, Major string
	Page, PerPage  int
	yearSet        bool
	perSet         bool
}

// parsePortalQuery reads and checks the listing's parameters.
func parsePortalQuery(v url.Values, defaultYear int) (portalQuery, error) {
	q := portalQuery{Year: defaultYear, Page: 1, PerPage: portalPerPage}
	if s := v.Get("year"); s != "" {
		y, err := strconv.Atoi(s)
		if err != nil || y < school.MinFilingYear || y > school.MaxFilingYear {
			return q, apperr.E(apperr.Invalid, "year", "portal.year.invalid", school.MinFilingYear, school.MaxFilingYear)
		}
		q.Year, q.yearSet = y, true
	}
	if s := v.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > portalMaxPage {
			return q, apperr.E(apperr.Invalid, "page", "portal.page.invalid", portalMaxPage)
		}
		q.Page = n
	}
	if s := v.Get("per_page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > portalMaxPerPage {
			return q, apperr.E(apperr.Invalid, "per_page", "portal.per_page.invalid", portalMaxPerPage)
		}
		q.PerPage, q.perSet = n, n != portalPerPage
	}
	q.Q, q.Major = strings.TrimSpace(v.Get("q")), strings.TrimSpace(v.Get("major"))
	if utf8.RuneCountInString(q.Q) > portalMaxText || !utf8.ValidString(q.Q) {
		return q, apperr.E(apperr.Invalid, "q", "portal.q.too_long", portalMaxText)
	}
	if utf8.RuneCountInString(q.Major) > portalMaxText || !utf8.ValidString(q.Major) {
		return q, apperr.E(apperr.Invalid, "major", "portal.major.too_long", portalMaxText)
	}
	if q.City = strings.TrimSpace(v.Get("city")); q.City != "" {
		d, ok := refdata.CityOf(q.City)
		if !ok || d.Code != q.City {
			return q, apperr.E(apperr.Invalid, "city", "portal.city.unknown")
		}
	}
	return q, nil
}

// values are the query's parameters, without defaults, on page (0: none).
func (q portalQuery) values(page int) url.Values {
	v := url.Values{}
	if q.yearSet {
		v.Set("year", strconv.Itoa(q.Year))
	}
	if q.Q != "" {
		v.Set("q", q.Q)
	}
	if q.City != "" {
		v.Set("city", q.City)
	}
	if q.Major != "" {
		v.Set("major", q.Major)
	}
	if q.perSet {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v
}

// url is the address of a portal path with the query's filters.
func (q portalQuery) url(path string, page int) string {
	if s := q.values(page).Encode(); s != "" {
		return path + "?" + s
	}
	return path
}

// match reports whether row passes the query's filters.
func (q portalQuery) match(row *portalRow) bool {
	return (q.Q == "" || strings.Contains(row.SchoolName, q.Q)) && (q.City == "" || row.CityCode == q.City) &&
		(q.Major == "" || slices.Contains(row.Majors, q.Major))
}

func (q portalQuery) filter(rows []*portalRow) []*portalRow {
	var out []*portalRow
	for _, r := range rows {
		if q.match(r) {
			out = append(out, r)
		}
	}
	return out
}

// etag names one answer: the listing it comes from, what was asked and how.
func (l *portalListing) etag(kind, query string) string {
	sum := sha256.Sum256([]byte(l.tag + "|" + kind + "|" + query))
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// fresh sets the caching headers and reports whether the client's copy is
// current (then it has answered 304).
func fresh(w http.ResponseWriter, r *http.Request, etag string) bool {
	h := w.Header()
	h.Set("Cache-Control", portalCacheCtl)
	h.Set("ETag", etag)
	for _, v := range r.Header.Values("If-None-Match") {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
			if t == strings.TrimPrefix(etag, "W/") || t == "*" {
				w.WriteHeader(http.StatusNotModified)
				return true
			}
		}
	}
	return false
}

// renderPublic writes a public page: like render, but cacheable (the
// caller has set the ETag with fresh).
func (p *portal) renderPublic(w http.ResponseWriter, r *http.Request, name string, v view) {
	t, ok := p.s.pages.byName[name]
	if !ok {
		w.Header().Del("ETag")
		p.s.writeError(w, r, apperr.Internalf("web: no page %q", name))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", v); err != nil {
		w.Header().Del("ETag") // the error page is not the page
		p.s.writeError(w, r, apperr.Internalf("web: render %s: %w", name, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// portalListData is the listing page.
type portalListData struct {
	Query       portalQuery
	Listing     *portalListing
	Items       []*portalRow
	Total       int
	First, Last int // the rows shown, 1-based
	Page, Pages int
	PrevURL     string
	NextURL     string
	XLSXURL     string
	Sites       []*portalRow
	Joints      []*portalRow
	// SchoolQuery keeps the year on the links to schools ("" or "?year=…").
	SchoolQuery string
	// PerPage is the page size asked for, when not the default.
	PerPage int
}

// handleList is the listing: GET /public/qualifications.
func (p *portal) handleList(w http.ResponseWriter, r *http.Request) {
	q, err := parsePortalQuery(r.URL.Query(), p.s.currentFilingYear())
	if err != nil {
		p.s.writeError(w, r, err)
		return
	}
	l, err := p.listing(r.Context(), q.Year)
	if err != nil {
		p.s.writeError(w, r, err)
		return
	}
	etag := l.etag("list", q.url("", q.Page))
	if fresh(w, r, etag) {
		return
	}
	plans := q.filter(l.Plans)
	d := portalListData{Query: q, Listing: l, Total: len(plans), Page: q.Page, Pages: max(1, (len(plans)+q.PerPage-1)/q.PerPage),
		Sites: q.filter(l.Sites), Joints: q.filter(l.Joints), XLSXURL: q.url("/public/qualifications.xlsx", 0)}
	if q.yearSet {
		d.SchoolQuery = "?year=" + strconv.Itoa(q.Year)
	}
	if q.perSet {
		d.PerPage = q.PerPage
	}
	if start := (q.Page - 1) * q.PerPage; start < len(plans) {
		d.Items = plans[start:min(start+q.PerPage, len(plans))]
		d.First, d.Last = start+1, start+len(d.Items)
	}
	if q.Page > 1 {
		d.PrevURL = q.url("/public/qualifications", min(q.Page-1, d.Pages))
	}
	if q.Page < d.Pages {
		d.NextURL = q.url("/public/qualifications", q.Page+1)
	}
	p.renderPublic(w, r, "portal.html", view{Title: strconv.Itoa(q.Year) + " 年招生资质公示", Data: d})
}

// portalSchoolData is one school's page.
type portalSchoolData struct {
	Year       int
	Name, Code string
	Type, City string
	Plan       *portalRow
	Sites      []*portalRow
	Joints     []*portalRow
	BackURL    string
}

// handleSchool is one school: GET /public/qualifications/{code}.
func (p *portal) handleSchool(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q, err := parsePortalQuery(url.Values{"year": v["year"]}, p.s.currentFilingYear())
	if err != nil {
		p.s.writeError(w, r, err)
		return
	}
	code := r.PathValue("code")
	l, err := p.listing(r.Context(), q.Year)
	if err != nil {
		p.s.writeError(w, r, err)
		return
	}
	d := portalSchoolData{Year: q.Year, Code: code, BackURL: q.url("/public/qualifications", 0)}
	bySchool := func(rows []*portalRow) []*portalRow {
		var out []*portalRow
		for _, row := range rows {
			if row.SchoolCode == code {
				out = append(out, row)
			}
		}
		return out
	}
	if plans := bySchool(l.Plans); len(plans) > 0 {
		d.Plan = plans[0]
	}
	d.Sites, d.Joints = bySchool(l.Sites), bySchool(l.Joints)
	var first *portalRow
	for _, rows := range [][]*portalRow{{d.Plan}, d.Sites, d.Joints} {
		if len(rows) > 0 && rows[0] != nil {
			first = rows[0]
			break
		}
	}
	if first == nil {
		p.s.writeError(w, r, apperr.E(apperr.NotFound, "", "portal.school.not_found", q.Year))
		return
	}
	d.Name, d.Type, d.City = first.SchoolName, first.SchoolType, first.CityName
	etag := l.etag("school:"+code, q.url("", 0))
	if fresh(w, r, etag) {
		return
	}
	p.renderPublic(w, r, "portal_school.html", view{Title: d.Name + " · 招生资质公示", Data: d})
}

// handleXLSX is the listing as a workbook: GET /public/qualifications.xlsx.
// With a major chosen, the plan sheet has that major's lines only.
func (p *portal) handleXLSX(w http.ResponseWriter, r *http.Request) {
	q, err := parsePortalQuery(r.URL.Query(), p.s.currentFilingYear())
	if err != nil {
		p.s.writeError(w, r, err)
		return
	}
	l, err := p.listing(r.Context(), q.Year)
	if err != nil {
		p.s.writeError(w, r, err)
		return
	}
	// Weak: excelize writes the parts of a workbook in no fixed order, so
	// two answers are equivalent rather than byte for byte the same.
	etag := "W/" + l.etag("xlsx", q.url("", 0))
	if fresh(w, r, etag) {
		return
	}
	b, err := l.workbook(q)
	if err != nil {
		w.Header().Del("ETag")
		w.Header().Del("Cache-Control")
		p.s.writeError(w, r, apperr.Internalf("web: portal workbook: %w", err))
		return
	}
	name := fmt.Sprintf("招生资质公示-%d.xlsx", q.Year)
	h := w.Header()
	h.Set("Content-Type", xlsxType)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="gongjiang-qualifications-%d.xlsx"; filename*=UTF-8''%s`, q.Year, rfc5987(name)))
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// workbook returns the listing filtered by q as an .xlsx, made once per
// filter while the listing lasts (for the first portalWorkbooks filters).
func (l *portalListing) workbook(q portalQuery) ([]byte, error) {
	key := strings.Join([]string{q.Q, q.City, q.Major}, "\x00")
	l.mu.Lock()
	b, ok := l.workbooks[key]
	l.mu.Unlock()
	if ok {
		return b, nil
	}
	var buf bytes.Buffer
	if err := writePortalWorkbook(&buf, q, l); err != nil {
		return nil, err
	}
	l.mu.Lock()
	if len(l.workbooks) < portalWorkbooks {
		l.workbooks[key] = buf.Bytes()
	}
	l.mu.Unlock()
	return buf.Bytes(), nil
}

// rfc5987 percent-encodes s as an ext-value (RFC 5987 attr-char kept).
func rfc5987(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("!#$&+-.^_`|~", c) >= 0:
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
	return b.String()
}

// workbook sheets and their headers.
var (
	planSheet  = []any{"学校", "类型", "城市", "专业", "培养层次", "学习形式", "计划招生"}
	siteSheet  = []any{"学校", "类型", "城市", "教学点名称", "地址", "专业", "规模（人）", "批准期限起", "批准期限止", "公示日期"}
	jointSheet = []any{"学校", "类型", "城市", "合作方", "专业", "各方职责", "批准期限起", "批准期限止", "公示日期"}
)

// writePortalWorkbook writes the filtered listing as three sheets with
// excelize's stream writer.
func writePortalWorkbook(w *bytes.Buffer, q portalQuery, l *portalListing) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	sheet := func(name string, header []any, widths []float64, rows func(add func(...any) error) error) error {
		if name == "招生计划" {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return err
		}
		for i, wd := range widths {
			if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
				return err
			}
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		if err := sw.SetRow("A1", header, excelize.RowOpts{StyleID: bold}); err != nil {
			return err
		}
		n := 1
		if err := rows(func(values ...any) error {
			n++
			cell, err := excelize.CoordinatesToCellName(1, n)
			if err != nil {
				return err
			}
			return sw.SetRow(cell, values)
		}); err != nil {
			return err
		}
		return sw.Flush()
	}
	err = sheet("招生计划", planSheet, []float64{30, 12, 10, 24, 16, 10, 10}, func(add func(...any) error) error {
		for _, row := range q.filter(l.Plans) {
			for _, line := range row.Lines {
				if q.Major != "" && line.Major != q.Major {
					continue
				}
				if err := add(row.SchoolName, row.SchoolType, row.CityName, line.Major, line.ClassLevel, line.StudyMode, line.Intake); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = sheet("校外教学点", siteSheet, []float64{30, 12, 10, 30, 40, 24, 10, 12, 12, 12}, func(add func(...any) error) error {
		for _, row := range q.filter(l.Sites) {
			if err := add(row.SchoolName, row.SchoolType, row.CityName, row.SiteName, row.Address, row.MajorsText, row.Capacity,
				row.ValidFrom, row.ValidTo, row.Published); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = sheet("联合办学", jointSheet, []float64{30, 12, 10, 40, 24, 50, 12, 12, 12}, func(add func(...any) error) error {
		for _, row := range q.filter(l.Joints) {
			if err := add(row.SchoolName, row.SchoolType, row.CityName, row.PartnersText, row.MajorsText, row.Responsibilities,
				row.ValidFrom, row.ValidTo, row.Published); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The first sheet is the active one already; SetActiveSheet would read
	// every streamed sheet back in.
	_, err = f.WriteTo(w)
	return err
}
