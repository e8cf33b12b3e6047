#!/usr/bin/env bash
# The GPU check: one run, one line per figure (name=value), all figures in one JSON file.
#
#   bash benchmarks/gpu_check.sh [--json FILE]      # on one GPU, bf16: its steps' limits add to 8 minutes
#   bash benchmarks/gpu_check.sh --cpu-smoke        # the same steps, tiny models and sizes, on CPU
#
# (a) benchmarks/score.py --shape 7b (random weights of a 7B release's shapes, bf16) for Qwen2-Audio
#     and Qwen2.5-Omni: items/s of naive, shared-prefix and batched scoring per mode and K, and the
#     largest shared-vs-naive loss difference against a bf16 tolerance (benchmarks/gpu_check.py);
# (b) faster-whisper base on the GPU: clips/s at batch 1 and 16, --asr-window 30 and auto (64 of
#     the English sample's clips, best of two passes);
# (c) s2s build of 30 generated stories with --device cuda, under each window: clips/s and the
#     projected sStoryCloze build (3742 items, 3 clips each), start-up included;
# (d) torchrun --nproc_per_node 2 scoring on the one GPU (both ranks on cuda:0, batch 1), merged,
#     against the one-process run: the same score lines and summary.
# --cpu-smoke: (a) tiny random models in float32, (b) 4 clips at batch 1 and 4, (c) 4 stories, (d) 8
# items, all on CPU (tests/test_gpu_check.py runs it). A step that fails or runs past its limit is
# recorded as STEP_failed=rc and the others still run; the exit status is 1 if any failed.
#
# Needs the project's dependencies (pip install -e '.[all]' or the lock: torch 2.11 + CUDA 13,
# faster-whisper with CTranslate2 built for CUDA, the offline Whisper base packages, espeak-ng).
# PYTHON picks the interpreter (default: .venv/bin/python when there, else python3).
set -uo pipefail
cd "$(dirname "$0")/.."

smoke=0
json=gpu_check.json
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu-smoke) smoke=1 ;;
    --json) json="$2"; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TOKENIZERS_PARALLELISM=false
work=$(mktemp -d "${TMPDIR:-/tmp}/s2s-gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
figures="$work/figures.jsonl"
: >"$figures"
helper=(benchmarks/gpu_check.py)
failed=0

if [ "$smoke" = 1 ]; then
  device=cpu; torch_device=cpu; dtype=float32; shape=tiny; clips=4; batch=4; passes=1; count=4; limit=8
  limits=(120 120 120 120)
else
  device=cuda; torch_device=cuda:0; dtype=bfloat16; shape=7b; clips=64; batch=16; passes=2; count=30; limit=
  # Seconds: (a) each family, (b), (c) each window, (d) each run: 8 minutes at most in all.
  # Not yet measured on a GPU: (a) writes and reads about 17 GB of random weights per family.
  limits=(150 45 35 35)
fi

# step NAME LIMIT COMMAND...: run it with a time limit, its output in $work/NAME.log (the figures it
# added shown); a failure is a figure, its log's end is shown, and the run goes on.
step() {
  local name=$1 limit=$2
  shift 2
  local started=$SECONDS before
  before=$(wc -l <"$figures")
  timeout --kill-after 10 "$limit" "$@" >"$work/$name.log" 2>&1
  local rc=$?
  "$PYTHON" "${helper[@]}" show --figures "$figures" --after "$before"
  if [ "$rc" != 0 ]; then
    tail -n 20 "$work/$name.log" >&2
    echo "$name: failed (exit $rc$([ "$rc" = 124 ] && echo ", past its ${limit} s"))" >&2
    "$PYTHON" - "$figures" "$name" "$rc" <<'EOF'
import json, sys
print(f"{sys.argv[2]}_failed={sys.argv[3]}")
open(sys.argv[1], "a").write(json.dumps({"name": f"{sys.argv[2]}_failed", "value": int(sys.argv[3])}) + "\n")
EOF
    failed=1
  fi
  echo "($name: $((SECONDS - started)) s)"
  return 0
}

"$PYTHON" "${helper[@]}" env --device "$device" || exit 2

# (a) shared-prefix scoring on 7B-shaped random models, bf16
for adapter in qwen2-audio qwen2.5-omni; do
  name="score_${adapter//[.-]/_}"
  step "$name" "${limits[0]}" "$PYTHON" benchmarks/score.py --adapter "$adapter" --shape "$shape" --device "$torch_device" --dtype "$dtype" --repeats 1
  "$PYTHON" "${helper[@]}" score-figures --log "$work/$name.log" --adapter "$adapter" --dtype "$dtype" --figures "$figures" || failed=1
done

# (b) faster-whisper base: batch 1 vs 16, window 30 vs auto
step whisper "${limits[1]}" "$PYTHON" "${helper[@]}" whisper --device "$device" --clips "$clips" --batch "$batch" --passes "$passes" \
  --figures "$figures"

# (c) s2s build of generated stories on the device, under each window
"$PYTHON" "${helper[@]}" stories --count "$count" "$work/stories.csv"
for window in 30 auto; do
  started=$(date +%s%N)
  step "build_window$window" "${limits[2]}" "$PYTHON" -m s2sbench build "$work/stories.csv" -o "$work/build-$window" --device "$device" \
    --asr-window "$window" --retries 0 -q
  ms=$((($(date +%s%N) - started) / 1000000))
  seconds="$((ms / 1000)).$(printf %03d $((ms % 1000)))"
  if [ -f "$work/build-$window/items.jsonl" ]; then
    "$PYTHON" "${helper[@]}" build-figures --build "$work/build-$window" --seconds "$seconds" --label "${device}_window$window" --figures "$figures"
  fi
done

# (d) torchrun, two processes on the one device, merged, against one process
"$PYTHON" -m tests.models_speech "$work/tiny-qwen2-audio" >/dev/null 2>&1
"$PYTHON" -m s2sbench build sample:en -o "$work/sample" --no-validate ${limit:+--limit $limit} -q >/dev/null 2>&1
# One CPU thread in each (torchrun's default for its ranks): the same sums, so the same scores on a CPU.
step score_one_process "${limits[3]}" env OMP_NUM_THREADS=1 "$PYTHON" -m s2sbench score "$work/sample" -m "$work/tiny-qwen2-audio" -o "$work/one" \
  --device "$torch_device" --batch-size 1 -q
step score_torchrun "${limits[3]}" "$PYTHON" -m torch.distributed.run --standalone --nproc_per_node 2 -m s2sbench score "$work/sample" \
  -m "$work/tiny-qwen2-audio" -o "$work/two" --device "$torch_device" --batch-size 1 -q
if [ -f "$work/one/summary.json" ] && [ -f "$work/two/summary.json" ]; then
  "$PYTHON" "${helper[@]}" same-scores --one "$work/one" --two "$work/two" --figures "$figures"
fi

echo "gpu_check_seconds=$SECONDS"
echo "{\"name\": \"gpu_check_seconds\", \"value\": $SECONDS}" >>"$figures"
"$PYTHON" "${helper[@]}" finish --figures "$figures" --json "$json"
exit $failed
