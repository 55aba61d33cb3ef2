package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var staticFS embed.FS

// assets serves the embedded static files under URLs that carry a hash of
// their content, so browsers may cache them forever and a new release is
// fetched at once. Schools' intranets often have no internet: nothing is
// loaded from elsewhere.
type assets struct {
	byURL  map[string]string // "/static/<hash>/<name>" -> file path
	byName map[string]string // "<name>" -> URL
}

func loadAssets() (*assets, error) {
	a := &assets{byURL: map[string]string{}, byName: map[string]string{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := path.Ext(p)
		if ext != ".js" && ext != ".css" && ext != ".svg" && ext != ".png" {
			return nil // licences and notes stay in the repository
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := strings.TrimPrefix(p, "static/")
		url := "/static/" + hex.EncodeToString(sum[:6]) + "/" + name
		a.byURL[url] = p
		a.byName[name] = url
		return nil
	})
	return a, err
}

// url returns the hashed URL of a static file by its name under static/.
func (a *assets) url(name string) (string, error) {
	u, ok := a.byName[name]
	if !ok {
		return "", fmt.Errorf("web: no static asset %q", name)
	}
	return u, nil
}

func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := a.byURL[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	b, err := staticFS.ReadFile(p)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", mime.TypeByExtension(path.Ext(p)))
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(b)
}
