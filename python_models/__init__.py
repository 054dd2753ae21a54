"""Glue shared by the Python-backend models in model_repository/.

`batching` and `options` are plain Python over numpy (unit-tested without Triton);
`tensors` adapts them to `triton_python_backend_utils` and is importable only inside the stub.
"""
