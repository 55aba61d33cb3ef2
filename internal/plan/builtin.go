package plan

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// The plans of the seed documents, one JSON file each, and the school
// groups they are measured on (groups.json). A test validates them all.
//
//go:embed builtin/*.json
var builtinFS embed.FS

var builtinPlans, builtinGroups = mustLoadBuiltin(builtinFS)

func mustLoadBuiltin(fsys fs.FS) ([]Plan, []Group) {
	plans, groups, err := loadBuiltin(fsys)
	if err != nil {
		panic("plan: " + err.Error())
	}
	return plans, groups
}

func loadBuiltin(fsys fs.FS) ([]Plan, []Group, error) {
	names, err := fs.Glob(fsys, "builtin/*.json")
	if err != nil {
		return nil, nil, err
	}
	var plans []Plan
	var groups []Group
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, nil, err
		}
		if name == "builtin/groups.json" {
			err = decodeStrict(b, &groups)
		} else {
			var p Plan
			err = decodeStrict(b, &p)
			plans = append(plans, p)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	// National first, then province, department and city.
	slices.SortStableFunc(plans, func(a, b Plan) int {
		if d := slices.Index(Levels, a.Level) - slices.Index(Levels, b.Level); d != 0 {
			return d
		}
		return strings.Compare(a.ID, b.ID)
	})
	return plans, groups, nil
}

// decodeStrict refuses unknown fields, so that a misspelt key in a
// built-in file fails its test instead of being dropped.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// BuiltinPlans returns copies of the plans of the seed documents:
// the national 技工教育“十四五”规划, Shandong's provincial plan, the
// department's measures for its own colleges and 威海's ten measures.
func BuiltinPlans() []Plan {
	out := make([]Plan, len(builtinPlans))
	for i, p := range builtinPlans {
		out[i] = p.Clone()
	}
	return out
}

// BuiltinPlan returns a copy of the built-in plan with the ID.
func BuiltinPlan(id string) (Plan, bool) {
	for _, p := range builtinPlans {
		if p.ID == id {
			return p.Clone(), true
		}
	}
	return Plan{}, false
}

// BuiltinGroups returns copies of the school groups the built-in plans
// are measured on, without members: the province maintains those.
func BuiltinGroups() []Group {
	out := make([]Group, len(builtinGroups))
	for i, g := range builtinGroups {
		g.NamedInSource = slices.Clone(g.NamedInSource)
		g.Schools = slices.Clone(g.Schools)
		out[i] = g
	}
	return out
}

// BuiltinGroupExists is a GroupExists for the built-in groups.
func BuiltinGroupExists(code string) bool {
	return slices.ContainsFunc(builtinGroups, func(g Group) bool { return g.Code == code })
}
