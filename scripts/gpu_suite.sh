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
set -uo pipefail
if [ $# -ne 1 ]; then
  echo "usage: bash scripts/gpu_suite.sh OUT_DIR (the folder for the logs and JSON files)" >&2
  exit 2
fi
out=$1
mkdir -p "$out"
py=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
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
