package web

// A plan's dashboard as an .xlsx workbook: the indicators of the year
// shown with their targets, statuses and how each value was formed; the
// trends; and what the figures are (plan, scope, year, as of when).
// Aggregates only, a few hundred cells: built in memory.

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/gongjiang/gongjiang/internal/i18n"
	"github.com/gongjiang/gongjiang/internal/plan"
)

// handlePlanExport is GET /api/v1/plans/{id}/dashboard.xlsx.
func (s *Server) handlePlanExport(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.writePlanWorkbook(w, r, c, r.PathValue("id"))
}

func (s *Server) writePlanWorkbook(w http.ResponseWriter, r *http.Request, c *reqCtx, id string) error {
	year, scope, err := planParams(r.URL.Query())
	if err != nil {
		return err
	}
	d, err := s.Plans.Dashboard(r.Context(), c.P, id, year, scope)
	if err != nil {
		return err
	}
	names, err := s.groupNames(r, c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := planWorkbook(&buf, d, names, s.Now()); err != nil {
		return fmt.Errorf("web: plan workbook: %w", err)
	}
	name := fmt.Sprintf("%s-%s-%d.xlsx", d.Plan.Name, d.Scope.Name, d.Year)
	h := w.Header()
	h.Set("Content-Type", xlsxType)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="gongjiang-plan-%s-%d.xlsx"; filename*=UTF-8''%s`, d.Plan.ID, d.Year, rfc5987(name)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

// planSheetHeader are the columns of the indicators sheet.
var planSheetHeader = []any{"序号", "指标代码", "指标", "所在章节", "数据来源", "牵头/报送单位", "学校组", "单位", "基期值", "比较", "目标值",
	"目标年份", "本年应达", "本年值", "状态", "判断依据", "填报情况", "指标定义", "计算规则", "计算过程"}

// cellValue is a value as a number cell, or empty.
func cellValue(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}

func planWorkbook(out *bytes.Buffer, d *plan.Dashboard, groupNames map[string]string, now time.Time) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	sheet := func(name string, first bool, header []any, widths []float64) (*excelize.StreamWriter, error) {
		if first {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return nil, err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return nil, err
		}
		sw, err := f.NewStreamWriter(name)
		if err != nil {
			return nil, err
		}
		for i, wd := range widths {
			if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
				return nil, err
			}
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return nil, err
		}
		return sw, sw.SetRow("A1", header, excelize.RowOpts{StyleID: bold})
	}
	row := func(sw *excelize.StreamWriter, n int, values ...any) error {
		cell, err := excelize.CoordinatesToCellName(1, n)
		if err != nil {
			return err
		}
		return sw.SetRow(cell, values)
	}

	sw, err := sheet("指标", true, planSheetHeader, []float64{6, 18, 36, 10, 14, 24, 10, 8, 10, 6, 10, 9, 10, 12, 8, 28, 16, 50, 50, 50})
	if err != nil {
		return err
	}
	for i := range d.Rows {
		r := &d.Rows[i]
		reported := ""
		if m := r.Reported; m != nil {
			reported = fmt.Sprintf("%d 份填报，%d 份待审核", m.Reports, m.Pending)
			if m.RolledUp {
				reported += "；由各地区填报值相加"
			}
		}
		if err := row(sw, i+2, i+1, r.Code, r.Name, r.Section, r.Source.Kind.Label(), r.Source.ResponsibleUnit, groupNames[r.Group], r.Unit,
			cellValue(r.Baseline), r.Comparison.Label(), cellValue(r.Target), r.DueYear, cellValue(r.Expected), cellValue(r.Value),
			string(r.Status), i18n.T(r.Basis), reported, r.Definition, r.RuleDefinition, strings.Join(explain(r), "\n")); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}

	header := []any{"指标代码", "指标", "单位"}
	var years []int
	if len(d.Rows) > 0 {
		for _, p := range d.Rows[0].Trend {
			years = append(years, p.Year)
		}
	}
	for _, y := range years {
		header = append(header, strconv.Itoa(y))
	}
	widths := []float64{18, 36, 8}
	for range years {
		widths = append(widths, 11)
	}
	sw, err = sheet("趋势", false, header, widths)
	if err != nil {
		return err
	}
	for i := range d.Rows {
		r := &d.Rows[i]
		values := []any{r.Code, r.Name, r.Unit}
		for _, p := range r.Trend {
			values = append(values, cellValue(p.Value))
		}
		if err := row(sw, i+2, values...); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}

	sw, err = sheet("说明", false, []any{"项目", "内容"}, []float64{16, 80})
	if err != nil {
		return err
	}
	asOf := "尚未汇总"
	if !d.FactsAsOf.IsZero() {
		asOf = d.FactsAsOf.In(shanghai).Format("2006-01-02 15:04")
	}
	about := [][2]string{
		{"规划", d.Plan.Name},
		{"发布单位", d.Plan.Issuer},
		{"文件", d.Plan.Document},
		{"规划期", d.Plan.PeriodLabel() + " 年（基期 " + strconv.Itoa(d.Plan.BaselineYear) + " 年）"},
		{"版本", "第 " + strconv.Itoa(d.Plan.Version) + " 版"},
		{"范围", d.Scope.Name},
		{"年份", strconv.Itoa(d.Year)},
		{"记录汇总时间", asOf},
		{"导出时间", now.In(shanghai).Format("2006-01-02 15:04")},
		{"说明", "计算指标由学籍与学校记录自动计算；填报指标为各单位填报、省级审核的数值，待审核的也计入并注明。分市、分校的范围只评估比例指标，总量目标属于规划范围整体。"},
	}
	for i, a := range about {
		if err := sw.SetRow("A"+strconv.Itoa(i+2), []any{a[0], excelize.Cell{StyleID: wrap, Value: a[1]}}); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(out)
}
