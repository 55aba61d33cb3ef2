package web

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/store"
)

// Public verification limits per client address and node: a person
// checking a pile of certificates stays well inside, a script trying
// numbers does not.
const (
	DefaultVerifyPerMinute = 60
	verifyBurst            = 20
)

func certFilter(q url.Values) (cert.Filter, error) {
	limit, after, err := pageParams(q)
	if err != nil {
		return cert.Filter{}, err
	}
	f := cert.Filter{No: q.Get("no"), HolderName: q.Get("holder_name"), Status: q.Get("status"), SchoolCode: q.Get("school_code"),
		Limit: limit, After: after}
	if v := q.Get("student_id"); v != "" {
		if f.StudentID, err = strconv.ParseInt(v, 10, 64); err != nil || f.StudentID <= 0 {
			return f, errInvalidParam("student_id")
		}
	}
	if v := q.Get("kind"); v != "" && v != cert.KindGraduation {
		return f, errInvalidParam("kind")
	}
	return f, nil
}

// verifyBase is where the QR code sends a phone: the configured public
// address, or the one this request came in on.
func (s *Server) verifyBase(r *http.Request) string {
	if s.PublicURL != "" {
		return s.PublicURL
	}
	scheme := "http"
	if secureRequest(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) verifyURL(r *http.Request, c *cert.Certificate) (string, error) {
	p, err := cert.Payload(c)
	if err != nil {
		return "", apperr.Internalf("%w", err)
	}
	return cert.VerifyURL(s.verifyBase(r), p), nil
}

// writePDF answers the certificate as a PDF download.
func (s *Server) writePDF(w http.ResponseWriter, r *http.Request, c *cert.Certificate) error {
	u, err := s.verifyURL(r, c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := cert.WritePDF(&buf, c, u); err != nil {
		return apperr.Internalf("render certificate %s: %w", c.No, err)
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="certificate-`+c.No+`.pdf"`)
	w.Header().Set("Cache-Control", "private, no-store")
	_, err = w.Write(buf.Bytes())
	return err
}

// --- JSON API ------------------------------------------------------------

func (s *Server) handleAPICertList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := certFilter(r.URL.Query())
	if err != nil {
		return err
	}
	items, total, err := s.Certs.List(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*cert.Certificate{}
	}
	body := listBody[*cert.Certificate]{Items: items, Total: total}
	if len(items) > 0 {
		body.Next = idCursor(items[len(items)-1].ID, len(items), f.Limit)
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) handleAPICertGet(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	crt, err := s.Certs.Get(r.Context(), c.P, r.PathValue("no"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, crt)
	return nil
}

func (s *Server) handleCertPDF(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	crt, err := s.Certs.Get(r.Context(), c.P, r.PathValue("no"))
	if err != nil {
		return err
	}
	return s.writePDF(w, r, crt)
}

type certActionInput struct {
	Reason string `json:"reason"`
}

func (s *Server) certAction(r *http.Request, c *reqCtx, action, no, reason string) (*cert.Certificate, error) {
	if action == "revoke" {
		return s.Certs.Revoke(r.Context(), c.P, no, reason)
	}
	return s.Certs.Reissue(r.Context(), c.P, no, reason)
}

func (s *Server) handleAPICertAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		var in certActionInput
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
		crt, err := s.certAction(r, c, action, r.PathValue("no"), in.Reason)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if action == "reissue" {
			status = http.StatusCreated
			w.Header().Set("Location", "/api/v1/certificates/"+crt.No)
		}
		writeJSON(w, status, crt)
		return nil
	}
}

// publishedKey is a key as /api/v1/public/keys shows it.
type publishedKey struct {
	cert.Key
	Status string `json:"status"` // active | retired
	PEM    string `json:"pem"`
}

func (s *Server) handleAPIPublicKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.Certs.Keys(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]publishedKey, len(keys))
	for i, k := range keys {
		out[i] = publishedKey{Key: k, Status: "retired", PEM: k.PEM()}
		if k.Active() {
			out[i].Status = "active"
		}
	}
	// Not writeJSON: it marks every answer no-store, and the published
	// keys are public and may be cached.
	body, err := json.Marshal(map[string]any{"keys": out})
	if err != nil {
		s.writeError(w, r, apperr.Internalf("marshal keys: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}

// publicCheck runs a public certificate check: rate-limited per address,
// counted and logged (on the request's line) with its outcome and nothing
// personal, never cached.
func (s *Server) publicCheck(w http.ResponseWriter, r *http.Request, via string, check func() (*cert.Answer, error)) (*cert.Answer, error) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.verifyLimiter.allow(clientAddress(r), s.Now()) {
		s.metrics.certChecks.WithLabelValues(via, "throttled").Inc()
		return nil, apperr.E(apperr.RateLimited, "", "cert.verify.throttled")
	}
	a, err := check()
	outcome := "error"
	switch {
	case err == nil:
		outcome = a.Status
	case apperr.CodeOf(err) != apperr.Internal:
		outcome = string(apperr.CodeOf(err))
	}
	s.metrics.certChecks.WithLabelValues(via, outcome).Inc()
	addLogAttrs(r, slog.String("via", via), slog.String("outcome", outcome))
	return a, err
}

func (s *Server) handleAPIPublicVerify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	a, err := s.publicCheck(w, r, "number", func() (*cert.Answer, error) {
		return s.Certs.VerifyOnline(r.Context(), q.Get("no"), q.Get("name"))
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

type payloadInput struct {
	Payload string `json:"payload"`
}

func (s *Server) handleAPIPublicVerifyPayload(w http.ResponseWriter, r *http.Request) {
	var in payloadInput
	if err := decodeJSON(w, r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.publicCheck(w, r, "payload", func() (*cert.Answer, error) { return s.Certs.VerifyPayload(r.Context(), in.Payload) })
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// --- Pages ---------------------------------------------------------------

type certListData struct {
	Filter      cert.Filter
	Items       []*cert.Certificate
	Total       int
	TotalCapped bool
	NextURL     string
	Statuses    []string
}

func (s *Server) handleCertList(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	f, err := certFilter(r.URL.Query())
	if err != nil {
		return err
	}
	items, total, err := s.Certs.List(r.Context(), c.P, f)
	if err != nil {
		return err
	}
	d := certListData{Filter: f, Items: items, Total: total, TotalCapped: total >= store.CountCap,
		Statuses: []string{cert.StatusValid, cert.StatusRevoked, cert.StatusVoided}}
	if len(items) > 0 {
		if next := idCursor(items[len(items)-1].ID, len(items), f.Limit); next != "" {
			q := r.URL.Query()
			q.Set("cursor", next)
			d.NextURL = "/certificates?" + q.Encode()
		}
	}
	return s.render(w, r, http.StatusOK, "certificates.html", newView(c, "毕业证书", "certificates", d))
}

// qrDataURL is the QR code as an image the page can show under its CSP
// (img-src allows data: URLs, nothing is fetched). It is a template.URL:
// html/template lets no other data: URL into src (it would write
// #ZgotmplZ instead), and this one is made here from the PNG alone.
func qrDataURL(text string) (template.URL, error) {
	png, err := cert.QRPNG(text, 240)
	if err != nil {
		return "", apperr.Internalf("qr: %w", err)
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

func (s *Server) renderCert(w http.ResponseWriter, r *http.Request, c *reqCtx, status int, crt *cert.Certificate, actionErr error) error {
	u, err := s.verifyURL(r, crt)
	if err != nil {
		return err
	}
	qr, err := qrDataURL(u)
	if err != nil {
		return err
	}
	d := map[string]any{"Cert": crt, "QR": qr, "VerifyURL": u, "CanManage": cert.MayManage(c.P, crt) && crt.Status == cert.StatusValid,
		"StatusName": cert.StatusName(crt.Status), "Done": r.URL.Query().Get("done")}
	if actionErr != nil {
		d["Error"] = apperr.As(actionErr).Message()
	}
	return s.render(w, r, status, "cert_show.html", newView(c, "毕业证书 "+crt.No, "certificates", d))
}

func (s *Server) handleCertShow(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
	crt, err := s.Certs.Get(r.Context(), c.P, r.PathValue("no"))
	if err != nil {
		return err
	}
	return s.renderCert(w, r, c, http.StatusOK, crt, nil)
}

func (s *Server) handleCertAction(action string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *reqCtx) error {
		crt, err := s.certAction(r, c, action, r.PathValue("no"), r.PostFormValue("reason"))
		if err != nil {
			if e := apperr.As(err); e.Code == apperr.Internal || e.Code == apperr.NotFound {
				return err
			}
			old, gerr := s.Certs.Get(r.Context(), c.P, r.PathValue("no"))
			if gerr != nil {
				return gerr
			}
			return s.renderCert(w, r, c, httpStatus(apperr.CodeOf(err)), old, err)
		}
		http.Redirect(w, r, "/certificates/"+crt.No+"?done="+action, http.StatusSeeOther)
		return nil
	}
}

// verifyData is the public verify page.
type verifyData struct {
	CSRF, No, Name, Error string
	Answer                *cert.Answer
	Asked, ByPayload      bool
	PerMinute             int
}

func (s *Server) renderVerify(w http.ResponseWriter, r *http.Request, status int, d verifyData) {
	d.PerMinute = s.VerifyPerMinute
	if err := s.render(w, r, status, "verify.html", view{Title: "证书查验", Data: d}); err != nil {
		s.writeError(w, r, err)
	}
}

// verifyOutcome turns a check's result into the page's data.
func (s *Server) verifyOutcome(w http.ResponseWriter, r *http.Request, d verifyData, a *cert.Answer, err error) {
	d.Asked, d.Answer = true, a
	status := http.StatusOK
	if err != nil {
		e := apperr.As(err)
		if e.Code == apperr.Internal {
			s.writeError(w, r, err)
			return
		}
		d.Error, status = e.Message(), httpStatus(e.Code)
	}
	s.renderVerify(w, r, status, d)
}

// handleVerifyPage is the public verify page. With ?p= (the QR code's
// link) it checks the payload straight away.
func (s *Server) handleVerifyPage(w http.ResponseWriter, r *http.Request) {
	d := verifyData{CSRF: s.publicToken(w, r, "/verify")}
	p := r.URL.Query().Get(cert.PayloadParam)
	if p == "" {
		w.Header().Set("Cache-Control", "no-store")
		s.renderVerify(w, r, http.StatusOK, d)
		return
	}
	d.ByPayload = true
	a, err := s.publicCheck(w, r, "qr", func() (*cert.Answer, error) { return s.Certs.VerifyPayload(r.Context(), p) })
	s.verifyOutcome(w, r, d, a, err)
}

// handleVerify checks by number and name from the form: POST keeps the
// name out of addresses, histories and logs.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	token, err := publicForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d := verifyData{CSRF: token, No: r.PostFormValue("no"), Name: r.PostFormValue("name")}
	a, err := s.publicCheck(w, r, "page", func() (*cert.Answer, error) { return s.Certs.VerifyOnline(r.Context(), d.No, d.Name) })
	s.verifyOutcome(w, r, d, a, err)
}
