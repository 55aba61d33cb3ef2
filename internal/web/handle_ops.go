package web

import (
	"context"
	_ "embed"
	"net/http"
	"strconv"
	"time"

	"github.com/gongjiang/gongjiang/internal/audit"
)

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
}

// handleReadyz answers 503 while the database does not.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.DB.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "unreachable"})
		return
	}
	body := map[string]any{"status": "ready", "database": string(s.DB.Engine)}
	// A replica that is down or behind does not make the node unready:
	// public reads fall back to the primary, and the body says so.
	if rep := s.DB.Replica(); rep.Configured {
		body["replica"] = rep
		if !rep.InUse {
			body["public_reads"] = "primary (replica unavailable)"
		} else {
			body["public_reads"] = "replica"
		}
	}
	writeJSON(w, http.StatusOK, body)
}

//go:embed openapi.json
var openAPI []byte

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(openAPI)
}

type verifyResult struct {
	OK      bool
	Message string
}

const auditPageSize = 50

func (s *Server) handleAuditPage(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	events, err := s.DB.RecentAudit(r.Context(), "", "", before, auditPageSize)
	if err != nil {
		return err
	}
	var older int64
	if len(events) == auditPageSize {
		older = events[len(events)-1].Seq
	}
	return s.render(w, r, http.StatusOK, "audit.html", newView(c, "审计日志", "audit", map[string]any{
		"Events": events, "Older": older,
	}))
}

func (s *Server) handleAuditVerify(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	problem, n, err := s.DB.VerifyAudit(r.Context())
	if err != nil {
		return err
	}
	res := verifyResult{OK: problem == nil, Message: auditVerdict(problem, n)}
	return s.render(w, r, http.StatusOK, "audit.html", newView(c, "审计日志", "audit", map[string]any{"Verify": res}))
}

// auditVerdict phrases a verification result for people.
func auditVerdict(p *audit.Problem, n int64) string {
	if p == nil {
		return "完整：已校验 " + strconv.FormatInt(n, 10) + " 条记录，哈希链与签名均无误。"
	}
	return "发现篡改：" + p.Error()
}

//go:embed static/favicon.svg
var favicon []byte

// handleFavicon answers browsers' automatic request with the site icon.
func (s *Server) handleFavicon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(favicon)
}
