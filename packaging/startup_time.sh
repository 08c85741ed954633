#!/usr/bin/env bash
# Start-up time, process start to window shown (mapped on the X server), of the bundle and of another command,
# each started N times in turn under one Xvfb, with a fresh settings folder each time. Prints each time and the
# median of each.
#
#   packaging/startup_time.sh [N] [BUNDLE_EXE] [OTHER_COMMAND]
#   defaults: 5, dist/Playground/playground, "python -m playground" (the venv or checkout this shell has)
#   e.g.  packaging/startup_time.sh 5 dist/Playground/playground "build/packaging/venv-app/bin/playground"
#
# The bundle runs with an empty environment apart from PATH=/usr/bin:/bin (as smoke.sh); the other command with
# this shell's environment. Needs xvfb-run and xdotool.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-5}
bundle=$(realpath "${2:-dist/Playground/playground}")
other=${3:-python -m playground}
for tool in xvfb-run xdotool; do
    command -v $tool >/dev/null || { echo "startup_time.sh: needs $tool" >&2; exit 1; }
done

export N=$n BUNDLE=$bundle OTHER=$other STDERR_LOG=${STDERR_LOG:-/dev/null}
results=$(mktemp)
xvfb-run -a -s "-screen 0 1400x900x24 -noreset" bash -c '
set -euo pipefail
launch() {  # $1: bundle or other, $2: a settings folder
    if [[ $1 == bundle ]]; then
        exec env -i PATH=/usr/bin:/bin HOME="$HOME" DISPLAY="$DISPLAY" XAUTHORITY="${XAUTHORITY:-}" \
            PLAYGROUND_SETTINGS_DIR="$2" "$BUNDLE"
    fi
    PLAYGROUND_SETTINGS_DIR="$2" exec $OTHER
}
time_one() {  # $1: bundle or other. Seconds from the start until a Playground window is visible.
    local settings; settings=$(mktemp -d)
    local t0; t0=$(date +%s.%N)
    launch "$1" "$settings" >/dev/null 2>"${STDERR_LOG:-/dev/null}" &
    local pid=$!
    until xdotool search --onlyvisible --name "^Playground" >/dev/null 2>&1; do
        kill -0 $pid 2>/dev/null || { echo "$1: exited before showing a window" >&2; return 1; }
        sleep 0.02
    done
    local t1; t1=$(date +%s.%N)
    kill $pid; wait $pid 2>/dev/null || true
    while xdotool search --onlyvisible --name "^Playground" >/dev/null 2>&1; do sleep 0.05; done
    sleep 3  # the helper processes it started end when their pipes close
    rm -rf "$settings"
    echo "$1 $(echo "$t1 - $t0" | bc)"
}
for i in $(seq "$N"); do
    time_one bundle
    time_one other
done
' | tee "$results"
for label in bundle other; do
    times=$(awk -v l=$label '$1 == l {print $2}' "$results" | sort -n)
    count=$(wc -l <<<"$times")
    printf 'median %s: %.2f s over %s starts (%s)\n' $label "$(sed -n "$(( (count + 1) / 2 ))p" <<<"$times")" \
        "$count" "$(tr '\n' ' ' <<<"$times" | sed 's/ $//')"
done
rm -f "$results"
