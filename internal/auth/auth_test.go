package auth

import (
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/apperr"
)

func TestPasswordHashing(t *testing.T) {
	h := HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("unexpected encoding %s", h)
	}
	if !VerifyPassword(h, "correct horse battery") {
		t.Fatal("right password refused")
	}
	for _, bad := range []string{"", "correct horse batterY", "correct horse battery "} {
		if VerifyPassword(h, bad) {
			t.Errorf("wrong password %q accepted", bad)
		}
	}
	if HashPassword("same") == HashPassword("same") {
		t.Error("hashes are not salted")
	}
	for _, enc := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AA$AA", "$argon2id$v=19$m=99999999,t=1,p=1$AA$AA"} {
		if VerifyPassword(enc, "x") {
			t.Errorf("malformed hash %q verified", enc)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	if CheckPasswordPolicy("short") == nil || CheckPasswordPolicy(strings.Repeat("x", 257)) == nil {
		t.Fatal("weak or huge password accepted")
	}
	if err := CheckPasswordPolicy("长长的中文密码一二三四"); err != nil {
		t.Fatal(err)
	}
}

func TestScopes(t *testing.T) {
	cases := map[Role]ScopeKind{RoleProvince: ScopeAll, RoleAuditor: ScopeAll, RoleCity: ScopeCity, RoleSchool: ScopeSchool, "": ScopeNone}
	for role, want := range cases {
		if got := (Principal{Role: role, ScopeCode: "x"}).Scope().Kind; got != want {
			t.Errorf("%s: scope %v, want %v", role, got, want)
		}
	}
	if (Principal{Role: RoleAuditor}).CanWrite() {
		t.Error("auditor may write")
	}
}

func TestValidateUser(t *testing.T) {
	exists := func(code string) (bool, error) { return code == "3701001", nil }
	cases := []struct {
		u     User
		field string
	}{
		{User{Name: "province", Role: RoleProvince}, ""},
		{User{Name: "jinan", Role: RoleCity, Scope: "370100"}, ""},
		{User{Name: "jinan", Role: RoleCity, Scope: "370102"}, "scope"}, // a district, not a city
		{User{Name: "jinan", Role: RoleCity, Scope: "371200"}, "scope"}, // 莱芜市, abolished 2019
		{User{Name: "school", Role: RoleSchool, Scope: "3701001"}, ""},
		{User{Name: "school", Role: RoleSchool, Scope: "9999999"}, "scope"},
		{User{Name: "p", Role: RoleProvince}, "name"},
		{User{Name: "a b", Role: RoleProvince}, "name"},
		{User{Name: "x'--", Role: RoleProvince}, "name"},
		{User{Name: "prov", Role: RoleProvince, Scope: "370100"}, "scope"},
		{User{Name: "who", Role: "admin"}, "role"},
	}
	for _, tc := range cases {
		err := ValidateUser(&tc.u, exists)
		if tc.field == "" && err != nil {
			t.Errorf("%+v: %v", tc.u, err)
		}
		if tc.field != "" && apperr.As(err).Field != tc.field {
			t.Errorf("%+v: got %v, want error on %s", tc.u, err, tc.field)
		}
	}
}
