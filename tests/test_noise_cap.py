"""scripts/noise_cap.py: the score of the mirrored-controls oracle with sampled action noise."""

from __future__ import annotations

import numpy as np

from examples.mirrored_controls import MirroredControlsEnv


def test_noise_free_oracle_scores_one_and_noise_costs_more_the_larger_it_is(load_script) -> None:
    script = load_script("noise_cap")
    env = MirroredControlsEnv()
    scores = [script.noisy_oracle_score(env, std, np.random.default_rng(1))
              for std in (0.0, 0.3, 1.0)]  # fmt: skip
    # the family's own reference goals, so the noise-free oracle is the oracle exactly
    assert scores[0] == 1.0
    assert scores[0] > scores[1] > scores[2] > 0.0
