// Package verify runs reference fixture cases (a folder with a cases.json in
// the schema of shared/fixtures/README.md) against sdgo's own code and
// reports, per case, the largest error and the tolerance it had to meet.
//
// It sits at the pipeline level: it may import the model, sampling,
// tokenizer and prompt packages, and nothing imports it but the CLI.
package verify
