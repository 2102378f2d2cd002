#!/usr/bin/env bash
# Every GPU measurement of docs/BENCHMARKS.md in one command (about 5 minutes on an H100), for a
# session that is lent a GPU machine for a short while:
#
#     bash scripts/gpu_suite.sh OUT_DIR
#
# Runs the CUDA tests, then RL²'s collect/update profile, RL²'s training speed on bandit and nav
# (scripts/bench_rl2.py) and the native envs against Gymnasium's SyncVectorEnv
# (scripts/bench_envs.py), writing each one's JSON and log under OUT_DIR and a summary at the end.
# Needs the project's Python packages (a machine without internet can take gymnasium and
# farama-notifications as wheels on PYTHONPATH).
#
#     bash scripts/gpu_suite.sh OUT_DIR tables
#
# runs instead the RL² cells of the RL² paper's Tables 1 and 2 that docs/BENCHMARKS.md still
# lacks (bandits n = 10 with k = 10, 50; n = 100 with k = 50; n = 500; tabular MDPs n = 25 to
# 100), one after the other into runs/repro-*-s0, each resumed with --resume where its
# checkpoint exists: run the same command again on the next lease and it continues where the
# last one stopped. Each run evaluates itself on the 1000 held-out tasks of seed 0 at the end
# (runs/<name>/eval/adaptation.json, beside the classic columns of scripts/classic_*.py).
set -uo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ] || { [ $# -eq 2 ] && [ "$2" != tables ]; }; then
  echo "usage: bash scripts/gpu_suite.sh OUT_DIR [tables] (the folder for the logs and JSON files)" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1

# train_or_resume NAME STEPS ARGS...: train runs/NAME for STEPS env steps with ARGS, or resume it.
train_or_resume() {
  local name=$1 steps=$2 dir=runs/$1
  shift 2
  if [ -f "$dir/checkpoint.pt" ]; then
    $py -m metarl.train --resume "$dir" --steps "$steps" --device cuda
  else
    rm -rf "$dir"  # killed before its first checkpoint: nothing to keep
    $py -m metarl.train --agent rl2 --steps "$steps" --seed 0 --eval-tasks 1000 --device cuda \
      --out "$dir" "$@"
  fi 2>&1 | tee -a "$out/$name.log"
}

if [ $# -eq 2 ]; then
  # Table 1: env steps as the existing runs (5M at n = 10, k = 5; 30M and 50M at n = 100,
  # k = 5 and 10), scaled up for more arms and longer trials (scripts/classic_bandits.py RL2_STEPS)
  for cell in 10,10,10000000 10,50,20000000 100,50,100000000 \
              500,5,150000000 500,10,250000000 500,50,500000000; do
    IFS=, read -r n k steps <<< "$cell"
    scale=$($py -c "print(f'{min(1.0, 10 / $n):g}')")
    train_or_resume "repro-bandit-n$n-k$k-s0" "$steps" --env bandit --env-kwargs "num_arms=$k" \
      --episodes-per-trial "$n" --reward-scale "$scale"
  done
  # Table 2: the tabular-MDP preset (100M env steps at n = 10) with longer trials
  for n in 25 50 75 100; do
    train_or_resume "repro-mdp-n$n-s0" 100000000 --env tabular-mdp --episodes-per-trial "$n"
  done
  grep -h "held-out\|total return" "$out"/repro-*.log | tail -20
  exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
$py -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" | tee -a "$out/gpu.txt"
$py -m pytest -q -p no:cacheprovider tests/agents/test_rl2_cuda.py 2>&1 | tail -3 | tee "$out/tests.log"
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
cat "$out/tests.log"
grep -h "metarl RL²" "$out"/bench_rl2_*.log
grep -h "^|" "$out/profile_rl2.txt" | grep -v -- "---\|parallel"
grep -h "^| " "$out/bench_envs.log" | tail -4
