package web

// Exports of the registry's lists as .xlsx: every row matching a list's
// filter (not one page), as the caller sees them on the list pages —
// within the caller's scope, document numbers masked — read from the same
// services a page at a time and streamed. Each export is audited (who,
// which filter, how many rows) before the first byte leaves.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"time"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// handleStudentExport is GET /students.xlsx and
// GET /api/v1/students/export.xlsx, with the filters of GET /students.
func (s *Server) handleStudentExport(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := studentFilter(exportQuery(r.URL.Query()))
	if err != nil {
		return err
	}
	list := func(ctx context.Context, f student.Filter) ([]*student.Student, int, error) {
		return s.Students.List(ctx, c.P, f)
	}
	entry := audit.Entry{Actor: c.P.Name, Action: "export.students", Entity: "student", EntityID: exportScope(c.P)}
	return s.streamExport(w, r, "学籍", "students", entry, transfer.StudentFilterFields(f), func(out io.Writer, ready func(int) error) (int, error) {
		return transfer.ExportStudents(r.Context(), out, list, f, ready)
	})
}

// handleSchoolExport is GET /schools.xlsx and
// GET /api/v1/schools/export.xlsx, with the filters of GET /schools.
func (s *Server) handleSchoolExport(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := schoolFilter(exportQuery(r.URL.Query()))
	if err != nil {
		return err
	}
	list := func(ctx context.Context, f school.Filter) ([]*school.School, int, error) {
		return s.Schools.List(ctx, c.P, f)
	}
	entry := audit.Entry{Actor: c.P.Name, Action: "export.schools", Entity: "school", EntityID: exportScope(c.P)}
	return s.streamExport(w, r, "学校", "schools", entry, transfer.SchoolFilterFields(f), func(out io.Writer, ready func(int) error) (int, error) {
		return transfer.ExportSchools(r.Context(), out, list, f, ready)
	})
}

// exportQuery is a list query without its page: an export takes them all.
func exportQuery(q url.Values) url.Values {
	q = maps.Clone(q)
	q.Del("limit")
	q.Del("cursor")
	return q
}

// exportScope names what the caller may see, for the audit record.
func exportScope(p auth.Principal) string {
	if p.Scope().Kind == auth.ScopeAll {
		return "all"
	}
	return p.ScopeCode
}

// streamExport runs an export into the response. The export audits
// itself through ready (entry with the filter and the row count) once all
// rows are gathered; until the first byte is written nothing is sent, so
// an error up to then is answered as usual. The headers go out with the
// first byte: the file is named name-YYYY-MM-DD.xlsx (China time), with
// gongjiang-kind-YYYY-MM-DD.xlsx for clients that cannot read RFC 5987.
func (s *Server) streamExport(w http.ResponseWriter, r *http.Request, name, kind string, entry audit.Entry, filter map[string]string,
	run func(out io.Writer, ready func(rows int) error) (int, error)) error {
	day := s.Now().In(shanghai).Format(time.DateOnly)
	out := &exportWriter{w: w, disposition: fmt.Sprintf(`attachment; filename="gongjiang-%s-%s.xlsx"; filename*=UTF-8''%s`,
		kind, day, rfc5987(name+"-"+day+".xlsx"))}
	ready := func(rows int) error {
		entry.Data = map[string]any{"filter": filter, "rows": rows}
		return s.DB.RecordAudit(r.Context(), entry)
	}
	rows, err := run(out, ready)
	if err != nil {
		if out.started {
			// The file is cut short: end the response without its last
			// chunk, so that the client sees a failed download rather
			// than a complete-looking file.
			s.logInternal(r, fmt.Errorf("web: export %s after %d bytes: %w", kind, out.n, err))
			panic(http.ErrAbortHandler)
		}
		return err
	}
	addLogAttrs(r, slog.String("export", kind), slog.Int("export_rows", rows), slog.Int64("export_bytes", out.n))
	return nil
}

// exportWriter sends the export's headers with its first byte.
type exportWriter struct {
	w           http.ResponseWriter
	disposition string
	started     bool
	n           int64
}

func (e *exportWriter) Write(p []byte) (int, error) {
	if !e.started {
		e.started = true
		h := e.w.Header()
		h.Set("Content-Type", xlsxType)
		h.Set("Content-Disposition", e.disposition)
		h.Set("Cache-Control", "no-store") // personal data
		e.w.WriteHeader(http.StatusOK)
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	return n, err
}

// ExportURL is the .xlsx of the list with the filter shown.
func (d studentListData) ExportURL() string {
	return exportURL("/students.xlsx", transfer.StudentFilterFields(d.Filter))
}

// ExportURL is the .xlsx of the list with the filter shown.
func (d schoolListData) ExportURL() string {
	return exportURL("/schools.xlsx", transfer.SchoolFilterFields(d.Filter))
}

func exportURL(path string, fields map[string]string) string {
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, x)
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}
