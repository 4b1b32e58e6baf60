// Command sdgo is Stable Diffusion in one Go binary: run `sdgo help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"sdgo/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], &cli.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
