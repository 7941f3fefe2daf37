FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
# Editable: Dagster's defs-folder loader finds the project through pyproject.toml beside the package.
COPY ycpipeline ./ycpipeline
RUN pip install --no-cache-dir -e . && useradd --create-home ycpipeline
COPY workspace.yaml dagster.yaml ./
COPY deploy ./deploy
ENV DAGSTER_HOME=/opt/dagster/home
RUN mkdir -p $DAGSTER_HOME /var/ycpipeline/inbox && cp dagster.yaml $DAGSTER_HOME/ \
    && chown -R ycpipeline $DAGSTER_HOME /var/ycpipeline
USER ycpipeline
