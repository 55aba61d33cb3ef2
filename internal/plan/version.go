package plan

import (
	"encoding/json"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

// Revision is how an edit of a plan is to be stored.
type Revision int

const (
	// Unchanged: the edit changes nothing; store nothing.
	Unchanged Revision = iota
	// InPlace: nothing was reported against the current version, so the
	// edit replaces it under the same version number.
	InPlace
	// NewVersion: values were reported against the current version; the
	// edit is stored as the next version and the current one is kept as it
	// is, with its reports still attached to it.
	NewVersion
)

// Revise decides how to store edit, a changed copy of current, given
// whether any value was reported against current. It validates the edit,
// refuses a changed ID and an edit of a version that is no longer current
// (edit.Version must be current.Version), and returns the plan to store
// with its version set. current is not modified.
func Revise(current Plan, edit Plan, hasReports bool, groupExists GroupExists) (Plan, Revision, error) {
	edit = edit.Clone()
	if edit.ID != current.ID {
		return Plan{}, Unchanged, apperr.E(apperr.Invalid, "id", "plan.id.immutable")
	}
	if edit.Version != current.Version {
		return Plan{}, Unchanged, apperr.E(apperr.Conflict, "version", "plan.version.stale", current.Version)
	}
	if err := ValidatePlan(&edit, groupExists); err != nil {
		return Plan{}, Unchanged, err
	}
	if sameContent(current, edit) {
		return current.Clone(), Unchanged, nil
	}
	if hasReports {
		edit.Version = current.Version + 1
		return edit, NewVersion, nil
	}
	return edit, InPlace, nil
}

// sameContent compares plans as stored, version aside.
func sameContent(a, b Plan) bool {
	a.Version, b.Version = 0, 0
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// CarriesOver reports whether values reported for indicator old of an
// earlier version may be shown for indicator new of a later one: the same
// code measured the same way (unit, aggregate, group, source kind). A
// changed target, milestone, name or wording does not change what was
// measured; a changed unit or aggregate does. The reports themselves stay
// attached to the version they were entered for.
func CarriesOver(old, new *Indicator) bool {
	return old.Code == new.Code && old.Unit == new.Unit && old.Aggregate == new.Aggregate &&
		old.Group == new.Group && old.Source.Kind == Reported && new.Source.Kind == Reported
}
