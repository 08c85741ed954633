#!/usr/bin/env bash
# Smoke test of the built bundle (packaging/build.sh first): its frozen executable under Xvfb, as on a machine
# without Python: an empty environment apart from PATH=/usr/bin:/bin, a fresh HOME, no virtual environment.
# `playground --self-test` opens the window, trains one short run on the bundled MNIST sample in the training
# process (started from the frozen executable), draws a 1 on the canvas, checks the inference process's answer,
# saves a screenshot and quits. Exits non-zero if any of that fails.
#
#   packaging/smoke.sh [BUNDLE_DIR_OR_TARBALL]     default dist/Playground
#
# A tarball is unpacked into a temporary folder first and tried there (with its install.sh, into the fresh HOME).
# The screenshot goes to build/packaging/smoke.png (PLAYGROUND_SMOKE_SCREENSHOT to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-dist/Playground}
shot=$(realpath -m "${PLAYGROUND_SMOKE_SCREENSHOT:-build/packaging/smoke.png}")
started=$SECONDS
say() { printf 'smoke.sh: [%4ds] %s\n' $((SECONDS - started)) "$*"; }

command -v xvfb-run >/dev/null || { echo "smoke.sh: needs xvfb-run (apt-get install xvfb)" >&2; exit 1; }
scratch=$(mktemp -d /tmp/playground-smoke.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
home=$scratch/home
mkdir -p "$home" "$(dirname "$shot")"

if [[ -f "$target" ]]; then
    say "unpacking $target"
    tar -C "$scratch" -xzf "$target"
    bundle=$scratch/Playground
else
    bundle=$(realpath "$target")
fi
exe=$bundle/playground
[[ -x "$exe" ]] || { echo "smoke.sh: no executable $exe (run packaging/build.sh)" >&2; exit 1; }

# The environment of a person's desktop session, less everything that could lead to a Python.
run() { env -i PATH=/usr/bin:/bin HOME="$home" LANG=C.UTF-8 "$@"; }

say "the command line: playground presets"
presets=$(run "$exe" presets)
grep -qx mnist-cnn <<<"$presets" || { echo "smoke.sh: 'playground presets' did not list mnist-cnn" >&2; exit 1; }

if [[ -f "$target" ]]; then
    say "install.sh into the fresh HOME"
    run "$bundle/install.sh" >/dev/null
    exe=$home/.local/opt/playground/playground
    grep -q "^Exec=\"$exe\" %f$" "$home/.local/share/applications/playground.desktop" \
        || { echo "smoke.sh: the installed launcher does not run $exe" >&2; exit 1; }
    [[ -f "$home/.local/share/icons/hicolor/48x48/apps/playground.png" ]] \
        || { echo "smoke.sh: install.sh installed no icon" >&2; exit 1; }
fi

say "the window: $exe --self-test (under Xvfb)"
rm -f "$shot"
run xvfb-run -a -s "-screen 0 1400x900x24 -noreset" "$exe" --self-test --screenshot "$shot"
[[ -s "$shot" ]] || { echo "smoke.sh: no screenshot $shot" >&2; exit 1; }
say "passed; screenshot $shot"
