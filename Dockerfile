FROM python:3.11-slim
WORKDIR /app
# The pinned runtime set (requirements/runtime.lock, made by `make lock`: no dev tools, dagster-k8s for
# the Helm chart's K8sRunLauncher), in a layer of its own that outlives code changes.
COPY requirements/runtime.lock ./requirements/runtime.lock
RUN pip install --no-cache-dir -r requirements/runtime.lock
COPY pyproject.toml README.md ./
# Editable: Dagster's defs-folder loader finds the project through pyproject.toml beside the package.
# --no-deps: every dependency came from the lock above.
# The sandbox beside the package: `ycpipeline sandbox` and `ycpipeline demo` serve it.
COPY ycpipeline ./ycpipeline
COPY ycpipeline_sandbox ./ycpipeline_sandbox
RUN pip install --no-cache-dir --no-deps -e . && useradd --create-home ycpipeline
COPY workspace.yaml dagster.yaml ./
COPY deploy ./deploy
ENV DAGSTER_HOME=/opt/dagster/home
RUN mkdir -p $DAGSTER_HOME /var/ycpipeline/inbox && cp dagster.yaml $DAGSTER_HOME/ \
    && chown -R ycpipeline $DAGSTER_HOME /var/ycpipeline
USER ycpipeline
