# The operator and the NVML agent share one image: `governor run` (Deployment) and `governor agent` (DaemonSet).
# Build: docker build -t ghcr.io/inference-governor/governor:0.1.0 .
FROM python:3.11-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
COPY examples ./examples
RUN pip install --no-cache-dir . && useradd --uid 65532 --no-create-home governor
USER 65532
ENTRYPOINT ["governor"]
CMD ["run"]
