package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/keyring"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/web"
)

func BenchmarkZZVerify(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, "/tmp/smoke/p.db", nil)
	if err != nil {
		b.Fatal(err)
	}
	kr, _ := keyring.LoadFile("/tmp/smoke/p.db.key")
	protect := pii.NewAESGCM(kr)
	srv, err := web.New(web.Deps{DB: db, Auth: auth.NewService(db), Certs: cert.NewService(db, protect), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), VerifyPerMinute: 1e9})
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := os.ReadFile("/tmp/smoke/ours.txt")
	paths := strings.Split(strings.TrimSpace(string(raw)), "\n")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest("GET", paths[i%len(paths)], nil))
			if w.Code != 200 {
				b.Fatal(w.Code, w.Body.String())
			}
		}
	})
}
