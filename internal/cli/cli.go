package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Env is the process around a command: arguments' environment and streams.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, e *Env, args []string) error
}

// commands lists every subcommand.
var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, e *Env, args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

// Run runs the sdgo command line args (without the program name) and
// returns the process exit code.
func Run(ctx context.Context, args []string, e *Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.Stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.Stderr, "sdgo: unknown command %q\n\n", args[0])
		usage(e.Stderr)
		return 2
	}
	err := cmd.run(ctx, e, args[1:])
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(e.Stderr, "sdgo %s: %v\n", args[0], err)
		return 2
	}
	fmt.Fprintf(e.Stderr, "sdgo %s: %v\n", args[0], err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "sdgo: Stable Diffusion in Go\n\nusage: sdgo <command> [flags]\n\ncommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'sdgo <command> -h' for a command's flags.")
}

// usageError marks a mistake in the command line (exit code 2).
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string, e *Env) *flag.FlagSet {
	fs := flag.NewFlagSet("sdgo "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	return fs
}

// parse parses args and rejects stray positional arguments beyond max.
func parse(fs *flag.FlagSet, args []string, maxPositional int) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > maxPositional {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args()[maxPositional:], " "))
	}
	return nil
}

// backendFlags adds the flags shared by every command that computes.
func backendFlags(fs *flag.FlagSet, e *Env) (backend, dtype *string) {
	backend = fs.String("backend", e.Getenv("SDGO_BACKEND"), "compute backend: go (pure Go, default), cuda (finds the PJRT CUDA plugin, e.g. of an installed JAX), or xla:/path/to/plugin.so; env SDGO_BACKEND")
	dtype = fs.String("dtype", e.Getenv("SDGO_DTYPE"), "weights and activations dtype: f32 (default on go), f16 (default on cuda; not on go) or bf16; env SDGO_DTYPE")
	return
}
