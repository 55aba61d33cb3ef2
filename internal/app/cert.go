package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/pii"
)

// ErrCertInvalid is returned by cert verify when a payload is not genuine.
var ErrCertInvalid = errors.New("证书验证失败")

const certUsage = "gongjiang cert verify PAYLOAD_OR_FILE --key PUBLIC_KEY | cert keys | cert rotate-key --alg ed25519|sm2"

func runCert(ctx context.Context, args []string, env Env) error {
	if len(args) == 0 {
		return fmt.Errorf("%w：%s", ErrUsage, certUsage)
	}
	switch args[0] {
	case "verify":
		return runCertVerify(args[1:], env)
	case "keys":
		return runCertKeys(ctx, args[1:], env)
	case "rotate-key":
		return runCertRotate(ctx, args[1:], env)
	}
	return fmt.Errorf("%w：%s", ErrUsage, certUsage)
}

// positionalFirst parses a command with one positional argument that may
// stand before, between or after the flags, as in `cert verify PAYLOAD
// --key FILE` or `import students --db X FILE --mode valid-only`.
func positionalFirst(fs *flag.FlagSet, args []string, env Env) (string, error) {
	var pos string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		pos, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args, env); err != nil {
		return "", err
	}
	if pos == "" && fs.NArg() > 0 {
		pos = fs.Arg(0)
		if err := parseFlags(fs, fs.Args()[1:], env); err != nil { // the flags after it
			return "", err
		}
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("%w：多余的参数 %q", ErrUsage, fs.Arg(0))
	}
	return pos, nil
}

// runCertVerify checks a QR payload with published keys only: no network,
// no database.
func runCertVerify(args []string, env Env) error {
	fs := flag.NewFlagSet("cert verify", flag.ContinueOnError)
	keyFile := fs.String("key", "", "公钥文件：PEM 或 DER 格式的公钥，或 /api/v1/public/keys 下载的 JSON（含已停用的密钥）")
	input, err := positionalFirst(fs, args, env)
	if err != nil {
		return err
	}
	if input == "" || *keyFile == "" {
		return fmt.Errorf("%w：gongjiang cert verify PAYLOAD_OR_FILE --key PUBLIC_KEY", ErrUsage)
	}
	keys, err := readKeys(*keyFile)
	if err != nil {
		return err
	}
	payload := input
	if b, err := os.ReadFile(input); err == nil {
		payload = string(b)
		if bytes.HasPrefix(b, []byte("%PDF")) || bytes.HasPrefix(b, []byte("\x89PNG")) {
			return fmt.Errorf("%w：%s 是 PDF 或图片；请先用扫码工具（如 zbarimg --raw）读出二维码内容，再把内容或保存内容的文本文件交给本命令", ErrUsage, input)
		}
	}
	c, k, err := keys.Verify(payload)
	if err != nil {
		fmt.Fprintf(env.Stdout, "验证失败：%s\n", apperr.As(err).Message())
		return fmt.Errorf("%w：%s", ErrCertInvalid, apperr.As(err).Message())
	}
	fmt.Fprint(env.Stdout, cert.OfflineReport(c, k))
	return nil
}

// readKeys reads a key file: one PEM or DER public key, or the JSON key
// set the server publishes.
func readKeys(path string) (cert.KeySet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("无法读取公钥文件：%w", err)
	}
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '{' {
		var set struct {
			Keys []cert.Key `json:"keys"`
		}
		if err := json.Unmarshal(t, &set); err != nil {
			return nil, fmt.Errorf("公钥文件 %s 不是有效的 JSON：%w", path, err)
		}
		ks, err := cert.NewKeySet(set.Keys)
		if err != nil {
			return nil, fmt.Errorf("公钥文件 %s：%w", path, err)
		}
		return ks, nil
	}
	k, err := cert.ParsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("公钥文件 %s：%w", path, err)
	}
	return cert.NewKeySet([]cert.Key{*k})
}

func runCertKeys(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("cert keys", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	svc, closeDB, err := certService(ctx, dbf, env)
	if err != nil {
		return err
	}
	defer closeDB()
	keys, err := svc.Keys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		state := "启用中"
		if !k.Active() {
			state = "已停用 " + k.RetiredAt.In(shanghai).Format(time.DateTime)
		}
		fmt.Fprintf(env.Stdout, "密钥 %s  %s  创建 %s  %s\n%s\n", k.ID, k.Alg, k.CreatedAt.In(shanghai).Format(time.DateTime), state, k.PEM())
	}
	return nil
}

func runCertRotate(ctx context.Context, args []string, env Env) error {
	fs := flag.NewFlagSet("cert rotate-key", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs, env)
	alg := fs.String("alg", "ed25519", "新密钥的算法：ed25519 或 sm2（SM2 签名、SM3 杂凑，用于商用密码应用安全性评估）")
	if err := parseFlags(fs, args, env); err != nil {
		return err
	}
	name := map[string]string{"ed25519": cert.AlgEd25519, "sm2": cert.AlgSM2}[strings.ToLower(*alg)]
	if name == "" {
		return fmt.Errorf("%w：--alg 只能是 ed25519 或 sm2", ErrUsage)
	}
	svc, closeDB, err := certService(ctx, dbf, env)
	if err != nil {
		return err
	}
	defer closeDB()
	k, err := svc.RotateKey(ctx, "cli", name)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "已启用新的证书签名密钥 %s（%s）；此前的密钥已停用，它签发的证书仍可验证。各节点一分钟内改用新密钥。\n%s", k.ID, k.Alg, k.PEM())
	return nil
}

func certService(ctx context.Context, dbf dbFlags, env Env) (*cert.Service, func(), error) {
	db, kr, err := dbf.openCurrent(ctx, env)
	if err != nil {
		return nil, nil, err
	}
	return cert.NewService(db, pii.NewAESGCM(kr)), func() { db.Close() }, nil
}
