"""``ai-how model deploy|list|status|delete|predict``: models served by KServe on the Cloud cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ai_how.app.errors import UsageError

from .common import confirm, console, handles_errors, print_json, state
from .options import Confirmed, JsonFlag

model_app = typer.Typer(help="Models served on the Cloud cluster (KServe): deploy, list, status, delete, predict.",
                        no_args_is_help=True)

Namespace = Annotated[str, typer.Option("--namespace", "-n", help="The Kubernetes namespace.")]
MlflowUri = Annotated[Optional[str], typer.Option(
    "--mlflow-uri", help="MLflow's tracking URI (default: MLFLOW_TRACKING_URI, or the config's MLflow ingress).",
    show_default=False)]
ConfigOption = Annotated[Optional[Path], typer.Option(
    "--config", help="The cluster.yaml (default: the one Cloud cluster recorded here).")]


def _cloud(ctx: typer.Context, config: Optional[Path], optional: bool = False) -> tuple[str, Any]:
    """The Cloud cluster's name and its config section (None without --config); ``optional``:
    "" when none is recorded (a --dry-run needs none)."""
    from .config_input import cluster_name, planned_cluster

    if config is not None:
        planned, _ = planned_cluster(config, "cloud")
        return planned.name, planned.section
    try:
        name, _ = cluster_name(ctx, None, "cloud")
    except UsageError:
        if not optional:
            raise
        return "", None
    return name, None


def _show(result: Any, json_output: bool) -> None:
    if json_output:
        print_json(result.as_dict())
        return
    out = console()
    where = f"{result.namespace}/{result.name}"
    line = f"{where}: {result.state}" + (f" at {result.url}" if result.url else "") + \
        (f" ({result.reason})" if result.reason else "")
    if result.nodes:
        line += f"; on {', '.join(result.nodes)}"
    out.print(line)
    for note in result.notes:
        out.print(note)


Uri = Annotated[Optional[str], typer.Option("--uri", help="Where the model is: s3://, gs://, pvc://, hf://, "
                                                            "https://...", show_default=False)]
MlflowRef = Annotated[Optional[str], typer.Option(
    "--mlflow", help="A version in MLflow's registry: MODEL@ALIAS or MODEL/VERSION (instead of --uri).",
    show_default=False)]
Format = Annotated[str, typer.Option("--format", help="The model's format (sklearn, xgboost, huggingface, mlflow, "
                                                      "...).")]
Gpus = Annotated[int, typer.Option("--gpu", min=0, help="GPUs per replica.")]
Cpu = Annotated[Optional[str], typer.Option("--cpu", help="CPU per replica, e.g. 2 or 500m (default: the config's "
                                                          "default_resources).")]
Memory = Annotated[Optional[str], typer.Option("--memory", help="Memory per replica, e.g. 8Gi.")]
MinReplicas = Annotated[Optional[int], typer.Option("--min-replicas", min=0)]
MaxReplicas = Annotated[Optional[int], typer.Option("--max-replicas", min=1)]
Concurrency = Annotated[Optional[int], typer.Option("--target-concurrency", min=1)]
ServiceAccount = Annotated[Optional[str], typer.Option(
    "--service-account", help="The ServiceAccount whose Secret gives KServe the S3 credentials (default, with "
    "--config and MinIO enabled, for an s3:// model in 'default': kserve-s3, which the kserve role makes).",
    show_default=False)]
Wait = Annotated[float, typer.Option("--wait", min=0, help="Seconds to wait until it is Ready.")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the manifest; change nothing.")]


@model_app.command("deploy")
@handles_errors
def deploy(ctx: typer.Context,
           name: Annotated[str, typer.Argument(help="The InferenceService's name (a DNS-1035 label).",
                                               show_default=False)],
           uri: Uri = None, mlflow: MlflowRef = None, mlflow_uri: MlflowUri = None, model_format: Format = "mlflow",
           gpu: Gpus = 0, cpu: Cpu = None, memory: Memory = None, min_replicas: MinReplicas = None,
           max_replicas: MaxReplicas = None, target_concurrency: Concurrency = None,
           service_account: ServiceAccount = None, namespace: Namespace = "default", wait: Wait = 0,
           dry_run: DryRun = False, config: ConfigOption = None, json_output: JsonFlag = False) -> None:
    """Serve a model: a KServe InferenceService, refused when the GPUs it asks for are held elsewhere."""
    from ai_how.app.serving.models import Replicas, requested_spec
    from ai_how.domain.commands import DeployModel

    cluster, section = _cloud(ctx, config, optional=dry_run)
    spec = requested_spec(uri, mlflow, mlflow_uri, model_format, section, namespace, service_account,
                          Replicas(gpu, cpu, memory, min_replicas, max_replicas, target_concurrency),
                          lambda: state(ctx).registry())
    bus = state(ctx).reconciled(strict=not dry_run)
    result = bus.handle(DeployModel(cluster, namespace, name, spec, wait, dry_run))
    if dry_run and not json_output:
        import yaml

        typer.echo(yaml.safe_dump(result.manifest, sort_keys=False), nl=False)
        for note in result.notes:
            typer.echo(f"note: {note}", err=True)
        return
    _show(result, json_output)
    if result.state == "failed":
        raise typer.Exit(3)


@model_app.command("list")
@handles_errors
def list_models(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """The inference services recorded here, with their last observed state."""
    from ai_how.app.readside.queries import service_rows

    rows = service_rows(state(ctx).topology())
    if json_output:
        print_json(rows)
        return
    out = console()
    if not rows:
        out.print("No model is served: deploy one with 'ai-how model deploy NAME --uri URI'")
        return
    from rich.table import Table

    table = Table("namespace", "name", "cluster", "state", "format", "GPUs", "replicas", "URL")
    for r in rows:
        spec = r["spec"]
        table.add_row(r["namespace"], r["name"], r["cluster"], r["state"], spec.get("format", "-"),
                      str(spec.get("gpus", 0)), f"{spec.get('min_replicas')}-{spec.get('max_replicas')}",
                      r["url"] or "-")
    out.print(table)


@model_app.command("status")
@handles_errors
def status(ctx: typer.Context,
           name: Annotated[str, typer.Argument(help="The inference service.", show_default=False)],
           namespace: Namespace = "default", json_output: JsonFlag = False) -> None:
    """Ask the cluster how the service is doing, record what changed, and show it."""
    from ai_how.domain.commands import ObserveModel

    _show(state(ctx).bus().handle(ObserveModel(namespace, name)), json_output)


@model_app.command("delete")
@handles_errors
def delete(ctx: typer.Context,
           name: Annotated[str, typer.Argument(help="The inference service.", show_default=False)],
           namespace: Namespace = "default",
           yes: Confirmed = False) -> None:
    """Remove the inference service from the cluster."""
    from ai_how.domain.commands import DeleteModel

    confirm(f"Delete the inference service {namespace}/{name}?", yes, f"delete {namespace}/{name}")
    _show(state(ctx).bus().handle(DeleteModel(namespace, name)), False)


@model_app.command("predict")
@handles_errors
def predict(ctx: typer.Context,
            name: Annotated[str, typer.Argument(help="The inference service.", show_default=False)],
            data: Annotated[str, typer.Option("--data", help="The request's JSON, or @FILE.", show_default=False)],
            protocol: Annotated[str, typer.Option("--protocol", help="v1 (:predict) or v2 (/infer).")] = "v1",
            ingress: Annotated[Optional[str], typer.Option(
                "--ingress", help="The cluster's ingress, e.g. http://192.168.200.10:31080 (default: the "
                "service's URL); the request names the service by its Host header.")] = None,
            namespace: Namespace = "default", timeout: Annotated[float, typer.Option("--timeout", min=1)] = 60) -> None:
    """Send one prediction request to a Ready service and print the answer."""
    from ai_how.app.serving.predict import predict as send
    from ai_how.domain.commands import ObserveModel

    body = _data(data)
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--data is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    result = state(ctx).bus().handle(ObserveModel(namespace, name))
    if result.state != "ready" or not result.url:
        raise UsageError(f"{namespace}/{name} is {result.state}, not Ready: see 'ai-how model status {name}'")
    typer.echo(send(result.url, name, body, protocol, ingress, timeout))


@model_app.command("push")
@handles_errors
def push(ctx: typer.Context,
         path: Annotated[str, typer.Argument(help="The model's folder (or one file) on this host, or hpc:PATH on the "
                                                  "HPC cluster's shared storage (hpc:/shared/USER/model).",
                                             show_default=False)],
         name: Annotated[str, typer.Option("--name", help="The model's name in MLflow's registry.",
                                           show_default=False)],
         alias: Annotated[Optional[str], typer.Option("--alias", help="Point this alias (e.g. staging) at the "
                                                                     "version.", show_default=False)] = None,
         bucket: Annotated[str, typer.Option("--bucket", help="The S3 bucket for model files.")] = "models",
         s3_endpoint: Annotated[Optional[str], typer.Option(
             "--s3-endpoint", help="The S3 store's URL, e.g. http://127.0.0.1:9000 (default: AWS_ENDPOINT_URL).",
             show_default=False)] = None,
         mlflow_uri: MlflowUri = None, config: ConfigOption = None,
         job: Annotated[Optional[str], typer.Option("--job", help="The SLURM job that wrote it, recorded with the "
                                                                 "push.", show_default=False)] = None,
         json_output: JsonFlag = False) -> None:
    """Upload a model to the S3 store, check every object, and register it as a version in MLflow."""
    import os

    from ai_how.app.serving.push import s3_access
    from ai_how.app.serving.registry import tracking_uri
    from ai_how.domain.commands import PushModel

    cluster, section = _cloud(ctx, config) if config is not None else (None, None)
    cli = state(ctx)
    if job is not None and not job.isdigit():
        raise UsageError(f"--job {job!r}: a SLURM job id is a number, as sbatch --parsable prints it")
    access = s3_access(s3_endpoint, os.environ, cli.keys(), cluster, section)
    with _on_host(ctx, path) as (folder, origin, shown):
        result = cli.bus().handle(PushModel(folder, name, alias, bucket, tracking_uri(mlflow_uri, section=section),
                                            access, origin, job))
    _show_push(result, json_output, shown, origin, job)


def _show_push(result: Any, json_output: bool, read: str, origin: str | None, job: str | None) -> None:
    """``read``: where the files were read (a host folder, or the NFS controller they were copied from)."""
    if json_output:
        print_json({**result.as_dict(), "origin": origin, "job": job})
        return
    out = console()
    if origin:
        out.print(f"read from {origin} ({read})" + (f", written by SLURM job {job}" if job else ""))
    out.print(f"{result.files} file(s), {result.size} bytes, at {result.source}: "
              + (f"{result.uploaded} uploaded, " if result.uploaded else "none uploaded (all there already), ")
              + "every object's checksum verified")
    out.print(f"registered {result.model.name} version {result.model.version}"
              + (f" (alias {result.model.alias})" if result.model.alias else "")
              + f"; serve it with 'ai-how model deploy NAME --mlflow {result.model.name}"
              + (f"@{result.model.alias}'" if result.model.alias else f"/{result.model.version}'"))
    for note in result.notes:
        out.print(note)


@contextmanager
def _on_host(ctx: typer.Context, path: str) -> Iterator[tuple[str, str | None, str]]:
    """The folder to read on this host, where it is said to come from (hpc:CLUSTER:PATH), and
    where it was read (the host folder, or the NFS controller it was copied from)."""
    if not path.startswith("hpc:"):
        yield path, None, path
        return
    from ai_how.app.host.shared_storage import readable_copy, shared_storage_of

    from .config_input import cluster_name

    name, _ = cluster_name(ctx, None, "hpc")
    cli = state(ctx)
    found = shared_storage_of(cli.topology(), cli.hypervisor(), name)
    if found is None:
        raise UsageError(f"{path}: the HPC cluster {name} has no shared storage to read it from")
    guest_path = path[len("hpc:"):]
    with readable_copy(found, cli.topology(), cli.guests(), guest_path) as folder:
        shown = f"{folder} on this host" if found.host_path is not None else f"copied over SSH from {found.controller}"
        yield folder, f"hpc:{name}:{guest_path}", shown


def _data(data: str) -> str:
    """``--data``: the JSON itself, or @FILE."""
    from ai_how.app.user_files import UnreadableFile, read_text

    if not data.startswith("@"):
        return data
    try:
        return read_text(Path(data[1:]), 64 << 20)
    except UnreadableFile as exc:
        raise UsageError(f"--data {data}: {exc}") from None
