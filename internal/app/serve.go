package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/demo"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/plan"
	"github.com/gongjiang/gongjiang/internal/school"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/student"
	"github.com/gongjiang/gongjiang/internal/transfer"
	"github.com/gongjiang/gongjiang/internal/web"
)

// ShutdownGrace is how long serve waits for requests in flight after a
// termination signal.
const ShutdownGrace = 30 * time.Second

func runServe(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	addrDefault := env.Getenv("GONGJIANG_ADDR")
	if addrDefault == "" {
		addrDefault = "127.0.0.1:8080"
	}
	addr := fs.String("addr", addrDefault, "监听地址（环境变量 GONGJIANG_ADDR）")
	withDemo := fs.Bool("demo", false, "数据库中没有学校时，载入演示数据")
	demoScale := fs.String("demo-scale", "province", "--demo 载入的规模：small、province 或 national")
	migrate := fs.Bool("migrate", false, "启动前升级数据库结构")
	logFormat := fs.String("log-format", "text", "日志格式：text 或 json")
	publicURL := fs.String("public-url", env.Getenv("GONGJIANG_PUBLIC_URL"), "公众访问本系统的地址，写入证书二维码，如 https://gj.example.gov.cn（环境变量 GONGJIANG_PUBLIC_URL；默认取每个请求的地址）")
	verifyRate := fs.Int("verify-rate", web.DefaultVerifyPerMinute, "每个地址每分钟可查验证书的次数（每个节点分别计）")
	importLease := fs.Duration("import-lease", transfer.DefaultLease, "节点停止响应多久后，其他节点（或重启后的本节点）接手它的导入任务")
	replicaURL := fs.String("db-replica", env.Getenv("GONGJIANG_DB_REPLICA"), "PostgreSQL 只读副本的 postgres:// 地址：公开查验、招生资质公示和规划指标从副本读（环境变量 GONGJIANG_DB_REPLICA）")
	replicaLag := fs.Duration("replica-max-lag", store.DefaultReplicaMaxLag, "副本落后主库超过这么久，公开读取改回主库")
	proxies := fs.String("trusted-proxies", env.Getenv("GONGJIANG_TRUSTED_PROXIES"), "可信反向代理的地址或网段，逗号分隔，如 127.0.0.1,10.0.0.0/8：只有来自它们的 X-Forwarded-For、X-Forwarded-Proto 才被采信（环境变量 GONGJIANG_TRUSTED_PROXIES）")
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	trusted, err := parseProxies(*proxies)
	if err != nil {
		return fmt.Errorf("%w：%v", ErrUsage, err)
	}
	if *importLease < time.Second {
		return fmt.Errorf("%w：--import-lease 至少 1s", ErrUsage)
	}
	scale, err := demo.ParseScale(*demoScale)
	if err != nil {
		return fmt.Errorf("%w：%v", ErrUsage, err)
	}
	logger := newLogger(env, *logFormat)
	db, kr, err := dbf.open(ctx, env)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := ensureSchema(ctx, db, *migrate, env); err != nil {
		return err
	}
	if *replicaURL != "" {
		if err := db.AttachReplica(ctx, *replicaURL, *replicaLag); err != nil {
			return err
		}
		rep := db.Replica()
		logger.Info("read replica attached", "in_use", rep.InUse, "error", rep.Error)
	}
	protect := pii.NewAESGCM(kr)
	if *withDemo {
		if err := loadDemoIfEmpty(ctx, db, protect, scale, env); err != nil {
			return err
		}
	}
	// The plans of the seed documents, once; after the demo, so that a
	// demo's school groups get members.
	if _, err := db.EnsureBuiltinPlans(ctx); err != nil {
		return err
	}
	students := student.NewService(db, protect)
	certs := cert.NewService(db, protect)
	students.OnGraduated = func(ctx context.Context, st *student.Student) {
		if _, err := certs.IssueFor(ctx, st, "system"); err != nil {
			logger.Error("issue certificate (the job will retry)", "student", st.StudentNo, "error", err)
		}
	}
	comparison := &student.Comparison{Store: db, Protect: protect, Now: time.Now}
	schools := school.NewService(db)
	imports := transfer.NewRunner(db, students, schools, protect)
	imports.Lease, imports.Logger = *importLease, logger
	srv, err := web.New(web.Deps{DB: db, Auth: auth.NewService(db), Schools: schools, Students: students, Compare: comparison, Certs: certs,
		Filings: school.NewFilingService(db), Imports: imports, Plans: plan.NewService(db), Logger: logger, Version: Version, PublicURL: *publicURL, VerifyPerMinute: *verifyRate,
		TrustedProxies: trusted})
	if err != nil {
		return err
	}
	jobCtx, stopJobs := context.WithCancel(ctx)
	defer stopJobs()
	bg := &jobs{students: students, certs: certs, warm: srv.WarmPublic, comparison: comparison, facts: db.RebuildFacts, purgeImports: db.PurgeImportJobs, logger: logger, now: time.Now}
	bg.lastNight = time.Now().In(shanghai).Format("2006-01-02") // the first nightly run is the next night
	go bg.run(jobCtx)
	go db.WatchReplica(jobCtx, time.Second)
	importsDone := make(chan struct{})
	go func() {
		defer close(importsDone)
		imports.Run(jobCtx)
	}()
	// An import in progress stops (its lease released, to be resumed from
	// its checkpoint) before the database closes.
	defer func() {
		stopJobs()
		<-importsDone
	}()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("无法监听 %s：%w", *addr, err)
	}
	httpSrv := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(env.Stdout, "工匠已启动：http://%s （数据库：%s）\n", ln.Addr(), db.Engine)
	if *withDemo {
		fmt.Fprintf(env.Stdout, "演示账号（密码均为 %s）：省级 %s；审计员 %s；济南市 %s；学校账号形如 school-<学校代码>，如 %s\n",
			demo.Password, demo.ProvinceUser, demo.AuditorUser, demo.CityUser("370100"), demo.SchoolUser("3701001"))
	}
	if env.OnListen != nil {
		env.OnListen(ln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- httpSrv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace_seconds", ShutdownGrace.Seconds())
	sctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		return fmt.Errorf("关闭服务时仍有请求未完成：%w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// parseProxies reads a comma-separated list of addresses and networks.
func parseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if a, err := netip.ParseAddr(item); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies：%q 不是地址或网段", item)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func newLogger(env Env, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(env.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(env.Stderr, opts))
}

// ensureSchema migrates a brand-new database, and refuses to serve an
// existing one whose schema is not this binary's unless told to migrate.
func ensureSchema(ctx context.Context, db *store.DB, migrate bool, env Env) error {
	current, target, err := db.SchemaVersions(ctx)
	if err != nil {
		return err
	}
	if current == 0 || (migrate && current < target) {
		n, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(env.Stdout, "已升级数据库结构：应用 %d 个迁移\n", n)
		}
		return nil
	}
	return db.CheckSchema(ctx)
}

func loadDemoIfEmpty(ctx context.Context, db *store.DB, protect pii.Protector, scale demo.Scale, env Env) error {
	n, err := db.CountSchoolsAll(ctx)
	if err != nil || n > 0 {
		return err
	}
	fmt.Fprintf(env.Stdout, "数据库为空，正在载入演示数据（%s），全省规模不到一分钟，全国规模约四分钟……\n", scale)
	sum, err := demo.Generate(ctx, db, protect, scale, 1)
	if err != nil {
		return err
	}
	printDemoSummary(env, sum)
	return nil
}

func printDemoSummary(env Env, sum demo.Summary) {
	fmt.Fprintf(env.Stdout, "演示数据：%d 所学校（技师学院 %d，高级技工学校 %d，技工学校 %d），%d 个账号，学籍 %d 条（在籍 %d），毕业证书 %d 份（已撤销 %d），用时 %.1f 秒\n",
		sum.Schools, sum.ByType["技师学院"], sum.ByType["高级技工学校"], sum.ByType["技工学校"], sum.Users,
		sum.Students.Records, sum.Students.Active, sum.Students.Certificates, sum.Students.Revoked, sum.Elapsed.Seconds())
}
