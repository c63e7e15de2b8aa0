"""Steps shared by several features: running the CLI, reading its answers, looking at libvirt."""

from __future__ import annotations

import copy
import json
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from ai_how.adapters.libvirt import LibvirtHypervisor
from ai_how.adapters.libvirt.connection import HypervisorError, connect
from ai_how.app.ports import DomainState
from ai_how.domain.ids import cluster_id
from tests.conftest import REPO, opened, split_path
from tests.fakes.slurm import FakeSlurm, Job


@pytest.fixture(autouse=True)
def _every_spec_on_both_stores(request, store_backend: str, state_dir: Path):
    """Every scenario runs on SQLite and on PostgreSQL, but for those tagged @storeless: they run
    on SQLite alone, and fail there if they opened a store after all."""
    yield store_backend
    if store_backend == "sqlite" and request.node.get_closest_marker("storeless"):
        made = sorted(p.name for p in state_dir.glob("*.sqlite")) if state_dir.exists() else []
        assert not made, f"a @storeless scenario opened a store ({', '.join(made)}): remove its tag"


def pytest_collection_modifyitems(config, items: list[pytest.Item]) -> None:
    """A @storeless scenario's PostgreSQL run would run the same code twice: it is left out."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        on_postgres = params.get("store_backend") == "postgres"
        (dropped if on_postgres and item.get_closest_marker("storeless") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def config_path() -> list[str]:
    """A config a step wrote, substituted for ``{config}`` in commands."""
    return []


@pytest.fixture
def noted() -> dict[str, str]:
    """Values earlier steps noted, substituted for ``{name}`` in commands."""
    return {}


def _args(text: str, config_path: list[str], noted: dict[str, str]) -> list[str]:
    if "{config}" in text:
        text = text.replace("{config}", config_path[-1])
    for name, value in noted.items():
        text = text.replace("{" + name + "}", value)
    return shlex.split(text)


@pytest.fixture(autouse=True)
def _tmp_noted(noted: dict[str, str], tmp_path: Path) -> None:
    """``{tmp}`` in a command or a path: the scenario's own folder."""
    noted["tmp"] = str(tmp_path)


@pytest.fixture
def inventory() -> dict:
    """An inventory as ansible-inventory --list printed it, for the steps after."""
    return {}


@pytest.fixture
def transcript() -> list:
    """Every command result of the scenario, for checks across all of them."""
    return []


@when(parsers.parse('I run "ai-how {args}"'), target_fixture="result")
def run_command(run_cli, config_path, noted, transcript: list, args: str):
    result = run_cli(*_args(args, config_path, noted))
    transcript.append(result)
    return result


@given(parsers.parse('I ran "ai-how {args}"'))
def ran_command(run_cli, config_path, noted, args: str) -> None:
    result = run_cli(*_args(args, config_path, noted))
    assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.stdout}\n{result.stderr}"


@then(parsers.parse("the exit code is {code:d}"))
def exit_code_is(result, code: int) -> None:
    assert result.exit_code == code, f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


def _expected(text: str, noted: dict[str, str], config_path: list[str]) -> str:
    """A step's text with the noted values, and ``{config}`` the scenario's last config."""
    for name, value in noted.items():
        text = text.replace("{" + name + "}", value)
    return text.replace("{config}", config_path[-1]) if config_path else text


@then(parsers.parse('the output says "{text}"'))
def output_says(result, noted, config_path, text: str) -> None:
    assert _expected(text, noted, config_path) in result.stdout, result.stdout


@then(parsers.parse('the errors say "{text}"'))
def errors_say(result, noted, config_path, text: str) -> None:
    assert _expected(text, noted, config_path) in result.stderr, result.stderr


