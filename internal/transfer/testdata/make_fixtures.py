#!/usr/bin/python3
"""Make the spreadsheet fixtures of internal/transfer's reader tests with
programs other than gongjiang: openpyxl (Debian python3-openpyxl), LibreOffice
(Debian libreoffice-calc, soffice --headless --convert-to) and iconv.

Run from anywhere:  /usr/bin/python3 internal/transfer/testdata/make_fixtures.py
It rewrites the fixtures beside this script; read_test.go expects exactly the
rows written here (see testdata/README.md).
"""
import datetime
import os
import shutil
import subprocess
import sys
import tempfile

import openpyxl

HERE = os.path.dirname(os.path.abspath(__file__))

FW = "\u3000"  # full-width space, as offices type it into headers


def id_number(first17):
    """Completes a GB 11643 identity number with its check character."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    s = sum(int(c) * w for c, w in zip(first17, weights))
    return first17 + "10X98765432"[s % 11]


# The students every fixture holds, in this order; an empty row separates the
# second and the third.
STUDENTS = [
    dict(name="王小明", id=id_number("37010220080101001"), sex="男",
         birth=datetime.date(2008, 1, 1), ethnic="汉族", major="汽车维修",
         level="中级工班", mode="全日制", entry="初中毕业生",
         enrolled=datetime.date(2026, 9, 1), school="3701001", boarding=True),
    dict(name="阿依古丽·买买提", id=id_number("65010220071231002"), sex="女",
         birth=datetime.date(2007, 12, 31), ethnic="维吾尔族", major="电子商务",
         level="高级工班", mode="全日制", entry="高中毕业生",
         enrolled=datetime.date(2025, 9, 1), school="3701001", boarding=False),
    dict(name="刘䶮", id=id_number("11010519491231002"), sex="男",
         birth=datetime.date(1949, 12, 31), ethnic="回族", major="数控加工",
         level="预备技师（技师）班", mode="非全日制", entry="初中毕业生",
         enrolled=datetime.date(2024, 3, 1), school="3701002", boarding=False),
]


def make_openpyxl(path):
    """The .xlsx as openpyxl writes it: inline strings (openpyxl with lxml
    writes every string inline, as WPS sometimes does), the ID number typed
    as text, dates as serial numbers with date formats (one of them
    Chinese), a formula column (openpyxl stores no cached values), a
    boolean column, a leading empty row, an empty row in the middle and a
    second sheet that must not be read."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "学生名单"
    header = ["序号", "姓名", "性" + FW + "别", " 证件号码 ", "出生日期", "民族",
              "专业", "培养层次", "学习形式", "入学" + FW + "日期", "学校代码",
              "入学起点", "是否住校", "备注"]
    ws.append([])  # row 1 stays empty
    ws.append(header)  # row 2
    row = 3
    for i, s in enumerate(STUDENTS):
        if i == 2:
            row += 1  # row 5 stays empty
        cells = [f"=ROW()-2", s["name"], s["sex"], s["id"], s["birth"],
                 s["ethnic"], s["major"], s["level"], s["mode"], s["enrolled"],
                 int(s["school"]), s["entry"], s["boarding"],
                 f'=B{row}&"（"&C{row}&"）"']
        for col, v in enumerate(cells, start=1):
            c = ws.cell(row=row, column=col, value=v)
            if col == 4:
                c.number_format = "@"
            if col == 5:
                c.number_format = "yyyy-mm-dd"
            if col == 10:
                c.number_format = 'yyyy"年"m"月"d"日"'
        row += 1
    other = wb.create_sheet("填写说明")
    other.append(["这张表不应被读取"])
    wb.save(path)


