# syntax=docker/dockerfile:1.7
# Triton Inference Server 24.10 (Triton 2.51, the same core as the nvidia-pytriton wheel `make run`
# uses) with this project's packages installed for its Python models, and the model repository
# baked in at /models (compose mounts ./model_repository over it; Kubernetes copies it onto a volume).
#
#   make models                                         # export detect/plates/faces first
#   docker build -f docker/triton.Dockerfile -t photo-anonymiser/triton:dev .
#
# The image's Python is 3.10, the interpreter its Python backend stub was built for: the project's
# packages (imaging, python_models) and their dependencies go into that interpreter, numpy<2
# included (the 2.51 stub breaks on BYTES tensors with numpy 2). The `gpu` extra adds nvImageCodec's
# nvJPEG / nvJPEG2000 libraries and CuPy.
FROM nvcr.io/nvidia/tritonserver:24.10-py3

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

# The build context is bound read-write for this step only (nothing of it stays in a layer);
# pip builds the wheel of the project from it and installs it with its dependencies.
RUN --mount=type=bind,source=.,target=/src,rw \
    python3 -m pip install "/src[gpu]" \
 && python3 -c "import numpy, imaging.codec, python_models.tensors; assert numpy.__version__ < '2', numpy.__version__"

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
