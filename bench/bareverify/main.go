// Command bareverify is the baseline of the certificate verification
// benchmark: a bare net/http handler doing the same indexed lookup on the
// same database as GET /api/v1/public/certificates/verify, with none of
// gongjiang's middleware, rate limiting, logging or metrics. bench/run
// drives both with wrk and reports the ratio.
//
//	bareverify --db bench.db --addr 127.0.0.1:18081      serve GET /verify?no=&name=
//	bareverify --db bench.db --paths 2000 --prefix /x    print request paths for wrk
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/url"

	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/store"
)

func main() {
	dsn := flag.String("db", "gongjiang.db", "database (SQLite path or postgres:// URL)")
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	paths := flag.Int("paths", 0, "print this many request paths (number and holder name of the newest certificates) and exit")
	prefix := flag.String("prefix", "/verify", "path the printed requests go to")
	flag.Parse()
	ctx := context.Background()
	db, err := store.Open(ctx, *dsn, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if *paths > 0 {
		certs, _, err := db.ListCertificates(ctx, cert.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Limit: *paths})
		if err != nil {
			log.Fatal(err)
		}
		for _, c := range certs {
			fmt.Printf("%s?%s\n", *prefix, url.Values{"no": {c.No}, "name": {c.HolderName}}.Encode())
		}
		return
	}
	http.HandleFunc("GET /verify", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		c, err := db.LookupCertificate(r.Context(), q.Get("no"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		status := "not_found"
		if c != nil && c.HolderName == q.Get("name") {
			status = c.Status
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"status": status, "certificate": c})
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
