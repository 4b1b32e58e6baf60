#!/usr/bin/env bash
# The whole test suite. Reference fixtures are read from ../shared/fixtures
# (override with SDGO_FIXTURES) and the CLIP vocabulary from ../shared/clip.
set -euo pipefail
cd "$(dirname "$0")"
go test -count=1 -timeout 20m ./...
