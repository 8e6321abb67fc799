"""Named case sets, each a function returning a list of cases.

- `seeds`: the cookbook chapter's configurations, with drawn (gate-distinguishing) weights.
- `matrix`: op x direction x input mode x {no lengths, ragged lengths} x {1, 3 layers} x
  {default, set initial states}, at small sizes: 128 cases.
- `edge`: boundary sizes, degenerate lengths, saturation, growth and chaos, and the traps the
  default run must reach (gate pre-activations in the hundreds, past float32 `exp`'s overflow at
  88.7, for every op; ragged bidirectional; several batch dims with lengths; bidirectional stacks
  with initial states), named one by one.
- `onnx`: ONNX-operator cases (`OnnxCase`, one RNN/GRU/LSTM node): every op x direction x {no lengths,
  ragged} x {no states, initial states}, and the attribute axes crossed with direction: each of the 11
  activations with non-default alpha/beta (and Affine, ThresholdedRelu with theirs left to the defaults),
  `clip` reached by the cell state, peepholes, `input_forget`, `linear_before_reset` 0 and 1, `layout=1`,
  no bias, all-ones and all-S lengths; small sizes: 160 cases.
- `streaming`: cases run chunk by chunk, the states carried between calls (`chunk`, `cases.chunks`): every op,
  unidirectional, 1 to 3 layers, SKIP and LINEAR, with and without initial states, 1 step per call, 2, 3 and
  4 (S = 5: the last call shorter) and all S in one call; and forward ONNX-operator nodes (layout 0 and 1,
  peepholes, clip, both GRU `linear_before_reset`, Relu): 24 cases. Their precision is the backend's (a run
  gives each backend its own precision's variant of a case).
"""

from __future__ import annotations

import itertools

from .case import Case
from .dynamic import engine_cases
from .onnx_case import OnnxCase

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
    # Weight scale 200: every gate's pre-activation reaches the hundreds, of both signs (tests/cases/test_cases.py
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
    # Streamed: one step per call (an LSTM whose cell state crosses the I/O every step), and uneven chunks.
    "streaming-lstm-step-by-step": Case("LSTM", layer_count=2, hidden_size=4, max_seq_length=5, data_length=3, batch_dims=(2,),
                                        hidden_state=True, cell_state=True, chunk=1, seed=128),
    "streaming-gru-uneven-chunks": Case("GRU", hidden_size=4, max_seq_length=5, data_length=4, batch_dims=(3,), input_mode="SKIP",
                                        hidden_state=True, chunk=2, seed=129),
}


def edge() -> list[Case]:
    return list(EDGE.values())


# Each ONNX activation with non-default, float32-exact parameters (what it takes: reference.onnx_attributes).
ONNX_ACTIVATIONS = {"Relu": (), "Tanh": (), "Sigmoid": (), "Affine": (0.75, 0.125), "LeakyRelu": (0.125,),
                    "ThresholdedRelu": (0.25,), "ScaledTanh": (1.5, 0.75), "HardSigmoid": (0.25, 0.375), "Elu": (0.5,),
                    "Softsign": (), "Softplus": ()}
ONNX_OPS = ("RNN", "GRU", "LSTM")
ONNX_DIRECTIONS = ("forward", "reverse", "bidirectional")


def _functions(names, D):
    """`activations`, `activation_alpha`, `activation_beta` for these functions per direction (the reverse
    direction repeats them), parameters consumed in order as ONNX does."""
    names = tuple(names) * D
    alpha = tuple(ONNX_ACTIVATIONS[n][0] for n in names if ONNX_ACTIVATIONS[n])
    beta = tuple(ONNX_ACTIVATIONS[n][1] for n in names if len(ONNX_ACTIVATIONS[n]) > 1)
    return dict(activations=names, activation_alpha=alpha, activation_beta=beta)


