#!/usr/bin/env bash
# The GPU check, in one call, on a machine with a CUDA GPU and the project installed (README's install, with a
# CUDA build of torch): the CUDA-marked tests, `playground bench --device cuda`, a timed default-recipe run of
# mnist-cnn on the GPU, and `playground bench --gui --device cuda`; then one JSON summary on stdout (the last
# line). Each step's own output goes to $OUT (or a temporary folder). Exit status: 0 when every step ran and
# passed, 1 when one failed, 2 when there is no CUDA GPU here.
#
#   PLAYGROUND_MNIST_DIR=/path/to/mnist benchmarks/gpu_check.sh      # real MNIST for the timed run (IDX files)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-$(mktemp -d)}"
data="${PLAYGROUND_MNIST_DIR:-../shared/data/mnist}"
export QT_QPA_PLATFORM=offscreen PYTHONUNBUFFERED=1

if ! python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo '{"error": "no CUDA GPU (or a CPU build of torch) here"}'
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/gpu.txt" 2>&1

python -m pytest -q -m cuda -p no:cacheprovider tests > "$out/tests.txt" 2>&1
tests_rc=$?
python -m playground.cli bench --device cuda --json > "$out/bench.json" 2> "$out/bench.err"
bench_rc=$?
train_dataset=(--dataset mnist --data-dir "$data")
[ -d "$data" ] || train_dataset=(--dataset mnist-sample)
start=$(date +%s.%N)
python -m playground.cli train preset:mnist-cnn --device cuda "${train_dataset[@]}" > "$out/train.txt" \
    2> "$out/train.err"
train_rc=$?
end=$(date +%s.%N)
python -m playground.cli bench --gui --device cuda --json > "$out/bench_gui.json" 2> "$out/bench_gui.err"
gui_rc=$?

python - "$out" "$tests_rc" "$bench_rc" "$train_rc" "$gui_rc" "$start" "$end" <<'PY'
import json
import sys
from pathlib import Path

out = Path(sys.argv[1])
tests_rc, bench_rc, train_rc, gui_rc = (int(x) for x in sys.argv[2:6])
wall = float(sys.argv[7]) - float(sys.argv[6])


def last_json(name):
    try:
        lines = [line for line in (out / name).read_text().splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


tests_tail = (out / "tests.txt").read_text().strip().splitlines()[-1:] if (out / "tests.txt").exists() else []
train = last_json("train.txt")
summary = {
    "gpu": (out / "gpu.txt").read_text().strip() if (out / "gpu.txt").exists() else None,
    "cuda_tests": {"passed": tests_rc == 0, "summary": tests_tail[0] if tests_tail else None},
    "bench": last_json("bench.json") if bench_rc == 0 else {"failed": bench_rc},
    "train_default_recipe": {"wall_seconds": round(wall, 2), "result": train} if train_rc == 0
    else {"failed": train_rc},
    "bench_gui": last_json("bench_gui.json") if gui_rc == 0 else {"failed": gui_rc},
    "outputs": str(out),
}
print(json.dumps(summary))
sys.exit(0 if tests_rc == bench_rc == train_rc == gui_rc == 0 else 1)
PY
