package transfer

import (
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/student"
)

func fixed(list []string) func() []string { return func() []string { return list } }

func ethnicNames() []string {
	var out []string
	for _, e := range refdata.EthnicGroups() {
		out = append(out, e.Name)
	}
	return out
}

func schoolTypes() []string {
	var out []string
	for _, t := range refdata.SchoolTypes() {
		out = append(out, string(t))
	}
	return out
}

// Students is the student registration sheet: what POST /api/v1/students
// takes, with the headers offices use.
var Students = Schema{Kind: "students", Name: "学籍", Columns: []Column{
	{Key: "school_code", Header: "学校代码", Aliases: []string{"院校代码"}, Note: "学校账号导入时可不填，默认本校", Example: "3701001"},
	{Key: "name", Header: "姓名", Aliases: []string{"学生姓名"}, Required: true, Example: "王小明"},
	{Key: "id_type", Header: "证件类型", Aliases: []string{"身份证件类型"}, Note: "不填即居民身份证", Choices: fixed(student.IDTypes), Example: student.ResidentID},
	{Key: "id_number", Header: "证件号码", Aliases: []string{"身份证号", "身份证号码", "公民身份号码"}, Required: true,
		Note: "居民身份证按 GB 11643 校验：18 位、校验码、出生日期、性别与行政区划代码；请把单元格设为文本，避免 Excel 改成科学计数法", Example: "37010220080101003X"},
	{Key: "sex", Header: "性别", Required: true, Choices: fixed(student.Sexes), Example: "男"},
	{Key: "birth_date", Header: "出生日期", Required: true, Note: "YYYY-MM-DD，也接受 2008/1/1、20080101 和 Excel 日期", Example: "2008-01-01"},
	{Key: "ethnicity", Header: "民族", Required: true, Note: "名称或 GB 3304 代码（汉族 或 01）", Choices: ethnicNames, Example: "汉族"},
	{Key: "major", Header: "专业", Aliases: []string{"专业名称"}, Required: true, Note: "专业目录中的名称", Example: "汽车维修"},
	{Key: "class_level", Header: "培养层次", Aliases: []string{"层次", "班级层次"}, Required: true, Choices: refdata.ClassLevelNames, Example: "中级工班"},
	{Key: "study_mode", Header: "学习形式", Required: true, Choices: fixed(student.Modes), Example: student.ModeFullTime},
	{Key: "entry_point", Header: "入学起点", Aliases: []string{"招生对象"}, Note: "如 初中毕业生、高中毕业生", Example: "初中毕业生"},
	{Key: "enrollment_date", Header: "入学日期", Aliases: []string{"注册日期"}, Required: true, Note: "YYYY-MM-DD", Example: "2026-09-01"},
}}

// Schools is the school registry sheet.
var Schools = Schema{Kind: "schools", Name: "学校", Columns: []Column{
	{Key: "code", Header: "学校代码", Required: true, Note: "4–20 位大写字母或数字", Example: "3701099"},
	{Key: "name", Header: "学校名称", Required: true, Example: "济南市示范技工学校"},
	{Key: "type", Header: "学校类型", Required: true, Choices: schoolTypes, Example: "技工学校"},
	{Key: "ownership", Header: "举办性质", Aliases: []string{"办学性质"}, Required: true, Choices: fixed(school.Ownerships), Example: "公办"},
	{Key: "division_code", Header: "所在区县代码", Aliases: []string{"行政区划代码", "区划代码"}, Required: true, Note: "GB/T 2260 六位代码", Example: "370102"},
	{Key: "national_key", Header: "国家级重点", Choices: fixed([]string{"是", "否"}), Example: "否"},
	{Key: "provincial_quality", Header: "省级优质", Choices: fixed([]string{"是", "否"}), Example: "否"},
	{Key: "status", Header: "办学状态", Choices: fixed(school.Statuses), Note: "不填即办学", Example: school.StatusOperating},
	{Key: "address", Header: "地址", Aliases: []string{"学校地址"}, Example: "济南市历下区示范路 1 号"},
	{Key: "capacity", Header: "核定办学规模", Aliases: []string{"办学规模"}, Note: "核定的在校生人数，整数", Example: "3000"},
}}
