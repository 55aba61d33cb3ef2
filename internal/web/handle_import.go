package web

// Imports through the web: an upload becomes a job (transfer.Job) that
// runs in the background, on any node, and survives the browser closing.
// The page shows the job's progress (htmx polls the job block every
// half second while it runs), the dry run's summary and conflicts, and offers
// the commit; the refused rows download as .xlsx.

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/transfer"
)

// importPreview is how many refused rows the job page and the API show;
// the report has them all.
const importPreview = 100

// uploadRoute wraps a file upload, for the pages or (api) the JSON API:
// the caller is found as page or api would, but a session caller's CSRF
// token is checked by receiveUpload as the multipart body streams in —
// page and api would parse the whole body first.
func (s *Server) uploadRoute(h handler, api bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *reqCtx
		var err error
		if api && r.Header.Get("Authorization") != "" {
			c, err = s.bearerCaller(r)
		} else {
			c, err = s.sessionCaller(r)
		}
		if err == nil {
			err = h(w, r, c)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// upload is a file received with the import form, in a temporary file.
type upload struct {
	fields map[string]string
	name   string // the file's name as the browser sent it
	path   string
	size   int64
}

func (u *upload) remove() {
	if u.path != "" {
		os.Remove(u.path)
	}
}

// uploadFields are the form fields an upload may carry besides the file.
var uploadFields = map[string]bool{"csrf_token": true, "kind": true, "mode": true, "encoding": true, "dry_run": true}

// receiveUpload streams a multipart upload to a temporary file, within
// the import size limit. A session caller's CSRF token must come in the
// X-CSRF-Token header or in a csrf_token field before the file.
func receiveUpload(w http.ResponseWriter, r *http.Request, c *reqCtx) (*upload, error) {
	limit := transfer.DefaultLimits.MaxBytes
	r.Body = http.MaxBytesReader(w, r.Body, limit+1<<20) // the file, and the form around it
	// A large file over a slow line takes longer than the server's
	// default read timeout.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(30 * time.Minute))
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apperr.E(apperr.Invalid, "file", "import.upload.form")
	}
	up := &upload{fields: map[string]string{}}
	token := r.Header.Get("X-CSRF-Token")
	// A session caller must have sent its token before the file; a bearer
	// token needs none.
	checkToken := func() error {
		if c.Session == nil {
			return nil
		}
		return sameToken(token, c.Session.CSRFToken)
	}
	defer func() {
		// The body is in: the reply may take as long as the server allows
		// any reply from here, however long the upload took.
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute))
	}()
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			up.remove()
			return nil, uploadError(err)
		}
		name := part.FormName()
		if name != "file" && (!uploadFields[name] || len(up.fields) >= len(uploadFields)) {
			up.remove()
			return nil, apperr.E(apperr.Invalid, name, "import.upload.fields", name)
		}
		if name != "file" {
			v, err := io.ReadAll(io.LimitReader(part, 1024))
			if err != nil {
				up.remove()
				return nil, uploadError(err)
			}
			if name == "csrf_token" && token == "" {
				token = string(v)
			}
			up.fields[name] = string(v)
			continue
		}
		if err := checkToken(); err != nil {
			return nil, err
		}
		if up.path != "" {
			up.remove()
			return nil, apperr.E(apperr.Invalid, "file", "import.upload.one_file")
		}
		if err := up.save(part, limit); err != nil {
			up.remove()
			return nil, err
		}
	}
	if up.path == "" {
		if err := checkToken(); err != nil {
			return nil, err
		}
		return nil, apperr.E(apperr.Invalid, "file", "import.upload.no_file")
	}
	return up, nil
}

