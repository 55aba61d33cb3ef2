// Command gongjiang is the technical-school education platform: one binary
// for the web server and every operator task.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/gongjiang/gongjiang/internal/app"
	"github.com/gongjiang/gongjiang/internal/apperr"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := app.Main(ctx, os.Args[1:], app.OSEnv())
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, app.ErrUsage):
		fmt.Fprintln(os.Stderr, "gongjiang:", err)
		os.Exit(2)
	default:
		var ae *apperr.Error
		if errors.As(err, &ae) && ae.Code != apperr.Internal {
			fmt.Fprintln(os.Stderr, "gongjiang:", ae.Message())
		} else {
			fmt.Fprintln(os.Stderr, "gongjiang:", err)
		}
		os.Exit(1)
	}
}
