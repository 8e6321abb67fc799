"""Bug-report bundles: one case as files a TensorRT user attaches to a bug report and checks with NVIDIA's tools
(`bundle.write`), Polygraphy's JSON formats (`polygraphy_json`), and the trtexec output checker every bundle
carries, a real script shipped as package data (`check_trtexec_outputs.py`).
"""
