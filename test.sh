#!/usr/bin/env bash
# The whole test suite. Reference fixtures are read from ../shared/fixtures
# (override with SDGO_FIXTURES) and the CLIP vocabulary from ../shared/clip.
# Parity with the fixtures is the proof for models, samplers, tokenizer and
# parser, so the suite refuses to run without them rather than skip.
set -euo pipefail
cd "$(dirname "$0")"
fixtures=${SDGO_FIXTURES:-../shared/fixtures}
if [ ! -f "$fixtures/cases.json" ]; then
  echo "test.sh: no fixture folder at $fixtures (cases.json missing); set SDGO_FIXTURES" >&2
  exit 1
fi
export SDGO_FIXTURES=$(cd "$fixtures" && pwd)
go test -count=1 -timeout 20m ./...
