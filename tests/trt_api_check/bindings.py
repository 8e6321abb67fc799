"""The real TensorRT Python bindings of each checked version, importable on a CPU, described as JSON.

The wheels (`tensorrt-bindings==8.6.1`, the newest `tensorrt-cu12-bindings` 10.x and 11.x) come from
PyPI through pip and are unpacked into a cache directory, never installed. Their module links
against libnvinfer, libnvinfer_plugin, libnvonnxparser (and libnvparsers on 8.6), which live in
separate multi-gigabyte wheels; tiny stand-ins with the same sonames and the few C entry points the
module imports are compiled with the system C compiler, found by importing until the loader stops
complaining. With them the real module imports, with its real classes, enum members and pybind11
signatures; nothing can be built with it. `describe.py` runs in a subprocess and prints the API.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time
import zipfile

CACHE = pathlib.Path(os.environ.get("TRT_RNN_BINDINGS_CACHE",
                                    pathlib.Path.home() / ".cache" / "trt-rnn-conformance" / "bindings"))
# label -> (distribution, version prefix or exact pin)
VERSIONS = {"8.6": ("tensorrt-bindings", "8.6.1"), "10.x": ("tensorrt-cu12-bindings", "10."),
            "11.x": ("tensorrt-cu12-bindings", "11.")}
RESOLVE_EVERY_S = 24 * 3600  # ask PyPI for the newest 10.x and 11.x once a day
DESCRIBE = pathlib.Path(__file__).with_name("describe.py")


class Unavailable(Exception):
    """No wheel or no C compiler: the one-line reason to skip."""


def compiler() -> str | None:
    return next((c for c in (os.environ.get("CC"), "gcc", "cc", "clang") if c and shutil.which(c)), None)


def _pip(*args, timeout=180):
    return subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True, timeout=timeout)


def resolve(label) -> str:
    """The exact version for `label`: the pin, or the newest release with the prefix (cached for a day)."""
    dist, wanted = VERSIONS[label]
    if not wanted.endswith("."):
        return wanted
    memo = CACHE / f"resolved-{dist}-{wanted}json"
    if memo.exists() and time.time() - memo.stat().st_mtime < RESOLVE_EVERY_S:
        return json.loads(memo.read_text())
    out = _pip("index", "versions", dist, "--disable-pip-version-check")
    found = re.search(r"Available versions: (.*)", out.stdout)
    releases = [v.strip() for v in found.group(1).split(",")] if found else []
    matching = [v for v in releases if v.startswith(wanted)]
    if not matching:
        if memo.exists():
            return json.loads(memo.read_text())  # offline: the last one resolved
        said = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise Unavailable(f"no {dist} {wanted}x release found on the package index (pip: {said})")
    newest = max(matching, key=lambda v: [int(p) if p.isdigit() else -1 for p in re.split(r"[.]", v)])
    CACHE.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps(newest))
    return newest


def unpacked(label) -> tuple[str, pathlib.Path]:
    """(version, directory holding `tensorrt_bindings/`), downloading and unpacking the wheel if needed."""
    dist, _ = VERSIONS[label]
    version = resolve(label)
    target = CACHE / f"{dist}-{version}"
    if (target / "tensorrt_bindings" / "__init__.py").exists():
        return version, target
    wheels = CACHE / "wheels"
    out = _pip("download", "--no-deps", "--only-binary=:all:", "-d", str(wheels), f"{dist}=={version}",
               "--disable-pip-version-check")
    name = dist.replace("-", "_")
    found = sorted(wheels.glob(f"{name}-{version}-*.whl"))
    if out.returncode or not found:
        raise Unavailable(f"pip could not download {dist}=={version} for this Python: {out.stderr.strip()[-300:]}")
    tmp = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(found[-1]) as wheel:
        wheel.extractall(tmp)
    try:
        tmp.rename(target)
    except OSError:  # another process unpacked it first
        shutil.rmtree(tmp, ignore_errors=True)
    return version, target


def stand_ins(directory: pathlib.Path) -> pathlib.Path:
    """Compile stand-in libraries until the bindings in `directory` import; return their directory."""
    cc = compiler()
    if cc is None:
        raise Unavailable("no C compiler (gcc, cc or clang) to compile the stand-in TensorRT libraries")
    libs = directory / "stand-in-libs"
    state = libs / "state.json"
    sonames, symbols = json.loads(state.read_text()) if state.exists() else ([], [])
    for _ in range(64):
        result = _import(directory, libs, "import tensorrt_bindings")
        if result.returncode == 0:
            return libs
        err = result.stderr
        missing_lib = re.search(r"(lib[\w+-]+\.so[.\d]*): cannot open shared object file", err)
        missing_sym = re.search(r"undefined symbol: (\w+)", err)
        if missing_lib and missing_lib.group(1) not in sonames:
            sonames.append(missing_lib.group(1))
        elif missing_sym and missing_sym.group(1) not in symbols:
            symbols.append(missing_sym.group(1))
        else:
            raise Unavailable(f"the {directory.name} bindings do not import over stand-in libraries: "
                              f"{err.strip()[-400:]}")
        _compile(cc, libs, sonames, symbols)
        state.write_text(json.dumps([sonames, symbols]))
    raise Unavailable(f"the {directory.name} bindings still do not import after 64 stand-in rounds")


def _compile(cc, libs, sonames, symbols):
    libs.mkdir(parents=True, exist_ok=True)
    source = libs / "stand_in.c"
    source.write_text("".join(f"void *{s}(void) {{ return 0; }}\n" for s in symbols) or "int stand_in;\n")
    for soname in sonames:
        subprocess.run([cc, "-shared", "-fPIC", "-o", str(libs / soname), f"-Wl,-soname,{soname}", str(source)],
                       check=True, capture_output=True, timeout=60)


def _import(directory, libs, code):
    env = {**os.environ, "PYTHONPATH": str(directory),
           "LD_LIBRARY_PATH": os.pathsep.join(filter(None, [str(libs), os.environ.get("LD_LIBRARY_PATH")]))}
    return subprocess.run([sys.executable, "-c", code] if code else [sys.executable, str(DESCRIBE)],
                          capture_output=True, text=True, env=env, timeout=120, cwd=directory)


def description(label) -> dict:
    """The API of the `label` version ("8.6", "10.x", "11.x") as `describe.py` prints it (cached)."""
    version, directory = unpacked(label)
    key = hashlib.sha256(DESCRIBE.read_bytes()).hexdigest()[:12]
    cached = directory / f"api-{key}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    libs = stand_ins(directory)
    result = _import(directory, libs, None)
    if result.returncode:
        raise Unavailable(f"describing {directory.name} failed: {result.stderr.strip()[-400:]}")
    cached.write_text(result.stdout)
    return json.loads(result.stdout)
