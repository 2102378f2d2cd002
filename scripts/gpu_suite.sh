#!/usr/bin/env bash
# Every GPU measurement of docs/BENCHMARKS.md in one command (about 5 minutes on an H100), for a
# session that is lent a GPU machine for a short while:
#
#     bash scripts/gpu_suite.sh OUT_DIR
#
# Runs the CUDA tests (the *_cuda.py files and the protocol tests' CUDA cases), then RL²'s
# collect/update profile, RL²'s training speed on bandit and nav (scripts/bench_rl2.py) and the
# native envs against Gymnasium's SyncVectorEnv (scripts/bench_envs.py), writing each one's JSON
# and log under OUT_DIR and a summary at the end.
# Needs the project's Python packages (a machine without internet can take gymnasium and
# farama-notifications as wheels on PYTHONPATH).
#
#     bash scripts/gpu_suite.sh OUT_DIR open
#
# runs the GPU checks that the MAML and sweep issues still lack: MAML's CUDA tests, one MAML
# meta-iteration of the paper's nav setting on CUDA at meta-batch 20, 40 and 400 and one of
# cheetah-vel at 40 (scripts/bench_maml.py), a short MAML meta-training run on nav; then, where Ray
# is importable, one RL² nav run alone on the GPU and four at once as a sweep with
# --gpus-per-trial 0.25 (total env steps/s of the four against the one), and the memory benchmark
# (RSS and CUDA memory at 10% and 100% of a 10M-step nav run) on CUDA.
set -uo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ] || { [ $# -eq 2 ] && [ "$2" != open ]; }; then
  echo "usage: bash scripts/gpu_suite.sh OUT_DIR [open] (the folder for the logs and JSON files)" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
# the checkout's metarl for scripts/*.py too (they run with scripts/ on sys.path, not the root)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [ $# -eq 2 ] && [ "$2" = open ]; then
  # MAML: the CUDA tests, one meta-iteration of the paper's nav setting at meta-batch 20, 40 and
  # 400, one of cheetah-vel at 40, and a whole short meta-training run on nav (env steps/s with
  # its evaluation)
  $py -m pytest -q -p no:cacheprovider tests/agents/test_maml_cuda.py tests/agents/test_rl2_cuda.py \
    tests/agents/test_protocol.py -k "cuda" > "$out/tests_cuda.log" 2>&1
  tail -3 "$out/tests_cuda.log"
  for mb in 20 40 400; do
    $py scripts/bench_maml.py --device cuda --variants trpo-2nd ppo --iterations 3 \
      --overrides "{\"meta_batch\": $mb}" --json "$out/bench_maml_cuda_mb$mb.json" 2>&1 \
      | tee "$out/bench_maml_cuda_mb$mb.log"
  done
  rm -rf "$out/maml-nav-cuda"
  $py -m metarl.train --agent maml --env nav --device cuda --meta-batch 40 --steps 8000000 \
    --eval-tasks 100 --out "$out/maml-nav-cuda" 2>&1 | tail -25 | tee "$out/maml-nav-cuda.log"
  $py scripts/bench_maml.py --env cheetah-vel --device cuda --variants trpo-2nd --iterations 2 \
    --overrides '{"meta_batch": 40}' --json "$out/bench_maml_cuda_cheetah_mb40.json" 2>&1 \
    | tee "$out/bench_maml_cuda_cheetah_mb40.log"
  if ! $py -c "import ray" 2>/dev/null; then
    echo "ray is not importable here: the --gpus-per-trial sweep and the memory benchmark are skipped"
    exit 0
  fi
  # RL² nav, 20M env steps with 2048 parallel trials: alone, then four trials sharing the GPU
  rl2=(--env nav --steps 20000000 --num-envs 2048 --device cuda --eval-tasks 200)
  rm -rf "$out/alone" "$out/sweep"
  start=$(date +%s.%N)
  $py -m metarl.train --agent rl2 --seed 0 --out "$out/alone" "${rl2[@]}" 2>&1 | tail -5 \
    | tee "$out/alone.log"
  echo "alone_wall_s=$(awk "BEGIN {print $(date +%s.%N) - $start}")" | tee -a "$out/alone.log"
  start=$(date +%s.%N)
  $py -m metarl.sweep --agent rl2 --seeds 0,1,2,3 --gpus-per-trial 0.25 --cpus-per-trial 2 \
    --max-concurrent 4 --out "$out/sweep" "${rl2[@]}" 2>&1 | tail -15 | tee "$out/sweep.log"
  echo "sweep_wall_s=$(awk "BEGIN {print $(date +%s.%N) - $start}")" | tee -a "$out/sweep.log"
  $py - "$out" <<'PY' | tee "$out/gpus_per_trial.txt"
import json, pathlib, re, sys
out = pathlib.Path(sys.argv[1])
def wall(name):
    return float(re.findall(r"_wall_s=([0-9.]+)", (out / name).read_text())[-1])
alone = json.loads((out / "alone/eval/adaptation.json").read_text())["meta"]
trials = [json.loads(p.read_text())["meta"] for p in out.glob("sweep/trials/*/*/eval/adaptation.json")]
one = alone["train_env_steps"] / alone["train_wall_time_s"]
four = sum(t["train_env_steps"] for t in trials) / max(t["train_wall_time_s"] for t in trials)
print(f"one trial alone: {one:,.0f} env steps/s of training ({wall('alone.log'):.0f} s in all)")
print(f"{len(trials)} trials at 0.25 GPU each: {four:,.0f} env steps/s together, "
      f"{four / one:.2f}x one alone ({wall('sweep.log'):.0f} s in all, Ray's start-up included)")
PY
  $py scripts/bench_memory.py --steps 10000000 --json "$out/bench_memory_cuda.json" --markdown \
    2>&1 | tail -5 | tee "$out/bench_memory_cuda.log"
  exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
$py -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" | tee -a "$out/gpu.txt"
$py -m pytest -q -p no:cacheprovider tests/agents/test_rl2_cuda.py tests/agents/test_maml_cuda.py \
  tests/agents/test_protocol.py -k "cuda" > "$out/tests.log" 2>&1
tail -3 "$out/tests.log"
{
  $py scripts/profile_rl2.py --env bandit --num-envs 8192 32768 65536 --minibatches 4
  $py scripts/profile_rl2.py --env nav --num-envs 8192
  $py scripts/profile_rl2.py --env tabular-mdp --num-envs 4096 8192 --minibatches 32
  $py scripts/profile_rl2.py --env tabular-mdp --num-envs 4096 --minibatches 32 --hidden-size 512
} 2>&1 | tee "$out/profile_rl2.txt"
$py scripts/bench_rl2.py --device cuda --num-envs 32768 --steps 50000000 --skip-sb3 \
  --json "$out/bench_rl2_bandit.json" 2>&1 | tee "$out/bench_rl2_bandit.log"
$py scripts/bench_rl2.py --env nav --device cuda --num-envs 8192 --steps 50000000 --skip-sb3 \
  --json "$out/bench_rl2_nav.json" 2>&1 | tee "$out/bench_rl2_nav.log"
$py scripts/bench_envs.py --families bandit tabular-mdp nav --sizes 4096 --devices cuda \
  --native-seconds 1 --sync-seconds 0.5 --rounds 2 --json "$out/bench_envs.json" 2>&1 \
  | tee "$out/bench_envs.log"
echo "== summary"
tail -3 "$out/tests.log"
grep -h "metarl RL²" "$out"/bench_rl2_*.log
grep -h "^|" "$out/profile_rl2.txt" | grep -v -- "---\|parallel"
grep -h "^| " "$out/bench_envs.log" | tail -4
