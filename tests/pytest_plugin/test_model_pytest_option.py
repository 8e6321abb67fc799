"""`pytest -m gpu --onnx-model PATH` adds the model's node cases to the GPU tests; proven without a GPU by collecting."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def collect(*options):
    return subprocess.run([sys.executable, "-m", "pytest", "tests/runners/test_gpu.py::test_model_nodes", "-m", "gpu", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "--allow-no-gpu-comparisons", *options], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_onnx_model_option_adds_node_cases():
    found = collect("--onnx-model", "tests/models/torch_lstm.onnx", "--onnx-model", "tests/models/keras_gru.onnx",
                    "--onnx-shape", "input_1=2x8x3")
    assert found.returncode == 0, found.stdout[-2000:] + found.stderr[-2000:]
    lines = [line for line in found.stdout.splitlines() if line.startswith("tests/runners/test_gpu.py::test_model_nodes[")]
    for case_id in ("torch_lstm-LSTM-S7-N3-fp32-s0", "torch_lstm-LSTM_1-S7-N3-fp32-s0", "keras_gru-gru_GRU-S8-N2-fp32-s0"):
        assert any(f"[{case_id}-tensorrt-onnx-fp32]" in line for line in lines), case_id
        assert any(f"[{case_id}-tensorrt-onnx-fp16]" in line for line in lines), case_id
    bad = collect("--onnx-model", "tests/models/none.onnx")
    assert bad.returncode != 0 and "--onnx-model: model tests/models/none.onnx: no such file" in bad.stderr
