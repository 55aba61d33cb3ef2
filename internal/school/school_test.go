package school

import (
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

func valid() *School {
	return &School{Code: "3701001", Name: "济南市机电技师学院", Type: "技师学院", Ownership: "公办", DivisionCode: "370102", Status: StatusOperating}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*School)
		code   apperr.Code
		field  string
	}{
		{"valid", func(*School) {}, "", ""},
		{"lower-case code is upper-cased", func(s *School) { s.Code = "3701abc" }, "", ""},
		{"empty code", func(s *School) { s.Code = "" }, apperr.Invalid, "code"},
		{"short code", func(s *School) { s.Code = "370" }, apperr.Invalid, "code"},
		{"code with quote", func(s *School) { s.Code = "37'01" }, apperr.Invalid, "code"},
		{"empty name", func(s *School) { s.Name = "" }, apperr.Invalid, "name"},
		{"61-character name", func(s *School) { s.Name = strings.Repeat("技", 61) }, apperr.Invalid, "name"},
		{"60-character name", func(s *School) { s.Name = strings.Repeat("技", 60) }, "", ""},
		{"name with script", func(s *School) { s.Name = "<script>" }, apperr.Invalid, "name"},
		{"name with SQL quote", func(s *School) { s.Name = "x'; DROP TABLE schools; --" }, apperr.Invalid, "name"},
		{"unknown type", func(s *School) { s.Type = "大学" }, apperr.Invalid, "type"},
		{"unknown ownership", func(s *School) { s.Ownership = "外资" }, apperr.Invalid, "ownership"},
		{"unknown status", func(s *School) { s.Status = "关闭" }, apperr.Invalid, "status"},
		{"unknown division", func(s *School) { s.DivisionCode = "379999" }, apperr.UnknownDivision, "division_code"},
		{"historical division", func(s *School) { s.DivisionCode = "370181" }, apperr.UnknownDivision, "division_code"},
		{"province as division", func(s *School) { s.DivisionCode = "370000" }, apperr.UnknownDivision, "division_code"},
		{"city as division", func(s *School) { s.DivisionCode = "370100" }, "", ""},
		{"division with SQL", func(s *School) { s.DivisionCode = "' OR 1=1" }, apperr.UnknownDivision, "division_code"},
		{"address too long", func(s *School) { s.Address = strings.Repeat("路", 201) }, apperr.Invalid, "address"},
		{"address with NUL", func(s *School) { s.Address = "a\x00b" }, apperr.Invalid, "address"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := valid()
			tc.mutate(s)
			err := Validate(s)
			if tc.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			e := apperr.As(err)
			if err == nil || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("got %v, want %s on %s", err, tc.code, tc.field)
			}
			if msg := e.Message(); msg == "" || msg == e.Key {
				t.Fatalf("message %q is not from the catalogue", msg)
			}
		})
	}
}

func TestValidateDerivesCity(t *testing.T) {
	s := valid()
	s.DivisionCode = "370781" // 青州市, a county-level city under 潍坊
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	if s.CityCode != "370700" || s.CityName != "潍坊市" || s.ProvinceCode != "370000" || s.DivisionName != "青州市" {
		t.Fatalf("derived %+v", s)
	}
}
