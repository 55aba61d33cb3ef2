package idcard_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/gongjiang/gongjiang/internal/idcard"
)

func ExampleParse() {
	today := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	info, err := idcard.Parse("11010519491231002x", today)
	fmt.Println(info.Number, info.AreaName, info.BirthDate.Format("2006-01-02"), info.Sex, err)

	_, err = idcard.Parse("370102200803151230", today)
	var e *idcard.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason, e.Message)
	}
	// Output:
	// 11010519491231002X 北京市朝阳区 1949-12-31 女 <nil>
	// check_digit 第18位校验码应为1，实际为0
}

func ExampleCheck() {
	today := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	birth := time.Date(2008, 3, 15, 0, 0, 0, 0, time.UTC)
	_, err := idcard.Check("370102200803151231", birth, idcard.Female, today)
	fmt.Println(err.(*idcard.Error).Reason, err.(*idcard.Error).Message)
	// Output:
	// sex_mismatch 第17位为3（男性），与性别“女”不符
}

func ExampleUpgrade15() {
	n, err := idcard.Upgrade15("150102880730303")
	fmt.Println(n, err)
	// Output:
	// 150102198807303035 <nil>
}

func ExampleMask() {
	fmt.Println(idcard.Mask("370102200803151231"))
	// Output:
	// 3701**********1231
}
