"""Named case sets, each a function returning a list of cases.

- `seeds`: the cookbook chapter's configurations, with drawn (gate-distinguishing) weights.
- `matrix`: op x direction x input mode x {no lengths, ragged lengths} x {1, 3 layers} x
  {default, set initial states}, at small sizes: 128 cases.
- `edge`: boundary sizes, degenerate lengths, saturation, growth and chaos, and the traps the
  default run must reach (gate pre-activations in the hundreds, past float32 `exp`'s overflow at
  88.7, for every op; ragged bidirectional; several batch dims with lengths; bidirectional stacks
  with initial states), named one by one.
"""

from __future__ import annotations

import itertools

from .case import Case

OPS = ("RELU", "TANH", "LSTM", "GRU")
DIRECTIONS = ("UNIDIRECTION", "BIDIRECTION")
INPUT_MODES = ("LINEAR", "SKIP")


def seeds() -> list[Case]:
    """The cookbook's examples: input (1, 3, 4, 7), hidden size 5 (data length 5 for SKIP)."""
    base = dict(hidden_size=5, max_seq_length=4, data_length=7, batch_dims=(1, 3), seed=1)
    return [
        Case("RELU", **base),
        Case("RELU", **base, seq_lengths=True),
        Case("RELU", **{**base, "data_length": 5}, input_mode="SKIP"),
        Case("RELU", **base, direction="BIDIRECTION"),
        Case("RELU", **base, hidden_state=True),
        Case("LSTM", **base, hidden_state=True, cell_state=True),
        Case("LSTM", **base, direction="BIDIRECTION", hidden_state=True, cell_state=True),
        Case("RELU", **base, layer_count=2),
    ]


def matrix() -> list[Case]:
    """The cross product of the small finite axes; 128 cases, ids unique."""
    cases = []
    for seed, (op, direction, mode, lens, layers, states) in enumerate(
            itertools.product(OPS, DIRECTIONS, INPUT_MODES, (False, True), (1, 3), (False, True))):
        cases.append(Case(op, layer_count=layers, hidden_size=4, max_seq_length=5,
                          data_length=4 if mode == "SKIP" else 6, batch_dims=(2, 3), direction=direction,
                          input_mode=mode, seq_lengths=lens, hidden_state=states,
                          cell_state=states and op == "LSTM", seed=seed))
    return cases


