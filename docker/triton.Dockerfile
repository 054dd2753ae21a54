# syntax=docker/dockerfile:1.7
# Triton Inference Server 24.10 (Triton 2.51, the same core as the nvidia-pytriton wheel `make run`
# uses) running this project's Python models, with the model repository baked in at /models
# (compose mounts ./model_repository over it; Kubernetes copies it onto a shared volume).
#
#   make models                                         # export detect/plates/faces first
#   docker build -f docker/triton.Dockerfile -t photo-anonymiser/triton:dev .
#
# The Python models run on Python 3.11 with the package versions the test suite runs (resolved
# for cp311 on this image's glibc 2.35: onnxruntime 1.32, nvImageCodec 0.9, Pillow 13; the image's
# own Python 3.10 would get onnxruntime 1.16, nvImageCodec 0.6, Pillow 12). So a 3.11 venv gets the
# project with its `gpu` extra (nvImageCodec's nvJPEG/nvJPEG2000, CuPy, CUDA torch for a rendered
# GPU repository, TensorRT's Python package from NVIDIA's wheels; numpy<2: the 2.51 stub breaks on
# BYTES tensors with numpy 2), and the Python backend runs the 3.11 stub that nvidia-pytriton 0.7.0
# (Triton 2.51) ships, as the launcher does; the venv's bin/ first on PATH makes the stub import
# its packages.
FROM nvcr.io/nvidia/tritonserver:24.10-py3

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv libpython3.11 \
 && rm -rf /var/lib/apt/lists/* \
 && python3.11 -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip

# The build context is bound read-write for this step only (nothing of it stays in a layer);
# pip builds the project's wheel from it and installs it with its dependencies.
RUN --mount=type=bind,source=.,target=/src,rw \
    pip install "/src[gpu]" \
 && python -c "import numpy, imaging.codec, python_models.detectors; assert numpy.__version__ < '2', numpy.__version__"

# The backend's stub for Python 3.11 (a link: its RPATH finds the wheel's libraries beside it).
RUN stub=$(python -c "import pathlib, pytriton; print(pathlib.Path(pytriton.__file__).parent / 'tritonserver/python_backend_stubs/3.11/triton_python_backend_stub')") \
 && test -x "$stub" \
 && ln -sf "$stub" /opt/tritonserver/backends/python/triton_python_backend_stub

COPY model_repository /models
# Fail the build, not the first request, when the detector versions were never exported.
RUN for model in detect plates faces; do \
        ls /models/$model/*/model.onnx >/dev/null 2>&1 \
        || { echo "model_repository/$model has no exported version: run 'make models' before building" >&2; exit 1; }; \
    done

EXPOSE 8000 8001 8002
HEALTHCHECK --interval=10s --timeout=5s --start-period=300s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/v2/health/ready || exit 1
# Explicit model control, as `make run` starts it: every model of the repository loaded at start,
# configs/serving.pbtxt (written by model swaps) preferred over config.pbtxt.
CMD ["tritonserver", "--model-repository=/models", "--model-control-mode=explicit", "--load-model=*", \
     "--model-config-name=serving", "--exit-timeout-secs=30"]
