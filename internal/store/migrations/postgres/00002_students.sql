-- +goose Up
-- 核定办学规模: the approved number of students (0: not set).
ALTER TABLE schools ADD COLUMN capacity INTEGER NOT NULL DEFAULT 0;

-- The major catalogue (技工院校专业目录). Codes are optional until the
-- official list is loaded; names are unique.
CREATE TABLE majors (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    code TEXT,
    category TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX majors_code ON majors (code) WHERE code IS NOT NULL;
INSERT INTO majors (name, source) VALUES
    ('机电设备安装与维修', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('数控加工（数控车工）', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('工业机器人应用与维护', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('汽车维修', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('数控机床装配与维修', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('机械设备装配与自动控制', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('制冷设备运用与维修', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('机电一体化', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('电气自动化设备安装与维修', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('电梯工程技术', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('城市轨道交通车辆运用与检修', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('煤矿电气设备维修', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('工业网络技术', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('机电技术应用', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('电气运行与控制', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('电气技术应用', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('纺织机电技术', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('铁道供电技术', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('农业电气化技术', '见于鲁政字〔2025〕97号或电工国家职业标准所列相关专业'),
    ('计算机网络应用', '常见技工院校专业名称，待以官方专业目录核对'),
    ('计算机应用与维修', '常见技工院校专业名称，待以官方专业目录核对'),
    ('计算机程序设计', '常见技工院校专业名称，待以官方专业目录核对'),
    ('电子商务', '常见技工院校专业名称，待以官方专业目录核对'),
    ('电子技术应用', '常见技工院校专业名称，待以官方专业目录核对'),
    ('焊接加工', '常见技工院校专业名称，待以官方专业目录核对'),
    ('模具制造', '常见技工院校专业名称，待以官方专业目录核对'),
    ('汽车钣金与涂装', '常见技工院校专业名称，待以官方专业目录核对'),
    ('新能源汽车检测与维修', '常见技工院校专业名称，待以官方专业目录核对'),
    ('烹饪（中式烹调）', '常见技工院校专业名称，待以官方专业目录核对'),
    ('美容美发与造型', '常见技工院校专业名称，待以官方专业目录核对'),
    ('服装设计与制作', '常见技工院校专业名称，待以官方专业目录核对'),
    ('物流服务与管理', '常见技工院校专业名称，待以官方专业目录核对'),
    ('会计', '常见技工院校专业名称，待以官方专业目录核对'),
    ('酒店管理', '常见技工院校专业名称，待以官方专业目录核对'),
    ('幼儿教育', '常见技工院校专业名称，待以官方专业目录核对'),
    ('建筑施工', '常见技工院校专业名称，待以官方专业目录核对'),
    ('化工工艺', '常见技工院校专业名称，待以官方专业目录核对'),
    ('无人机应用技术', '常见技工院校专业名称，待以官方专业目录核对'),
    ('数控编程', '常见技工院校专业名称，待以官方专业目录核对'),
    ('机械设备维修', '常见技工院校专业名称，待以官方专业目录核对'),
    ('护理', '常见技工院校专业名称，待以官方专业目录核对'),
    ('健康服务与管理', '常见技工院校专业名称，待以官方专业目录核对'),
    ('轨道交通运输服务', '常见技工院校专业名称，待以官方专业目录核对'),
    ('市场营销', '常见技工院校专业名称，待以官方专业目录核对');

-- 学籍. Identity numbers are sealed (AES-GCM) and found by a keyed blind
-- index; a person holds at most one active 学籍 (the partial unique index).
CREATE TABLE students (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_no TEXT NOT NULL UNIQUE,
    school_code TEXT NOT NULL REFERENCES schools (code),
    city_code TEXT NOT NULL,
    name TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_sealed BYTEA NOT NULL,
    id_blind TEXT NOT NULL,
    id_masked TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('男', '女')),
    birth_date TEXT NOT NULL,
    ethnicity TEXT NOT NULL,
    major TEXT NOT NULL,
    class_level TEXT NOT NULL CHECK (class_level IN ('中级工班', '高级工班', '预备技师班')),
    study_mode TEXT NOT NULL CHECK (study_mode IN ('全日制', '非全日制')),
    entry_point TEXT NOT NULL,
    enrollment_date TEXT NOT NULL,
    expected_graduation TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('在籍', '休学', '保留学籍', '毕业', '结业', '肄业', '退学', '开除')),
    active BOOLEAN NOT NULL,
    left_date TEXT,
    last_activity_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX students_one_active ON students (id_blind) WHERE active;
CREATE INDEX students_blind ON students (id_blind);
CREATE INDEX students_school ON students (school_code, id);
CREATE INDEX students_city ON students (city_code, id);
CREATE INDEX students_name ON students (name);
-- Near-duplicate search: active people by name, sex and birth date.
CREATE INDEX students_person ON students (name, sex, birth_date, id_blind) WHERE active;
CREATE INDEX students_status ON students (status, id);

-- Separate numbering per school, study mode and year (分类注册).
CREATE TABLE student_counters (
    school_code TEXT NOT NULL,
    study_mode TEXT NOT NULL,
    year INTEGER NOT NULL,
    last BIGINT NOT NULL,
    PRIMARY KEY (school_code, study_mode, year)
);

-- 学籍异动 requests and their review.
CREATE TABLE change_requests (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    student_id BIGINT NOT NULL REFERENCES students (id),
    school_code TEXT NOT NULL,
    city_code TEXT NOT NULL,
    target_school_code TEXT NOT NULL DEFAULT '',
    target_city_code TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL,
    reason TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    changes TEXT NOT NULL,
    new_id_sealed BYTEA,
    new_id_blind TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'applied', 'rejected', 'withdrawn', 'failed')),
    needs TEXT NOT NULL,
    approvals TEXT NOT NULL,
    proposed_by TEXT NOT NULL,
    proposed_at BIGINT NOT NULL,
    decided_by TEXT NOT NULL DEFAULT '',
    decided_at BIGINT NOT NULL DEFAULT 0,
    decision_note TEXT NOT NULL DEFAULT '',
    applied_at BIGINT NOT NULL DEFAULT 0,
    failure TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX change_requests_student ON change_requests (student_id, id);
CREATE INDEX change_requests_due ON change_requests (state, effective_date);
CREATE INDEX change_requests_school ON change_requests (school_code, id);
CREATE INDEX change_requests_target_school ON change_requests (target_school_code, id);
CREATE INDEX change_requests_city ON change_requests (city_code, id);
CREATE INDEX change_requests_target_city ON change_requests (target_city_code, id);
-- At most one open (pending or approved) request per student.
CREATE UNIQUE INDEX change_requests_one_open ON change_requests (student_id) WHERE state IN ('pending', 'approved');

-- Events counted by shared rate limits (any node sees them).
CREATE TABLE rate_events (
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX rate_events_key ON rate_events (key, at);

-- Data comparison (数据比对) findings; the same finding keeps its row
-- (and its resolution) across runs.
CREATE TABLE findings (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    school_code TEXT NOT NULL,
    city_code TEXT NOT NULL,
    student_ids TEXT NOT NULL,
    detail TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'resolved', 'cleared')),
    first_seen_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    resolved_by TEXT NOT NULL DEFAULT '',
    resolved_at BIGINT NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, key)
);
CREATE INDEX findings_school ON findings (school_code, id);
CREATE INDEX findings_city ON findings (city_code, id);
CREATE INDEX findings_state ON findings (state, kind, id);

-- +goose Down
DROP TABLE findings;
DROP TABLE rate_events;
DROP TABLE change_requests;
DROP TABLE student_counters;
DROP TABLE students;
DROP TABLE majors;
ALTER TABLE schools DROP COLUMN capacity;
