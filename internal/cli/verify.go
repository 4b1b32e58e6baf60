package cli

import (
	"context"
	"strings"

	"sdgo/internal/fixture"
	"sdgo/internal/verify"
)

func init() {
	register("verify", "run reference fixture cases (cases.json) and report max errors vs tolerances", runVerify)
}

func runVerify(ctx context.Context, e *Env, args []string) error {
	fs := newFlags("verify", e)
	dir := fs.String("fixtures", "", "fixture folder holding cases.json (default: $SDGO_FIXTURES or the nearest shared/fixtures)")
	kinds := fs.String("kinds", "", "comma-separated case kinds to run (default all); known: "+strings.Join(verify.KnownKinds(), ","))
	match := fs.String("match", "", "only cases whose id contains this text")
	backend, dtype := backendFlags(fs, e)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if *dir == "" {
		d, err := fixture.FindDir()
		if err != nil {
			return usagef("--fixtures is required: %v", err)
		}
		*dir = d
	}
	opts := verify.Options{Match: *match, Backend: *backend, DType: *dtype}
	if *kinds != "" {
		opts.Kinds = strings.Split(*kinds, ",")
	}
	_, err := verify.Run(ctx, *dir, opts, e.Stdout)
	return err
}