@then("the output has no traceback")
def no_traceback(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr


@then(parsers.parse('the warnings say "{text}"'))
def warnings_say(result, text: str) -> None:
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert any(text in line for line in warnings), result.stderr


def gpu_list(run_cli) -> dict[str, dict]:
    result = run_cli("gpu", "list", "--json")
    assert result.exit_code == 0, result.stderr
    return {row["pci_address"]: row for row in json.loads(result.stdout)}


@then(parsers.parse('"ai-how gpu list" shows GPU {gpu} held by {vm}'))
def listed_holder(run_cli, gpu: str, vm: str) -> None:
    assert gpu_list(run_cli)[gpu]["holder"] == vm
    table = run_cli("gpu", "list").stdout
    assert any(gpu in line and vm in line for line in table.splitlines()), table


@then(parsers.parse('"ai-how gpu list" shows GPU {gpu} free'))
def listed_free(run_cli, gpu: str) -> None:
    assert gpu_list(run_cli)[gpu]["holder"] is None


@then(parsers.parse('"ai-how gpu list" shows GPU {gpu} with functions {functions}'))
def listed_functions(run_cli, gpu: str, functions: str) -> None:
    assert gpu_list(run_cli)[gpu]["functions"] == functions.split(", ")


def audit(run_cli) -> list[dict]:
    result = run_cli("audit", "log", "--json")
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@then(parsers.parse('the audit log has exactly {count:d} "{event_type}" event for GPU {gpu}'))
def audit_count_for_gpu(run_cli, count: int, event_type: str, gpu: str) -> None:
    entries = [e for e in audit(run_cli) if e["type"] == event_type and e["aggregate"] == f"gpu {gpu}"]
    assert len(entries) == count


@then(parsers.parse('the audit log has exactly {count:d} "{event_type}" events'))
def audit_count(run_cli, count: int, event_type: str) -> None:
    assert len([e for e in audit(run_cli) if e["type"] == event_type]) == count


@then(parsers.parse('"ai-how audit log --json" shows, for {kind} {name}, in order:'))
def audit_history(run_cli, kind: str, name: str, datatable) -> None:
    entries = [e for e in audit(run_cli) if e["aggregate"] == f"{kind.lower()} {name}"]
    header, *rows = datatable
    assert [e["type"] for e in entries] == [row[0] for row in rows]
    for entry, (_, payload) in zip(entries, rows):
        if payload:
            assert entry["payload"] == json.loads(payload), entry
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions)


@then(parsers.parse("the status of {cluster} says:"))
def status_says(result, cluster: str, datatable) -> None:
    view = json.loads(result.stdout)
    assert view["name"] == cluster
    header, *rows = datatable
    actual = [{"vm": vm["name"], "role": vm["role"], "ip": vm["ip"], "state": vm["state"],
               "auto_start": str(vm["auto_start"]).lower()} for vm in view["vms"]]
    assert actual == [dict(zip(header, row)) for row in rows]


@then(parsers.parse('"ai-how vm status {name} --json" says its last error is "{text}"'))
def last_error(run_cli, name: str, text: str) -> None:
    result = run_cli("vm", "status", name, "--json")
    assert result.exit_code == 0, result.stderr
    assert text in (json.loads(result.stdout)["last_error"] or "")


# --- configs written by a scenario ----------------------------------------------------------------

@pytest.fixture
def config_doc() -> dict:
    return {}


@pytest.fixture
def validated() -> list[str]:
    """The config path each 'validate' step ran on, for later steps to look at again."""
    return []


def _parent(doc: dict, path: str) -> tuple[object, str | int]:
    parts = split_path(path)
    node = doc
    for part in parts[:-1]:
        node = node[part]
    return node, parts[-1]