func (up *upload) save(part *multipart.Part, limit int64) error {
	up.name = cleanFileName(part.FileName())
	f, err := transfer.CreateTemp("upload-*" + strings.ToLower(filepath.Ext(up.name)))
	if err != nil {
		return apperr.Internalf("web: upload: %w", err)
	}
	up.path = f.Name()
	n, err := io.Copy(f, io.LimitReader(part, limit+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return uploadError(err)
	}
	if n > limit {
		return apperr.E(apperr.TooLarge, "file", "transfer.read.too_large_stream", humanSize(limit))
	}
	if n == 0 {
		return apperr.E(apperr.Invalid, "file", "transfer.read.empty")
	}
	up.size = n
	return nil
}

func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apperr.E(apperr.TooLarge, "file", "transfer.read.too_large_stream", humanSize(transfer.DefaultLimits.MaxBytes))
	}
	return apperr.E(apperr.Invalid, "file", "import.upload.broken")
}

func humanSize(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }

// cleanFileName keeps the base name a browser sent, as text fit to show.
func cleanFileName(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	if utf8.RuneCountInString(name) > 200 {
		name = string([]rune(name)[:200])
	}
	if name == "" || name == "." || name == "/" {
		name = "未命名"
	}
	return name
}

// ownerScope is the scope code a job created by p belongs to, and whether
// p sees every job (province, auditor).
func ownerScope(p auth.Principal) (string, bool) {
	return p.ScopeCode, p.Scope().Kind == auth.ScopeAll
}

// createImportJob checks the uploaded file can be read as the kind of
// sheet asked for (the header names the columns it needs) and stores it
// as a job, which the runner takes at once.
func (s *Server) createImportJob(r *http.Request, c *reqCtx, up *upload) (*transfer.Job, error) {
	if !c.P.CanWrite() {
		return nil, apperr.E(apperr.Forbidden, "", "import.forbidden")
	}
	kind, mode, enc := up.fields["kind"], up.fields["mode"], up.fields["encoding"]
	schema := transfer.Students
	switch kind {
	case "students":
	case "schools":
		schema = transfer.Schools
	default:
		return nil, apperr.E(apperr.Invalid, "kind", "import.kind.invalid", kind)
	}
	if mode == "" {
		mode = transfer.ModeAllOrNothing
	}
	if mode != transfer.ModeAllOrNothing && mode != transfer.ModeValidOnly {
		return nil, apperr.E(apperr.Invalid, "mode", "import.mode.invalid", mode)
	}
	phase := transfer.PhaseCheck
	if v := up.fields["dry_run"]; v == "false" || v == "0" {
		phase = transfer.PhaseCommit
	}
	t, err := transfer.Open(up.path, transfer.Options{Encoding: enc})
	if err != nil {
		return nil, err
	}
	header := t.Header()
	t.Close()
	if _, _, missing := schema.Match(header); len(missing) > 0 {
		return nil, apperr.E(apperr.Invalid, "file", "import.columns.missing", strings.Join(missing, "、"))
	}
	f, err := os.Open(up.path)
	if err != nil {
		return nil, apperr.Internalf("web: upload: %w", err)
	}
	defer f.Close()
	scope, _ := ownerScope(c.P)
	j := &transfer.Job{Kind: kind, FileName: up.name, FileSize: up.size, Encoding: enc, Mode: mode, Phase: phase,
		CreatedBy: c.P.Name, OwnerScope: scope, Header: header}
	if err := s.DB.CreateImportJob(r.Context(), j, f, transfer.SealChunk(s.Imports.Sealer)); err != nil {
		return nil, err
	}
	s.Imports.Wake()
	addLogAttrs(r, slog.Int64("import_job", j.ID))
	err = s.DB.RecordAudit(r.Context(), audit.Entry{Actor: c.P.Name, Action: "import.upload", Entity: "import", EntityID: strconv.FormatInt(j.ID, 10),
		Data: map[string]any{"kind": kind, "file": up.name, "bytes": up.size, "mode": mode, "dry_run": phase == transfer.PhaseCheck}})
	return j, err
}

// findImportJob finds a job the caller may see, with the live row count
// if this node is running it.
func (s *Server) findImportJob(r *http.Request, c *reqCtx) (*transfer.Job, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, apperr.E(apperr.NotFound, "", "import.job.not_found")
	}
	scope, all := ownerScope(c.P)
	j, err := s.DB.ImportJob(r.Context(), id, scope, all)
	if err != nil {
		return nil, err
	}
	s.Imports.Live(j)
	return j, nil
}

