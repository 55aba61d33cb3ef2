package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/i18n"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
)

//go:embed templates
var templateFS embed.FS

// pages holds every page template, each parsed once with the layout.
type pages struct {
	byName map[string]*template.Template
}

var shanghai = time.FixedZone("CST", 8*3600)

func parsePages(a *assets) (*pages, error) {
	funcs := template.FuncMap{
		"asset": a.url,
		"t":     i18n.T,
		"roleLabel": func(r auth.Role) string {
			return r.Label()
		},
		"fmtTime": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(shanghai).Format("2006-01-02 15:04")
		},
		"certStatus":   cert.StatusName,
		"filingKind":   school.KindName,
		"filingState":  school.FilingStateName,
		"filingAction": school.ActionName,
		"division": func(code string) string {
			if d, ok := refdata.LookupDivision(code); ok {
				return d.Name
			}
			return code
		},
		// slotLabel names an approval slot of a change request
		// ("city:370100", "province") in Chinese.
		"slotLabel": func(slot string) string {
			if code, ok := strings.CutPrefix(slot, "city:"); ok {
				if d, ok := refdata.LookupDivision(code); ok {
					code = d.Name
				}
				return "市级（" + code + "）"
			}
			if slot == "province" {
				return "省级"
			}
			return slot
		},
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimPrefix(f, "templates/")
		if name == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// view is the data every page gets.
type view struct {
	Title string
	Nav   string // which menu entry is current
	User  *auth.Principal
	CSRF  string
	Data  any
}

func newView(c *reqCtx, title, nav string, data any) view {
	v := view{Title: title, Nav: nav, Data: data}
	if c != nil {
		v.User = &c.P
		if c.Session != nil {
			v.CSRF = c.Session.CSRFToken
		}
	}
	return v
}

// render writes the page name, or only its named block for htmx requests
// that ask for one (hx-target matches the block's element).
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) error {
	t, ok := s.pages.byName[name]
	if !ok {
		return apperr.Internalf("web: no page %q", name)
	}
	exec := "layout"
	if block := r.Header.Get("HX-Target"); block != "" && r.Header.Get("HX-Request") == "true" && t.Lookup(block) != nil {
		exec = block
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, exec, v); err != nil {
		return apperr.Internalf("web: render %s: %w", name, err)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// renderError shows an error page (or, for htmx, the message alone).
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, e *apperr.Error) {
	v := view{Title: "出错了", Data: e.Message()}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		if sess, u, err := s.Auth.Session(r.Context(), ck.Value); err == nil {
			v = newView(&reqCtx{P: u.Principal(), Session: sess}, "出错了", "", e.Message())
		}
	}
	if r.Header.Get("HX-Request") == "true" {
		r.Header.Set("HX-Target", "error-message")
	}
	if err := s.render(w, r, status, "error.html", v); err != nil {
		http.Error(w, e.Message(), status)
	}
}
