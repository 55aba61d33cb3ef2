// Package app wires gongjiang together: configuration, database, keys,
// services and the HTTP server, and the subcommands of the gongjiang binary.
// End-to-end tests call Main directly.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/keyring"
	"github.com/gongjiang/gongjiang/internal/store"
)

// Version is set at build time (-ldflags "-X …/internal/app.Version=…").
var Version = "dev"

// Env is the process environment a command runs in.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// OnListen, if set, is called with the address serve listens on.
	OnListen func(addr string)
}

// OSEnv is the real environment.
func OSEnv() Env {
	return Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, env Env) error
}

func commands() []command {
	return []command{
		{"serve", "启动 Web 服务（--demo 在空库上载入演示数据）", runServe},
		{"migrate", "把数据库结构升级到最新版本", runMigrate},
		{"demo", "生成演示数据（--scale small|province|national --seed N）", runDemo},
		{"user", "管理用户：user add NAME --role ROLE [--scope CODE]（密码从标准输入读取）", runUser},
		{"token", "生成 API 令牌：token create --user NAME", runToken},
		{"audit", "校验审计日志：audit verify", runAudit},
		{"import", "导入：import template students|schools --out FILE.xlsx（写出导入模板）", runImport},
		{"export", "导出 Excel：export students|schools --out FILE.xlsx [--school CODE] [--city CODE] [--status S]（省级范围，证件号码打码）", runExport},
		{"majors", "专业目录：majors list（CSV 输出）、majors import FILE.csv [--dry-run]（导入官方专业目录）", runMajors},
		{"cert", "毕业证书：cert verify PAYLOAD_OR_FILE --key FILE（离线验证）、cert keys、cert rotate-key --alg ed25519|sm2", runCert},
		{"backup", "备份 SQLite 数据库：backup --out FILE", runBackup},
		{"version", "显示版本", runVersion},
	}
}

// ErrUsage marks a command-line mistake (exit status 2).
var ErrUsage = errors.New("用法错误")

// Main runs the command named by args[0].
func Main(ctx context.Context, args []string, env Env) error {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(env.Stdout)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], env)
		}
	}
	usage(env.Stderr)
	return fmt.Errorf("%w：未知命令 %q", ErrUsage, args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "工匠 gongjiang — 技工教育管理平台\n\n用法：gongjiang <命令> [参数]\n\n命令：")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\n通用参数：--db 数据库（SQLite 文件路径或 postgres:// URL，环境变量 GONGJIANG_DB，默认 ./gongjiang.db）"+
		"\n          --key-file 实例密钥文件（环境变量 GONGJIANG_KEY_FILE；或用 GONGJIANG_MASTER_KEY 直接给出）")
}

// dbFlags are the flags every database command takes.
type dbFlags struct {
	db, keyFile string
}

func (f *dbFlags) register(fs *flag.FlagSet, env Env) {
	def := env.Getenv("GONGJIANG_DB")
	if def == "" {
		def = "./gongjiang.db"
	}
	fs.StringVar(&f.db, "db", def, "SQLite 文件路径或 postgres:// URL（环境变量 GONGJIANG_DB）")
	fs.StringVar(&f.keyFile, "key-file", env.Getenv("GONGJIANG_KEY_FILE"), "实例密钥文件（默认：SQLite 数据库旁的 .key 文件；PostgreSQL 为 ./gongjiang.key）")
}

// keyPath is where the instance key lives: beside a SQLite database, or
// in the working directory for PostgreSQL.
func (f *dbFlags) keyPath() string {
	if f.keyFile != "" {
		return f.keyFile
	}
	if store.IsPostgres(f.db) {
		return "gongjiang.key"
	}
	return filepath.Clean(f.db) + ".key"
}

// open opens the database with the instance's keys.
func (f *dbFlags) open(ctx context.Context, env Env) (*store.DB, *keyring.Keyring, error) {
	if f.db == "" {
		return nil, nil, fmt.Errorf("%w：--db 不能为空", ErrUsage)
	}
	if !store.IsPostgres(f.db) && strings.Contains(f.db, "://") {
		return nil, nil, fmt.Errorf("%w：--db 只接受 SQLite 文件路径或 postgres:// URL", ErrUsage)
	}
	kr, err := loadKeyring(f.keyPath(), env)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(ctx, f.db, audit.NewSigner(kr.AuditSigningKey()))
	if err != nil {
		return nil, nil, err
	}
	return db, kr, nil
}

// openCurrent opens the database for a command that needs the schema to
// match the binary (everything but migrate and serve, which migrate).
func (f *dbFlags) openCurrent(ctx context.Context, env Env) (*store.DB, *keyring.Keyring, error) {
	db, kr, err := f.open(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	if err := db.CheckSchema(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, kr, nil
}

func loadKeyring(path string, env Env) (*keyring.Keyring, error) {
	if v := env.Getenv(keyring.EnvMasterKey); v != "" {
		return keyring.Parse(v)
	}
	return keyring.LoadFile(path)
}

func parseFlags(fs *flag.FlagSet, args []string, env Env) error {
	fs.SetOutput(env.Stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w：%v", ErrUsage, err)
	}
	return nil
}