// importAction commits a checked job (in mode, or the mode it was
// checked in) or cancels a job that has not ended.
func (s *Server) importAction(r *http.Request, c *reqCtx, action, mode string) (*transfer.Job, error) {
	if !c.P.CanWrite() {
		return nil, apperr.E(apperr.Forbidden, "", "import.forbidden")
	}
	j, err := s.findImportJob(r, c)
	if err != nil {
		return nil, err
	}
	var auditAction string
	switch action {
	case "commit":
		auditAction = "import.commit"
		if mode == "" {
			mode = j.Mode
		}
		if mode != transfer.ModeAllOrNothing && mode != transfer.ModeValidOnly {
			return nil, apperr.E(apperr.Invalid, "mode", "import.mode.invalid", mode)
		}
		if err = s.DB.ConfirmImportJob(r.Context(), j.ID, mode); err == nil {
			s.Imports.Wake()
		}
	case "cancel":
		auditAction = "import.cancel"
		err = s.DB.CancelImportJob(r.Context(), j.ID)
	default:
		return nil, apperr.E(apperr.NotFound, "", "import.job.not_found")
	}
	if err != nil {
		return nil, err
	}
	err = s.DB.RecordAudit(r.Context(), audit.Entry{Actor: c.P.Name, Action: auditAction, Entity: "import", EntityID: strconv.FormatInt(j.ID, 10),
		Data: map[string]any{"mode": mode}})
	if err != nil {
		return nil, err
	}
	return s.findImportJob(r, c)
}

// importJobData is the job page's data: the job, the first refused rows
// and what the caller may do.
type importJobData struct {
	Job      *transfer.Job
	Refused  []transfer.Refusal
	More     bool // more refused rows than shown
	CanWrite bool
}

func (s *Server) importJobData(r *http.Request, c *reqCtx, j *transfer.Job) (importJobData, error) {
	d := importJobData{Job: j, CanWrite: c.P.CanWrite()}
	if j.Summary.Refused == 0 || j.Active() {
		return d, nil
	}
	refused, err := s.Imports.Refusals(r.Context(), j, 0, importPreview+1)
	if err != nil {
		return d, err
	}
	if len(refused) > importPreview {
		refused, d.More = refused[:importPreview], true
	}
	d.Refused = refused
	return d, nil
}

// handleImports is GET /imports: the upload form and the latest jobs.
func (s *Server) handleImports(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	return s.renderImports(w, r, c, http.StatusOK, nil)
}

func (s *Server) renderImports(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, formErr error) error {
	scope, all := ownerScope(c.P)
	jobs, total, err := s.DB.ImportJobs(r.Context(), scope, all, 50)
	if err != nil {
		return err
	}
	d := map[string]any{"Jobs": jobs, "Total": total, "CanWrite": c.P.CanWrite(), "MaxMiB": transfer.DefaultLimits.MaxBytes >> 20,
		"MaxRows": transfer.DefaultLimits.MaxRows, "Schools": c.P.Role == auth.RoleProvince || c.P.Role == auth.RoleCity}
	if formErr != nil {
		e := apperr.As(formErr)
		d["Error"], d["ErrorCode"] = e.Message(), string(e.Code)
	}
	return s.render(w, r, status, "imports.html", newView(c, "批量导入", "imports", d))
}

// handleImportUpload is POST /imports: the job is created and the page
// goes to it.
func (s *Server) handleImportUpload(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	up, err := receiveUpload(w, r, c)
	if err == nil {
		defer up.remove()
		var j *transfer.Job
		if j, err = s.createImportJob(r, c, up); err == nil {
			http.Redirect(w, r, fmt.Sprintf("/imports/%d", j.ID), http.StatusSeeOther)
			return nil
		}
	}
	if e := apperr.As(err); e.Code == apperr.Internal || e.Code == apperr.CSRF || e.Code == apperr.Forbidden {
		return err
	}
	return s.renderImports(w, r, c, httpStatus(apperr.CodeOf(err)), err)
}