def make_csv_source(path):
    """A workbook with other headers (aliases) in another column order, for
    LibreOffice to save as CSV."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["学生姓名", "身份证号", "民族", "性别", "出生日期", "专业名称",
               "层次", "学习形式", "院校代码", "招生对象", "注册日期"])
    for i, s in enumerate(STUDENTS):
        if i == 2:
            ws.append([])
        ws.append([s["name"], s["id"], s["ethnic"], s["sex"], s["birth"],
                   s["major"], s["level"], s["mode"], s["school"], s["entry"],
                   s["enrolled"]])
    for r in ws.iter_rows(min_row=2):
        r[1].number_format = "@"
        r[4].number_format = "yyyy-mm-dd"
        r[10].number_format = "yyyy-mm-dd"
    wb.save(path)


def make_mangled(path):
    """An identity number typed as a number, which Excel keeps to 15
    digits; the same number as text below it."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "证件号码"])
    ws.append(["王小明", 370102200801010013])
    ws.append(["李红", "370102200801010013"])
    wb.save(path)


def long_row(i):
    """Row i of long.xls: 8-bit and 16-bit strings in turn, enough of them
    for the shared-string table to run over several CONTINUE records."""
    name = f"学生{i:03d}" if i % 2 == 0 else f"Student {i:03d}"
    note = ("中文English混合" * (1 + i % 4))[: 10 + i % 37]
    return [name, note, i]


def make_long(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "备注", "序号"])
    for i in range(1, 401):
        ws.append(long_row(i))
    ws.append(["长文本", "甲乙丙丁戊己庚辛壬癸" * 200, 401])
    wb.save(path)


def soffice(src, fmt, outdir):
    subprocess.run(["soffice", "--headless", "--convert-to", fmt, "--outdir",
                    outdir, src], check=True, stdout=subprocess.DEVNULL)


def main():
    os.chdir(HERE)
    make_openpyxl("students-openpyxl.xlsx")
    with tempfile.TemporaryDirectory() as tmp:
        # LibreOffice recalculates the formulas openpyxl left without values.
        soffice("students-openpyxl.xlsx", "xlsx:Calc MS Excel 2007 XML", tmp)
        shutil.move(os.path.join(tmp, "students-openpyxl.xlsx"),
                    "students-libreoffice.xlsx")
        soffice("students-openpyxl.xlsx", "xls:MS Excel 97", tmp)
        shutil.move(os.path.join(tmp, "students-openpyxl.xls"),
                    "students-libreoffice.xls")
        for name, make in (("mangled", make_mangled), ("long", make_long)):
            src = os.path.join(tmp, name + ".xlsx")
            make(src)
            soffice(src, "xls:MS Excel 97", tmp)
            shutil.move(os.path.join(tmp, name + ".xls"), name + "-libreoffice.xls")
            if name == "mangled":
                soffice(src, "xlsx:Calc MS Excel 2007 XML", tmp + "/out")
                shutil.move(os.path.join(tmp, "out", name + ".xlsx"), name + "-libreoffice.xlsx")
        src = os.path.join(tmp, "students-csv-source.xlsx")
        make_csv_source(src)
        # 44 = comma, 34 = double quote, 76 = UTF-8, 1 = start at line 1.
        soffice(src, 'csv:Text - txt - csv (StarCalc):44,34,76,1', tmp)
        shutil.move(os.path.join(tmp, "students-csv-source.csv"),
                    "students-utf8.csv")
    with open("students-utf8.csv", "rb") as f:
        utf8 = f.read()
    with open("students-utf8-bom.csv", "wb") as f:
        f.write(b"\xef\xbb\xbf" + utf8)
    # GB18030 with Windows line endings, as Excel's "CSV" saves on a Chinese
    # Windows: iconv does the encoding.
    crlf = subprocess.run(["sed", "s/$/\\r/", "students-utf8.csv"], check=True,
                          capture_output=True).stdout
    gbk = subprocess.run(["iconv", "-f", "UTF-8", "-t", "GB18030"], input=crlf,
                         check=True, capture_output=True).stdout
    with open("students-gbk.csv", "wb") as f:
        f.write(gbk)


if __name__ == "__main__":
    sys.exit(main())
