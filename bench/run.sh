#!/bin/sh
# Organisation benchmark against moto (issue 5): starts moto, builds an
# organisation of A accounts × R regions × N notebooks through the AWS SDK
# (reproducible by seed), measures the emulator's own calls per second,
# runs `sagefence scan --org --stats` and a 100,000-notebook `scan --input`,
# and prints a Markdown section for bench/RESULTS.md on stdout (progress on
# stderr). Flags: -accounts 3 -regions 3 -notebooks 200 -seed 1
# -workers 8 -concurrency 8 -inventory 100000 -runs 3.
# Needs Go and moto (`make moto`).
set -eu
cd "$(dirname "$0")/.."
exec go run ./bench/orgbench "$@"
