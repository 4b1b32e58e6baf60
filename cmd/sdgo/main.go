// Command sdgo is Stable Diffusion in one Go binary: run `sdgo help`.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"sdgo/internal/cli"
)

func main() {
	if os.Getenv("SDGO_LOG") == "debug" {
		// Timings of model loading and graph compilation, among others.
		slog.SetLogLoggerLevel(slog.LevelDebug)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], &cli.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