@given(parsers.parse('the config "{path}"'), target_fixture="config_doc")
def the_config(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


@given(parsers.parse('its field "{path}" set to {value}'))
def set_field(config_doc: dict, path: str, value: str) -> None:
    node, key = _parent(config_doc, path)
    node[key] = yaml.safe_load(value)


@given(parsers.parse('its field "{path}" copied from "{source}"'))
def copy_field(config_doc: dict, path: str, source: str) -> None:
    src_node, src_key = _parent(config_doc, source)
    node, key = _parent(config_doc, path)
    node[key] = copy.deepcopy(src_node[src_key])


@given(parsers.parse('its key "{path}" renamed to "{new_name}"'))
def rename_key(config_doc: dict, path: str, new_name: str) -> None:
    node, key = _parent(config_doc, path)
    node[new_name] = node.pop(key)


@given(parsers.parse('its item "{path}" removed'))
def remove_item(config_doc: dict, path: str) -> None:
    node, key = _parent(config_doc, path)
    del node[key]


def _write_config(tmp_path: Path, config_path: list[str], doc: dict) -> None:
    """A scenario's own config; ``{config}`` in later commands is the last one written."""
    target = tmp_path / f"cluster-{len(config_path)}.yaml"
    target.write_text(yaml.safe_dump(doc))
    config_path.append(str(target))


@given(parsers.parse('the config "{path}" with global "{settings}"'))
def with_global(tmp_path: Path, config_path: list[str], path: str, settings: str) -> None:
    doc = yaml.safe_load((REPO / path).read_text())
    doc["global"] = {**(doc.get("global") or {}), **yaml.safe_load("{" + settings + "}")}
    _write_config(tmp_path, config_path, doc)


@given(parsers.parse('the config "{path}" with these fields:'))
def with_fields(tmp_path: Path, config_path: list[str], path: str, datatable) -> None:
    doc = yaml.safe_load((REPO / path).read_text())
    for field, value in datatable[1:]:
        node, key = _parent(doc, field)
        if isinstance(node, list) and key == len(node):
            node.append(yaml.safe_load(value))  # the item after the last: one more
        else:
            node[key] = yaml.safe_load(value)
    _write_config(tmp_path, config_path, doc)


@given("a config file containing:", target_fixture="config_file")
def config_file_containing(tmp_path: Path, docstring: str) -> Path:
    target = tmp_path / "cluster.yaml"
    target.write_text(docstring)
    return target


@pytest.fixture
def config_file(tmp_path: Path, config_doc: dict) -> Path:
    target = tmp_path / "cluster.yaml"
    target.write_text(yaml.safe_dump(config_doc))
    return target


@when("I validate it", target_fixture="result")
def validate_it(run_cli, validated: list[str], config_file: Path, monkeypatch):
    monkeypatch.delenv("AI_HOW_TEST_UNSET_IMAGE", raising=False)
    validated.append(str(config_file))
    return run_cli("validate", validated[-1])


@when(parsers.parse('I validate it with "{flags}"'), target_fixture="result")
def validate_it_with(run_cli, validated: list[str], config_file: Path, flags: str):
    validated.append(str(config_file))
    return run_cli("validate", validated[-1], *shlex.split(flags))


# --- libvirt, looked at directly through the same test-driver connection ---------------------


@given("a libvirt host for this scenario")
def libvirt_host(libvirt_uri: str) -> None:
    assert connect(libvirt_uri).listAllDomains(0) == []


def _domain(libvirt_uri: str, name: str):
    conn = connect(libvirt_uri)
    return conn.lookupByName(name)


def _ours(libvirt_uri: str, cluster: str):
    hypervisor = LibvirtHypervisor(libvirt_uri, Path("/unused"))
    return [d for d in hypervisor.list_domains() if d.cluster == cluster]


@when(parsers.parse('someone runs "virsh {action} {name}"'))
def behind_the_back(libvirt_uri: str, action: str, name: str) -> None:
    dom = connect(libvirt_uri).lookupByName(name)
    {"destroy": dom.destroy, "start": dom.create}[action]()


@then(parsers.parse("libvirt shows {name} defined and shut off"))
def shut_off(libvirt_uri: str, name: str) -> None:
    hypervisor = LibvirtHypervisor(libvirt_uri, Path("/unused"))
    assert hypervisor.domain_state(name) == DomainState.SHUTOFF


@then("libvirt shows these domains running:")
def running(libvirt_uri: str, datatable) -> None:
    hypervisor = LibvirtHypervisor(libvirt_uri, Path("/unused"))
    names = [cell for row in datatable for cell in row]
    assert {n: hypervisor.domain_state(n) for n in names} == {n: DomainState.RUNNING for n in names}


@then(parsers.parse("libvirt shows no running domain of {cluster}"))
def none_running(libvirt_uri: str, cluster: str) -> None:
    domains = _ours(libvirt_uri, cluster)
    assert domains, f"no domain of {cluster} is defined at all"
    assert [d.name for d in domains if d.state == DomainState.RUNNING] == []


@then(parsers.parse("libvirt has network {network} on bridge {bridge} with a DHCP entry for each VM"))
def network_with_hosts(libvirt_uri: str, network: str, bridge: str) -> None:
    net = ET.fromstring(connect(libvirt_uri).networkLookupByName(network).XMLDesc(0))
    assert net.find("bridge").get("name") == bridge
    cluster = network.removeprefix("aihow-")
    assert sorted(h.get("name") for h in net.iter("host")) == sorted(d.name for d in _ours(libvirt_uri, cluster))


@then(parsers.parse("libvirt has storage pool {pool} with a disk for each VM"))
def pool_with_disks(libvirt_uri: str, pool: str) -> None:
    volumes = connect(libvirt_uri).storagePoolLookupByName(pool).listAllVolumes(0)
    cluster = pool.removeprefix("aihow-")
    assert sorted(v.name() for v in volumes) == sorted(f"{d.name}.qcow2" for d in _ours(libvirt_uri, cluster))


@then(parsers.parse("libvirt has no network, pool or domain of {cluster}"))
def nothing_left(libvirt_uri: str, cluster: str) -> None:
    conn = connect(libvirt_uri)
    assert _ours(libvirt_uri, cluster) == []
    assert f"aihow-{cluster}" not in [n.name() for n in conn.listAllNetworks(0)]
    assert f"aihow-{cluster}" not in [p.name() for p in conn.listAllStoragePools(0)]


class RefusingLibvirt(LibvirtHypervisor):
    """The real adapter, except that starting the named domains fails as libvirt would."""

    refused: set[str] = set()

    def start_vm(self, network, vm, wait_s, *args, **kwargs) -> str:
        if vm.name in self.refused:
            raise HypervisorError(f"cannot start {vm.name}: internal error: qemu unexpectedly closed the monitor")
        return super().start_vm(network, vm, wait_s, *args, **kwargs)


@given(parsers.parse("libvirt will refuse to start {name}"))
def refuse_start(monkeypatch, name: str) -> None:
    import ai_how.app.bootstrap as bootstrap

    monkeypatch.setattr(RefusingLibvirt, "refused", {name})
    monkeypatch.setattr(bootstrap, "libvirt_hypervisor",
                        lambda uri, state_dir, env: RefusingLibvirt(uri, state_dir / "pools"))


@given(parsers.parse('the operator is at a terminal and answers "{answer}"'))
def at_terminal(monkeypatch, terminal_input: list[str], answer: str) -> None:
    import ai_how.app.cli.common as common

    monkeypatch.setattr(common, "interactive", lambda: True)
    terminal_input.append(answer + "\n")


@given(parsers.parse("Kubernetes is recorded as deployed on {cluster}"))
def kubernetes_recorded(state_dir: Path, cluster: str) -> None:
    kubeconfig = state_dir / "kube" / f"{cluster}.conf"
    kubeconfig.parent.mkdir(parents=True, exist_ok=True)
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n")
    with opened(state_dir) as bus:
        found = bus.store.get(cluster_id(cluster))
        running = [vm for vm in found.vms if not vm.endswith("gpu-worker-01")]
        found.start_kubernetes_deploy("r1", "playbooks/deploy-cloud-cluster.yml", "d", "c", "2.29.0", "1.33.5",
                                      running, [], {"settings": {}})
        found.mark_kubernetes_deployed("r1", "1.33.5", running, str(kubeconfig), 1.0, {})
        bus.store.save(found)


@then(parsers.parse('"ai-how model list --json" lists no inference service'))
def no_service(run_cli) -> None:
    result = run_cli("model", "list", "--json")
    assert result.exit_code == 0 and json.loads(result.stdout) == []


@pytest.fixture
def fake_guests():
    """The guests of a scenario's VMs, answering SSH at once (tests/fakes/guests.py)."""
    from tests.fakes.guests import FakeGuests

    return FakeGuests()


@given(parsers.parse('the HPC cluster of "{example}" on a base image file here'))
def on_a_base_image(tmp_path: Path, state_dir: Path, config_path: list[str], noted: dict, monkeypatch,
                    example: str, fake_guests) -> None:
    """Its VMs boot an image (a file libvirt's test driver never reads), so each gets the
    cluster's shared storage; their guests answer SSH at once, as booted ones would."""
    import ai_how.app.bootstrap as bootstrap

    monkeypatch.setattr(bootstrap, "guest_access", lambda keys: fake_guests)
    image = tmp_path / "base.qcow2"
    image.write_bytes(b"QFI\xfb")
    doc = yaml.safe_load((REPO / example).read_text())
    hpc = doc["clusters"]["hpc"]
    hpc.pop("base_image", None)
    hpc["base_image_path"] = str(image)
    _write_config(tmp_path, config_path, doc)
    noted["pools"] = str(state_dir / "pools")


# --- SLURM as a stand-in controller (tests/fakes/slurm.py), for the features that stop nodes ---


@pytest.fixture
def slurm(monkeypatch) -> FakeSlurm:
    """The one SLURM controller every ai-how of the scenario asks."""
    import ai_how.app.bootstrap as bootstrap

    controller = FakeSlurm()
    monkeypatch.setattr(bootstrap, "slurm_over_ssh", lambda guests: lambda login, address: controller)
    return controller


@given(parsers.parse("SLURM is recorded as deployed on {cluster}"))
def slurm_deployed(state_dir: Path, slurm: FakeSlurm, cluster: str) -> None:
    with opened(state_dir) as bus:
        found = bus.store.get(cluster_id(cluster))
        found.start_deploy("r1", "playbooks/deploy-hpc-cluster.yml", "d", "c", {}, None, False)
        found.mark_deployed("r1", 1.0, {})
        bus.store.save(found)
        for name in found.vms:
            if name.startswith(f"{cluster}-compute"):
                slurm.node(name)


@given(parsers.parse('SLURM runs job {job} of {user} named "{name}" on {node}'))
def job_runs(slurm: FakeSlurm, job: str, user: str, name: str, node: str) -> None:
    slurm.jobs_.append(Job(job, user, name, node))
    slurm.node(node)["state"] = "alloc"
