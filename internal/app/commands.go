package app

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/pii"
)

func runMigrate(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	db, _, err := dbf.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	_, v, err := db.SchemaVersions(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "数据库结构已是最新（版本 %d，本次应用 %d 个迁移）\n", v, n)
	return nil
}

func runDemo(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	scaleName := fs.String("scale", "province", "规模：small、province 或 national")
	seed := fs.Uint64("seed", 1, "随机种子（相同种子生成相同数据）")
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	scale, err := demo.ParseScale(*scaleName)
	if err != nil {
		return fmt.Errorf("%w：%v", ErrUsage, err)
	}
	db, kr, err := dbf.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := ensureSchema(ctx, db, true, env); err != nil {
		return err
	}
	if n, err := db.CountSchoolsAll(ctx); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("数据库中已有 %d 所学校；演示数据只能载入空数据库", n)
	}
	sum, err := demo.Generate(ctx, db, pii.NewAESGCM(kr), scale, *seed)
	if err != nil {
		return err
	}
	printDemoSummary(env, sum)
	fmt.Fprintf(env.Stdout, "演示账号的密码均为 %s\n", demo.Password)
	return nil
}

func runUser(ctx context.Context, args []string, env Env) error {
	if len(args) < 2 || args[0] != "add" {
		return fmt.Errorf("%w：gongjiang user add NAME --role province|city|school|auditor [--scope CODE]（密码从标准输入读取）", ErrUsage)
	}
	name := args[1]
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	role := fs.String("role", "", "角色：province、city、school 或 auditor")
	scope := fs.String("scope", "", "范围：city 为地级市行政区划代码，school 为学校代码")
	display := fs.String("display-name", "", "显示名称（默认同用户名）")
	if err := parseFlags(fs, args[2:], env); err != nil {
		return err
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return err
	}
	password, err := readPassword(env)
	if err != nil {
		return err
	}
	db, _, err := dbf.openCurrent(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	u := &auth.User{Name: name, DisplayName: *display, Role: r, Scope: *scope}
	if err := auth.NewService(db).AddUser(ctx, "system", u, password); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "已创建用户 %s（%s%s）\n", u.Name, r.Label(), scopeSuffix(u.Scope))
	return nil
}

func scopeSuffix(s string) string {
	if s == "" {
		return ""
	}
	return "，范围 " + s
}

// readPassword takes the first line of standard input.
func readPassword(env Env) (string, error) {
	if env.Stdin == nil {
		return "", errors.New("请从标准输入提供密码")
	}
	line, err := bufio.NewReader(env.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", errors.New("请从标准输入提供密码（例如 echo '密码' | gongjiang user add …）")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func runToken(ctx context.Context, args []string, env Env) error {
	if len(args) < 1 || args[0] != "create" {
		return fmt.Errorf("%w：gongjiang token create --user NAME [--label 说明] [--ttl 720h]", ErrUsage)
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	user := fs.String("user", "", "令牌所属用户")
	label := fs.String("label", "", "令牌说明")
	ttl := fs.Duration("ttl", 0, "有效期（如 720h；0 表示长期有效）")
	if err := parseFlags(fs, args[1:], env); err != nil {
		return err
	}
	if *user == "" {
		return fmt.Errorf("%w：需要 --user", ErrUsage)
	}
	db, _, err := dbf.openCurrent(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	token, err := auth.NewService(db).CreateAPIToken(ctx, "system", *user, *label, *ttl)
	if apperr.CodeOf(err) == apperr.NotFound {
		return fmt.Errorf("用户 %s 不存在", *user)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, token)
	return nil
}

// ErrAuditTampered is returned by audit verify when the log was altered.
var ErrAuditTampered = errors.New("审计日志校验失败")

func runAudit(ctx context.Context, args []string, env Env) error {
	if len(args) < 1 || args[0] != "verify" {
		return fmt.Errorf("%w：gongjiang audit verify", ErrUsage)
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	if err := parseFlags(fs, args[1:], env); err != nil {
		return err
	}
	db, _, err := dbf.openCurrent(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	problem, n, err := db.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if problem != nil {
		fmt.Fprintf(env.Stdout, "审计日志被篡改：第 %d 条：%s\n", problem.Seq, problem.Reason)
		return fmt.Errorf("%w：第一处问题在第 %d 条", ErrAuditTampered, problem.Seq)
	}
	fmt.Fprintf(env.Stdout, "审计日志完整：%d 条记录，哈希链与签名均无误（用时 %.2f 秒）\n", n, time.Since(start).Seconds())
	return nil
}

func runBackup(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	out := fs.String("out", "", "备份文件路径")
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w：需要 --out FILE", ErrUsage)
	}
	db, _, err := dbf.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Backup(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "已备份到 %s（请同时妥善保存实例密钥文件 %s）\n", *out, dbf.keyPath())
	return nil
}

func runVersion(ctx context.Context, args []string, env Env) error {
	fmt.Fprintf(env.Stdout, "gongjiang %s\n", Version)
	return nil
}
