// Package i18n holds the catalogue of user-facing messages, keyed by a stable
// message key, so that every message shown to a user lives in one place and
// another language can be added beside Simplified Chinese later.
package i18n

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed zh-CN.json
var zhCN []byte

var catalogue = mustLoad(zhCN)

func mustLoad(b []byte) map[string]string {
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		panic("i18n: malformed catalogue: " + err.Error())
	}
	return m
}

// T returns the message for key formatted with args. A key missing from the
// catalogue is returned as is, which a test over the source tree prevents.
func T(key string, args ...any) string {
	format, ok := catalogue[key]
	if !ok {
		format = key
	}
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// Has reports whether key is in the catalogue.
func Has(key string) bool {
	_, ok := catalogue[key]
	return ok
}