// handleImportJob is GET /imports/{id}, or its job block for htmx.
func (s *Server) handleImportJob(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	j, err := s.findImportJob(r, c)
	if err != nil {
		return err
	}
	d, err := s.importJobData(r, c, j)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "import_job.html", newView(c, "导入任务 "+strconv.FormatInt(j.ID, 10), "imports", d))
}

// handleImportAction is POST /imports/{id}/commit and /cancel.
func (s *Server) handleImportAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		j, err := s.importAction(r, c, action, r.PostFormValue("mode"))
		if err != nil {
			return err
		}
		http.Redirect(w, r, fmt.Sprintf("/imports/%d", j.ID), http.StatusSeeOther)
		return nil
	}
}

// handleImportReport is GET /imports/{id}/refused.xlsx (and the API's):
// every row the job's last phase refused, with why.
func (s *Server) handleImportReport(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	j, err := s.findImportJob(r, c)
	if err != nil {
		return err
	}
	if j.Active() {
		return apperr.E(apperr.Conflict, "", "import.job.running")
	}
	entry := audit.Entry{Actor: c.P.Name, Action: "import.report", Entity: "import", EntityID: strconv.FormatInt(j.ID, 10)}
	return s.streamExport(w, r, "未导入的行", "refused", entry, map[string]string{"job": strconv.FormatInt(j.ID, 10)},
		func(out io.Writer, ready func(int) error) (int, error) {
			if err := ready(j.Summary.Refused); err != nil {
				return 0, err
			}
			return j.Summary.Refused, s.Imports.WriteReport(r.Context(), out, j)
		})
}

// handleImportTemplate is GET /import-templates/{kind}.xlsx.
func (s *Server) handleImportTemplate(kind string) handler {
	schema, name := transfer.Students, "学籍导入模板"
	if kind == "schools" {
		schema, name = transfer.Schools, "学校导入模板"
	}
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		w.Header().Set("Content-Type", xlsxType)
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="gongjiang-%s-template.xlsx"; filename*=UTF-8''%s`, kind, rfc5987(name+".xlsx")))
		return transfer.WriteTemplate(w, schema)
	}
}

// API.

// importJobBody is a job as the API shows it, with the first refused rows.
type importJobBody struct {
	*transfer.Job
	StateName string             `json:"state_name"`
	Refused   []transfer.Refusal `json:"refused,omitempty"`
}

func (s *Server) writeImportJob(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, j *transfer.Job) error {
	d, err := s.importJobData(r, c, j)
	if err != nil {
		return err
	}
	writeJSON(w, status, importJobBody{Job: j, StateName: j.StateName(), Refused: d.Refused})
	return nil
}

// handleAPIImportUpload is POST /api/v1/imports (multipart: kind, mode,
// dry_run, encoding, file); 202 with the job.
func (s *Server) handleAPIImportUpload(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	up, err := receiveUpload(w, r, c)
	if err != nil {
		return err
	}
	defer up.remove()
	j, err := s.createImportJob(r, c, up)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/imports/%d", j.ID))
	return s.writeImportJob(w, r, c, http.StatusAccepted, j)
}

func (s *Server) handleAPIImportList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	scope, all := ownerScope(c.P)
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return apperr.E(apperr.Invalid, "limit", "list.limit.invalid", 500)
		}
		limit = n
	}
	jobs, total, err := s.DB.ImportJobs(r.Context(), scope, all, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listBody[*transfer.Job]{Items: jobs, Total: total})
	return nil
}

func (s *Server) handleAPIImportGet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	j, err := s.findImportJob(r, c)
	if err != nil {
		return err
	}
	return s.writeImportJob(w, r, c, http.StatusOK, j)
}

// handleAPIImportAction is POST /api/v1/imports/{id}/commit (optional
// JSON {"mode"}) and /cancel.
func (s *Server) handleAPIImportAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		var in struct {
			Mode string `json:"mode"`
		}
		if r.ContentLength != 0 {
			if err := decodeJSON(w, r, &in); err != nil {
				return err
			}
		}
		j, err := s.importAction(r, c, action, in.Mode)
		if err != nil {
			return err
		}
		return s.writeImportJob(w, r, c, http.StatusOK, j)
	}
}
