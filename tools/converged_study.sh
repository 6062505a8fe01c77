#!/usr/bin/env bash
# The converged real-CIFAR study: AnA and AnB at layers 0, 3 and 6, lambda_init 0.9 and 0.5 (paired), 3 runs each,
# 30 epochs (as long as the source), v at the paper's 1:1 rate, final value = mean of the last 5 epochs, on each of two
# independently trained sources (s0: the CPU study's source, base seed 0; s1: trained here, base seed 1).
# Then AnA at layers 2 and 4 from 0.9 (the dip test's neighbours of layer 3), a second grid in the same folders.
# One worker per call; run it once per core. Re-running the same command resumes (finished runs are skipped, a group
# goes on from its last finished epoch).   Usage: bash tools/converged_study.sh s0|s1 [GROUP]
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:?s0 or s1}; group=${2:-3}
seed=${which#s}
src=(); [ "$which" = s0 ] && src=(--source results/cifar-cpu/source.pt)
sweep() { OMP_NUM_THREADS=1 .venv/bin/quanta sweep --out results/cifar-converged/$which --preset cpu --data data \
  --kinds quanta --epochs 30 --settings lam_lr_mult=1 last_n=5 paired=True --seed "$seed" --group "$group" "${src[@]}" "$@"; }
sweep --tasks A B --layers 0 3 6 --lam-inits 0.9 0.5 --runs 3
# then AnA's layers 2 and 4 from 0.9, the neighbours that the test of the paper's dip at layer 3 compares it with
sweep --tasks A --layers 2 4 --lam-inits 0.9 --runs 3