# name -> case; ill-conditioned ones say so in their name (their expectations are in `expectations`).
EDGE = {
    "one-step": Case("LSTM", layer_count=2, hidden_size=4, max_seq_length=1, data_length=3, direction="BIDIRECTION", seed=101),
    "batch-one": Case("GRU", hidden_size=4, max_seq_length=6, data_length=3, batch_dims=(1,), hidden_state=True, seed=102),
    "hidden-one": Case("TANH", layer_count=2, hidden_size=1, max_seq_length=5, data_length=3, direction="BIDIRECTION", seed=103),
    "lengths-all-one": Case("GRU", layer_count=2, hidden_size=4, max_seq_length=5, data_length=4, batch_dims=(2, 2),
                            direction="BIDIRECTION", seq_lengths=True, lengths="ones", seed=104),
    "lengths-all-full": Case("LSTM", hidden_size=4, max_seq_length=5, data_length=4, batch_dims=(3,), direction="BIDIRECTION",
                             seq_lengths=True, lengths="full", hidden_state=True, cell_state=True, seed=105),
    "saturated-lstm": Case("LSTM", hidden_size=6, max_seq_length=6, data_length=5, batch_dims=(3,), weight_scale=30.0,
                           hidden_state=True, cell_state=True, seed=106),
    "saturated-gru": Case("GRU", hidden_size=6, max_seq_length=6, data_length=5, batch_dims=(3,), weight_scale=30.0,
                          direction="BIDIRECTION", seed=107),
    "saturated-tanh": Case("TANH", hidden_size=6, max_seq_length=6, data_length=5, batch_dims=(3,), weight_scale=30.0, seed=108),
    "relu-growth-past-1e4": Case("RELU", hidden_size=8, max_seq_length=10, data_length=8, batch_dims=(2,), weight_scale=8.0, seed=109),
    "wide-input": Case("LSTM", hidden_size=2, max_seq_length=4, data_length=64, batch_dims=(2,), direction="BIDIRECTION", seed=110),
    "many-batch-dims": Case("GRU", layer_count=2, hidden_size=3, max_seq_length=4, data_length=3, batch_dims=(2, 1, 3),
                            seq_lengths=True, hidden_state=True, input_mode="SKIP", seed=111),
    "chaotic-tanh": Case("TANH", hidden_size=32, max_seq_length=128, data_length=4, batch_dims=(4,), weight_scale=3.3, seed=112),
    # Weight scale 200: every gate's pre-activation reaches the hundreds, of both signs (tests/test_cases.py
    # pins it), where an activation written with a float32 exp that overflows (past 88.7) gives NaN.
    "huge-preactivation-relu": Case("RELU", hidden_size=4, max_seq_length=2, data_length=4, batch_dims=(2,), weight_scale=200.0,
                                    direction="BIDIRECTION", seed=120),
    "huge-preactivation-tanh": Case("TANH", hidden_size=6, max_seq_length=6, data_length=5, batch_dims=(3,), weight_scale=200.0,
                                    hidden_state=True, seed=121),
    "huge-preactivation-lstm": Case("LSTM", hidden_size=6, max_seq_length=6, data_length=5, batch_dims=(3,), weight_scale=200.0,
                                    direction="BIDIRECTION", hidden_state=True, cell_state=True, seed=122),
    "huge-preactivation-gru": Case("GRU", hidden_size=6, max_seq_length=6, data_length=5, batch_dims=(3,), weight_scale=200.0,
                                   direction="BIDIRECTION", seq_lengths=True, seed=123),
    "ragged-bidirectional": Case("TANH", hidden_size=4, max_seq_length=6, data_length=3, batch_dims=(5,), direction="BIDIRECTION",
                                 seq_lengths=True, hidden_state=True, seed=124),
    "batch-dims-lengths-bidirectional": Case("LSTM", hidden_size=3, max_seq_length=5, data_length=4, batch_dims=(2, 3),
                                             direction="BIDIRECTION", seq_lengths=True, hidden_state=True, cell_state=True, seed=125),
    "bidirectional-layers-states-lstm": Case("LSTM", layer_count=2, hidden_size=4, max_seq_length=5, data_length=3, batch_dims=(2, 2),
                                             direction="BIDIRECTION", seq_lengths=True, hidden_state=True, cell_state=True, seed=126),
    "bidirectional-layers-states-gru": Case("GRU", layer_count=3, hidden_size=3, max_seq_length=4, data_length=5, batch_dims=(3,),
                                            direction="BIDIRECTION", hidden_state=True, seed=127),
}


def edge() -> list[Case]:
    return list(EDGE.values())


SETS = {"seeds": seeds, "matrix": matrix, "edge": edge}


def named(name: str) -> list[Case]:
    """The cases of set `name`."""
    if name not in SETS:
        raise ValueError(f"unknown case set {name!r}; allowed: {', '.join(SETS)}")
    return SETS[name]()


def random_cases(count: int, seed: int = 0) -> list[Case]:
    """`count` valid, well-conditioned cases drawn deterministically from `seed` (the `random:N` set)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    cases = []
    for i in range(count):
        op = str(rng.choice(OPS))
        mode = str(rng.choice(INPUT_MODES))
        hidden = int(rng.integers(1, 9))
        lens = bool(rng.integers(2))
        cases.append(Case(op, layer_count=int(rng.integers(1, 4)), hidden_size=hidden, max_seq_length=int(rng.integers(1, 9)),
                          data_length=hidden if mode == "SKIP" else int(rng.integers(1, 11)),
                          batch_dims=tuple(int(b) for b in rng.integers(1, 4, size=int(rng.integers(0, 3)))),
                          direction=str(rng.choice(DIRECTIONS)), input_mode=mode, seq_lengths=lens,
                          hidden_state=bool(rng.integers(2)), cell_state=op == "LSTM" and bool(rng.integers(2)),
                          seed=int(rng.integers(0, 2**31 - 1))))
    return cases
