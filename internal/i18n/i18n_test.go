package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// keyPattern is the shape of a message key: lowercase dotted words.
var keyPattern = regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)+$`)

// TestEveryKeyInCatalogue fails when code passes a message key (to
// apperr.E or an audit action shown with t) that the catalogue lacks.
func TestEveryKeyInCatalogue(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	missing := map[string]string{}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			pkg, _ := sel.X.(*ast.Ident)
			keyArg := -1
			switch {
			case pkg != nil && pkg.Name == "apperr" && sel.Sel.Name == "E":
				keyArg = 2
			case pkg != nil && pkg.Name == "i18n" && sel.Sel.Name == "T":
				keyArg = 0
			}
			if keyArg < 0 || len(call.Args) <= keyArg {
				return true
			}
			lit, ok := call.Args[keyArg].(*ast.BasicLit)
			if !ok {
				return true
			}
			key, _ := strconv.Unquote(lit.Value)
			if !Has(key) {
				missing[key] = fset.Position(lit.Pos()).String()
			}
			return true
		})
		return nil
	})
	for k, pos := range missing {
		t.Errorf("%s: message key %q is not in zh-CN.json", pos, k)
	}
}

// TestAuditActionsHaveLabels checks that every audit action recorded in
// code has a Chinese label for the audit pages.
func TestAuditActionsHaveLabels(t *testing.T) {
	action := regexp.MustCompile(`Action:\s*"([a-z_.]+)"`)
	filepath.WalkDir(filepath.Join("..", ".."), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		b, _ := os.ReadFile(path)
		for _, m := range action.FindAllStringSubmatch(string(b), -1) {
			if !Has(m[1]) {
				t.Errorf("%s: audit action %q has no label in zh-CN.json", path, m[1])
			}
		}
		return nil
	})
}

func TestCatalogueKeysWellFormed(t *testing.T) {
	for k, v := range catalogue {
		if !keyPattern.MatchString(k) || strings.TrimSpace(v) == "" {
			t.Errorf("bad catalogue entry %q: %q", k, v)
		}
	}
}
