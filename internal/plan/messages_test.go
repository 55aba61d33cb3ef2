package plan

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/i18n"
)

// TestMessages checks this package's messages in the catalogue: every
// key the code uses is there, each apperr.E passes as many arguments as
// its message has verbs, and no plan.* key is unused.
func TestMessages(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "i18n", "zh-CN.json"))
	if err != nil {
		t.Fatal(err)
	}
	var catalogue map[string]string
	if err := json.Unmarshal(b, &catalogue); err != nil {
		t.Fatal(err)
	}
	messages := map[string]string{}
	for k, v := range catalogue {
		if strings.HasPrefix(k, "plan.") {
			messages[k] = v
		}
	}
	keyShape := regexp.MustCompile(`^[a-z_]+(\.[a-z_]+)+$`)
	verb := regexp.MustCompile(`%[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)
	for k, v := range messages {
		if !keyShape.MatchString(k) || strings.TrimSpace(v) == "" {
			t.Errorf("bad entry %q: %q", k, v)
		}
	}
	countVerbs := func(format string) int {
		n := 0
		for _, m := range verb.FindAllString(format, -1) {
			if m != "%%" {
				n++
			}
		}
		return n
	}

	used := map[string]bool{}
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok || sel.Sel.Name != "E" || len(n.Args) < 3 {
					return true
				}
				if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "apperr" {
					return true
				}
				lit, ok := n.Args[2].(*ast.BasicLit)
				if !ok {
					t.Errorf("%s: message key is not a literal", fset.Position(n.Pos()))
					return true
				}
				key, _ := strconv.Unquote(lit.Value)
				used[key] = true
				format, ok := messages[key]
				if !ok {
					if !i18n.Has(key) {
						t.Errorf("%s: key %s is not in zh-CN.json", fset.Position(n.Pos()), key)
						return true
					}
					format = i18n.T(key)
				}
				if got, want := len(n.Args)-3, countVerbs(format); got != want {
					t.Errorf("%s: %s gets %d arguments, its message has %d verbs", fset.Position(n.Pos()), key, got, want)
				}
				if len(n.Args) == 3 && strings.Contains(format, "%%") {
					t.Errorf("%s: %s has no arguments, so %%%% would show as is", fset.Position(n.Pos()), key)
				}
			case *ast.BasicLit:
				if s, err := strconv.Unquote(n.Value); err == nil && strings.HasPrefix(s, "plan.basis.") {
					used[s] = true
					if _, ok := messages[s]; !ok {
						t.Errorf("%s: basis %s is not in zh-CN.json", fset.Position(n.Pos()), s)
					}
				}
			}
			return true
		})
	}
	for k := range messages {
		if !used[k] {
			t.Errorf("%s is in zh-CN.json but not used", k)
		}
	}
}