def onnx() -> list[OnnxCase]:
    """ONNX-operator cases over the node's attributes (module docstring); sizes H 3-5, S 4-6, N 2-3, I 3-5."""
    specs = []
    for op, direction, lens, states in itertools.product(ONNX_OPS, ONNX_DIRECTIONS, (False, True), (False, True)):
        specs.append(dict(op=op, direction=direction, sequence_lens="ragged" if lens else "none", initial_h=states,
                          initial_c=states and op == "LSTM"))
    for name, direction in itertools.product(ONNX_ACTIVATIONS, ONNX_DIRECTIONS):
        specs.append(dict(op="RNN", direction=direction, **_functions((name,), 2 if direction == "bidirectional" else 1)))
    for name in ONNX_ACTIVATIONS:  # as GRU's g and LSTM's g and h (f keeps Sigmoid: gates stay in [0, 1])
        specs.append(dict(op="GRU", direction="forward", **_functions(("Sigmoid", name), 1)))
        specs.append(dict(op="LSTM", direction="reverse", **_functions(("Sigmoid", name, name), 1)))
    for op, direction in itertools.product(ONNX_OPS, ONNX_DIRECTIONS):
        clip = dict(clip=0.25, initial_h=True, initial_c=True) if op == "LSTM" else dict(clip=0.25)  # LSTM: |C| > clip
        specs += [dict(op=op, direction=direction, **clip),
                  dict(op=op, direction=direction, layout=1),
                  dict(op=op, direction=direction, bias=False)]
    for direction in ONNX_DIRECTIONS:
        specs += [dict(op="LSTM", direction=direction, clip=0.125, sequence_lens="ragged", initial_h=True, initial_c=True),
                  dict(op="LSTM", direction=direction, peepholes=True),
                  dict(op="LSTM", direction=direction, peepholes=True, sequence_lens="ragged", initial_h=True,
                       initial_c=True),
                  dict(op="LSTM", direction=direction, input_forget=1),
                  dict(op="LSTM", direction=direction, input_forget=1, peepholes=True, initial_h=True, initial_c=True),
                  dict(op="GRU", direction=direction, linear_before_reset=1),
                  dict(op="GRU", direction=direction, linear_before_reset=1, sequence_lens="ragged", initial_h=True)]
    for name, direction in itertools.product(("Affine", "ThresholdedRelu"), ONNX_DIRECTIONS):  # parameters defaulted
        specs.append(dict(op="RNN", direction=direction, activations=(name,) * (2 if direction == "bidirectional" else 1)))
    for op in ONNX_OPS:
        specs += [dict(op=op, direction="bidirectional", layout=1, initial_h=True, initial_c=op == "LSTM"),
                  dict(op=op, direction="reverse", layout=1, initial_h=True, initial_c=op == "LSTM"),
                  dict(op=op, direction="forward", layout=1, sequence_lens="ragged"),
                  dict(op=op, direction="bidirectional", sequence_lens="ones", initial_h=True),
                  dict(op=op, direction="reverse", sequence_lens="full")]
    return [OnnxCase(**spec, hidden_size=3 + i % 3, seq_length=4 + i // 3 % 3, batch_size=2 + i % 2,
                     input_size=3 + i // 2 % 3, seed=i) for i, spec in enumerate(specs)]


def dynamic_structures() -> list[Case]:
    """One case per dynamic engine, at its profile's opt shape: every op in both directions and both input modes,
    stacks, ragged lengths, states, one and two batch dims."""
    cases = []
    for i, (op, direction, mode) in enumerate(itertools.product(OPS, DIRECTIONS, INPUT_MODES)):
        cases.append(Case(op, layer_count=1 + i % 2, hidden_size=4, max_seq_length=6, data_length=4 if mode == "SKIP" else 3,
                          batch_dims=(2, 3) if i % 4 == 3 else (3,), direction=direction, input_mode=mode,
                          seq_lengths=i % 3 == 0, hidden_state=i % 2 == 0, cell_state=op == "LSTM" and i % 4 == 0,
                          seed=200 + i))
    return cases


def dynamic() -> list[Case]:
    """Every dynamic structure executed on one engine at each of its run shapes (`cases.dynamic.engine_cases`)."""
    return [case for structure in dynamic_structures() for case in engine_cases(structure)]


def dynamic_small() -> list[Case]:
    """The default run's few dynamic engines: a bidirectional LSTM with an initial hidden state and a two-layer
    unidirectional GRU, each at all its run shapes."""
    chosen = [c for c in dynamic_structures() if (c.op, c.direction) in (("LSTM", "BIDIRECTION"), ("GRU", "UNIDIRECTION"))]
    return [case for structure in chosen[:1] + chosen[-1:] for case in engine_cases(structure)]


# op, layers, input mode, initial states, steps per call (S = 5: 2, 3 and 4 leave a shorter last call, 5 is one call)
STREAMING = (("RELU", 1, "LINEAR", True, 1), ("RELU", 2, "SKIP", False, 2), ("RELU", 3, "LINEAR", False, 3),
             ("TANH", 2, "LINEAR", True, 1), ("TANH", 1, "SKIP", True, 3), ("TANH", 3, "SKIP", False, 1),
             ("LSTM", 1, "LINEAR", True, 1), ("LSTM", 2, "SKIP", True, 2), ("LSTM", 3, "LINEAR", False, 1),
             ("LSTM", 1, "SKIP", False, 5), ("LSTM", 2, "LINEAR", "h0", 3),
             ("GRU", 1, "LINEAR", True, 1), ("GRU", 2, "SKIP", True, 2), ("GRU", 3, "LINEAR", False, 1),
             ("GRU", 1, "SKIP", False, 4))
ONNX_STREAMING = (dict(op="LSTM", initial_h=True, initial_c=True, chunk=1), dict(op="LSTM", layout=1, initial_h=True, chunk=2),
                  dict(op="LSTM", peepholes=True, clip=0.5, initial_h=True, initial_c=True, chunk=2),
                  dict(op="GRU", initial_h=True, chunk=1), dict(op="GRU", linear_before_reset=1, chunk=3),
                  dict(op="GRU", linear_before_reset=1, layout=1, initial_h=True, chunk=1),
                  dict(op="RNN", initial_h=True, chunk=1), dict(op="RNN", activations=("Relu",), chunk=2),
                  dict(op="RNN", layout=1, initial_h=True, chunk=5))


def streaming() -> list:
    """Streamed cases (module docstring): an LSTM with states has its cell state set too, except "h0" (hidden only)."""
    cases = [Case(op, layer_count=layers, hidden_size=4, max_seq_length=5, data_length=4 if mode == "SKIP" else 3,
                  batch_dims=(2, 3) if layers == 2 else (3,), input_mode=mode, hidden_state=bool(states),
                  cell_state=states is True and op == "LSTM", chunk=chunk, seed=200 + i)
             for i, (op, layers, mode, states, chunk) in enumerate(STREAMING)]
    return cases + [OnnxCase(**spec, hidden_size=4, seq_length=5, batch_size=3, input_size=3, seed=230 + i)
                    for i, spec in enumerate(ONNX_STREAMING)]


SETS = {"seeds": seeds, "matrix": matrix, "edge": edge, "onnx": onnx, "dynamic": dynamic, "dynamic-small": dynamic_small,
        "streaming": streaming}


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
