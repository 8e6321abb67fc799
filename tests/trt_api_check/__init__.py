"""Test-only helpers: check the suite's TensorRT API use against real TensorRT 8.6, 10.x and 11.x bindings."""
