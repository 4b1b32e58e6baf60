package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"sdgo/internal/config"
	"sdgo/internal/modelstore"
)

func init() {
	register("models", "list or delete the models in the models folder: models list|delete", runModels)
}

func runModels(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		return usagef("want a subcommand: list or delete")
	}
	switch args[0] {
	case "list", "ls":
		return runModelsList(e, args[1:])
	case "delete", "rm":
		return runModelsDelete(e, args[1:])
	}
	return usagef("unknown subcommand %q: want list or delete", args[0])
}

func runModelsList(e *Env, args []string) error {
	cfg := config.FromEnv(e.Getenv)
	fs := newFlags("models list", e)
	dir := fs.String("models-dir", cfg.ModelsDir, "webui-style models folder; env "+config.EnvModelsDir)
	asJSON := fs.Bool("json", false, "print a JSON array")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected arguments: %v", pos)
	}
	ms, err := modelstore.List(*dir)
	if err != nil {
		return err
	}
	if *asJSON {
		if ms == nil {
			ms = []modelstore.Model{}
		}
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(ms)
	}
	if len(ms) == 0 {
		fmt.Fprintf(e.Stderr, "no models in %s (Stable-diffusion/, Lora/, VAE/); get one with 'sdgo pull OWNER/REPO/FILE'\n", *dir)
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TYPE\tNAME\tSIZE\tMODIFIED")
	for _, m := range ms {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Kind, m.Name, humanBytes(m.Size), m.ModTime.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func runModelsDelete(e *Env, args []string) error {
	cfg := config.FromEnv(e.Getenv)
	fs := newFlags("models delete", e)
	dir := fs.String("models-dir", cfg.ModelsDir, "webui-style models folder; env "+config.EnvModelsDir)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want the NAME of one model, as 'sdgo models list' shows it")
	}
	m, err := modelstore.Delete(*dir, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "deleted %s %s\n", m.Kind, m.Path)
	return nil
}

// humanBytes formats a size as webui-ish "1.9 GB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
