#!/usr/bin/env bash
# Release-profile variants: each is built as a profile of its own (cargo --config, into
# $CARGO_TARGET_DIR/<variant>/, so none overwrites another or the release build), then its
# build time, binary size and `--version` start-up are printed. Every variant sets every
# knob itself, so the figures do not depend on what Cargo.toml's [profile.release] says.
#   tests/bench/profiles.sh [VARIANT...]     (default: all of them)
# Each variant is a full optimised build of ~400 crates: 10 to 25 minutes on 2 busy cores.
# Not part of `scripts/bench.sh all`.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
set -euo pipefail

# name: opt-level lto codegen-units panic (strip = true for all)
declare -A VARIANTS=(
    [p-base]='3 false 16 unwind'    # the release profile before issue 11 (strip only)
    [p-lto]='3 "fat" 1 unwind'
    [p-lto-s]='"s" "fat" 1 unwind'
    [p-lto-z]='"z" "fat" 1 unwind'
    [p-thin-s]='"s" "thin" 16 unwind'
    [p-lto-s-abort]='"s" "fat" 1 abort' # measured only: a panicking check must stay an `error` row
    [p-lto-s-hot]='"s" "fat" 1 unwind'  # + opt-level 3 for the crates a layer download runs through
)
ORDER="p-base p-lto p-lto-s p-lto-z p-thin-s p-lto-s-abort p-lto-s-hot"
HOT="sha2 rustls hyper h2 bytes tokio reqwest"
machine
for v in ${*:-$ORDER}; do
    [ -n "${VARIANTS[$v]:-}" ] || die "unknown variant $v (known: $ORDER)"
    read -r opt lto cgu panic <<<"${VARIANTS[$v]}"
    extra=()
    if [ "$v" = p-lto-s-hot ]; then
        for c in $HOT; do extra+=(--config "profile.$v.package.$c.opt-level=3"); done
    fi
    t0="$(now_ms)"
    cargo build --locked --quiet --bin ecr-doctor --profile "$v" \
        --config "profile.$v.inherits=\"release\"" --config "profile.$v.opt-level=$opt" \
        --config "profile.$v.lto=$lto" --config "profile.$v.codegen-units=$cgu" \
        --config "profile.$v.panic=\"$panic\"" --config "profile.$v.strip=true" \
        --config "profile.$v.debug=false" "${extra[@]}"
    t1="$(now_ms)"
    bin="$TARGET/$v/ecr-doctor"
    start="-"
    if command -v hyperfine >/dev/null; then
        json="$(mktemp)"
        hyperfine -N --warmup 20 --runs 200 --export-json "$json" "$bin --version" >/dev/null 2>&1
        start="$("$LABPY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print("%.2f" % (r["median"] * 1e3))' "$json")"
        rm -f "$json"
    fi
    awk -v v="$v" -v o="$opt" -v l="$lto" -v c="$cgu" -v p="$panic" -v b="$(stat -c %s "$bin")" \
        -v s="$start" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1000 }')" 'BEGIN {
        printf "profile %-14s opt-level=%-3s lto=%-6s codegen-units=%-2s panic=%-6s: %.1f MB (%.1f MiB), --version median %s ms, built in %.0f s\n",
            v, o, l, c, p, b / 1e6, b / 1048576, s, t }'
done
