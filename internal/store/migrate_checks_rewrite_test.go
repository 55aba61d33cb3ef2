package store

import "testing"

func TestCheckRewrite(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`status TEXT NOT NULL CHECK (status IN ('在籍', '休学', '毕业')),`,
			`status TEXT NOT NULL CHECK (status = '在籍' OR status = '休学' OR status = '毕业'),`},
		{`ownership TEXT NOT NULL CHECK (ownership IN ('公办', '民办', '企业(行业)办')),`,
			`ownership TEXT NOT NULL CHECK (ownership = '公办' OR ownership = '民办' OR ownership = '企业(行业)办'),`},
		{`sex TEXT CHECK (sex IN ('男', '女')), mode TEXT CHECK (mode IN ('a', 'b', 'c'))`,
			`sex TEXT CHECK (sex = '男' OR sex = '女'), mode TEXT CHECK (mode = 'a' OR mode = 'b' OR mode = 'c')`},
		{`id INTEGER PRIMARY KEY CHECK (id = 1)`, `id INTEGER PRIMARY KEY CHECK (id = 1)`},
	} {
		got := checkAsComparisons(tt.in)
		if got != tt.want {
			t.Errorf("checkAsComparisons(%s)\n = %s\nwant %s", tt.in, got, tt.want)
		}
		if back := checkAsInList(got); back != tt.in {
			t.Errorf("checkAsInList(%s)\n = %s\nwant %s", got, back, tt.in)
		}
	}
}
