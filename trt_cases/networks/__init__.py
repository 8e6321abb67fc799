"""Networks: a case built into a TensorRT `INetworkDefinition` every way a user builds one (loop, drop-in
`add_rnn_v2`, ONNX parser, native), plans and the engine cache. `trt_api` is the only TensorRT import.
"""
