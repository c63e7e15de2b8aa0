"""Reading and checking cluster.yaml, without the CLI."""

from __future__ import annotations

import pytest

from ai_how.app.config.loader import ConfigError, expand_env, format_path, parse_config
from ai_how.app.config.validation import validate_config
from ai_how.app.settings import resolve_state_dir

BASE = {
    "clusters": {
        "hpc": {
            "network": {"subnet": "10.0.0.0/24", "bridge": "br-hpc"},
            "controller": {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 1, "ip": "10.0.0.10"},
        }
    }
}


def issues_of(data: dict) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, env={})
    return [str(i) for i in caught.value.issues]


def test_env_expansion_with_defaults_and_missing_names() -> None:
    data = {"a": ["${X}/img", "${Y:-fallback}", "${Z}"]}
    expanded, issues = expand_env(data, {"X": "/srv"})
    assert expanded == {"a": ["/srv/img", "fallback", "${Z}"]}
    assert [str(i) for i in issues] == ["a[2]: environment variable Z is not set; export it or write ${Z:-default}"]


def test_paths_are_written_like_the_yaml() -> None:
    assert format_path(("clusters", "cloud", "worker_nodes", "list-form", 2, "ip")) == "clusters.cloud.worker_nodes[2].ip"


def test_ip_and_ip_address_are_the_same_field_but_not_both() -> None:
    data = {"clusters": {"hpc": {**BASE["clusters"]["hpc"], "controller": {
        "cpu_cores": 1, "memory_gb": 1, "disk_gb": 1, "ip": "10.0.0.10", "ip_address": "10.0.0.11"}}}}
    assert issues_of(data) == ["clusters.hpc.controller: give either 'ip' or 'ip_address', not both"]


def test_a_config_without_clusters_is_refused() -> None:
    assert issues_of({"clusters": {}}) == ["clusters: define at least one cluster: 'hpc' or 'cloud'"]
    assert issues_of({"version": "1.0"}) == ["clusters: required field is missing"]


def test_a_misspelt_section_gets_a_suggestion_and_no_second_complaint() -> None:
    data = {"clusters": {"hpc": {"network": {"subnet": "10.0.0.0/24", "bridge": "br-hpc"},
                                 "controler": {"cpu_cores": 1, "memory_gb": 1, "disk_gb": 1}}}}
    assert issues_of(data) == ["clusters.hpc.controler: unknown key 'controler'; did you mean 'controller'?"]


def test_opaque_sections_keep_anything() -> None:
    data = {"clusters": {"hpc": {**BASE["clusters"]["hpc"], "storage": {"whatever": [1, {"x": 2}]}}}}
    storage = parse_config(data, env={}).clusters.hpc.storage
    assert storage.model_extra == {"whatever": [1, {"x": 2}]}
    assert (storage.shared.enabled, storage.shared.backend, storage.shared.mount_point) == (True, "virtiofs", "/shared")


def test_the_shared_storage_refuses_a_backend_it_does_not_build() -> None:
    data = {"clusters": {"hpc": {**BASE["clusters"]["hpc"], "storage": {"shared": {"backend": "beegfs"}}}}}
    with pytest.raises(ConfigError, match="storage.shared.backend"):
        parse_config(data, env={})


def _slurm(slurm_config: dict) -> dict:
    return {"clusters": {"hpc": {**BASE["clusters"]["hpc"], "slurm_config": slurm_config}}}


def test_slurm_config_is_read_with_its_defaults() -> None:
    found = parse_config(_slurm({"partitions": ["gpu", {"name": "debug", "nodes": ["hpc-cluster-compute-01"]}]}),
                         env={}).clusters.hpc.slurm_config
    assert (found.default_partition, found.max_job_time, found.accounting) == (None, "INFINITE", False)
    assert found.partitions[1].nodes == ["hpc-cluster-compute-01"]


@pytest.mark.parametrize(("slurm_config", "issue"), [
    ({"partitions": ["gpu"], "default_partition": "debug"},
     "clusters.hpc.slurm_config: default_partition 'debug' is not one of the partitions (gpu)"),
    ({"partitions": ["gpu", "gpu"]}, "clusters.hpc.slurm_config: partition gpu is listed more than once"),
    ({"max_job_time": "one day"}, "clusters.hpc.slurm_config.max_job_time: "),
    ({"partitions": [{"name": "a b"}]}, "clusters.hpc.slurm_config.partitions[0]"),
    ({"partitons": ["gpu"]}, "clusters.hpc.slurm_config.partitons: unknown key 'partitons'; did you mean 'partitions'?"),
])
def test_slurm_config_mistakes_name_the_field(slurm_config: dict, issue: str) -> None:
    assert issues_of(_slurm(slurm_config))[0].startswith(issue)


@pytest.mark.parametrize("limit", ["INFINITE", "UNLIMITED", "90", "30:00", "24:00:00", "2-12", "2-12:30", "7-00:00:00"])
def test_slurm_time_limits_in_slurm_s_forms_are_accepted(limit: str) -> None:
    assert parse_config(_slurm({"max_job_time": limit}), env={}).clusters.hpc.slurm_config.max_job_time == limit


def test_a_subnet_with_host_bits_is_refused() -> None:
    data = {"clusters": {"hpc": {**BASE["clusters"]["hpc"], "network": {"subnet": "10.0.0.5/24", "bridge": "b"}}}}
    assert issues_of(data)[0].startswith("clusters.hpc.network.subnet: ")


def test_an_empty_base_image_means_none() -> None:
    data = {"clusters": {"hpc": {**BASE["clusters"]["hpc"], "base_image_path": "${IMG:-}"}}}
    assert parse_config(data, env={}).clusters.hpc.base_image_path is None


def test_an_ip_on_the_network_address_is_refused() -> None:
    data = {"clusters": {"hpc": {**BASE["clusters"]["hpc"], "controller": {
        "cpu_cores": 1, "memory_gb": 1, "disk_gb": 1, "ip": "10.0.0.0"}}}}
    report = validate_config(parse_config(data, env={}))
    assert [str(e) for e in report.errors] == [
        "clusters.hpc.controller.ip: IP 10.0.0.0 of hpc-cluster-controller is the network address of "
        "10.0.0.0/24; pick another host address"]


def test_the_state_directory_follows_flag_then_env_then_xdg(tmp_path) -> None:
    assert resolve_state_dir(tmp_path / "flag", {"AI_HOW_STATE_DIR": "/e"}) == tmp_path / "flag"
    assert str(resolve_state_dir(None, {"AI_HOW_STATE_DIR": "/e", "XDG_STATE_HOME": "/x"})) == "/e"
    assert str(resolve_state_dir(None, {"XDG_STATE_HOME": "/x"})) == "/x/ai-how"
    assert str(resolve_state_dir(None, {"HOME": "/home/u"})) == "/home/u/.local/state/ai-how"


def test_times_are_iso_or_ages() -> None:
    from datetime import datetime, timezone

    from ai_how.app.errors import UsageError
    from ai_how.app.readside.log import parse_moment

    assert parse_moment("2026-11-22T14:00:00+00:00", "--since") == datetime(2026, 11, 22, 14, tzinfo=timezone.utc)
    age = datetime.now(timezone.utc) - parse_moment("2h", "--since")
    assert 7190 < age.total_seconds() < 7210
    with pytest.raises(UsageError, match="--until 'soon' is not a time"):
        parse_moment("soon", "--until")


@pytest.mark.parametrize("subnet, message", [
    (False, "give the subnet as text in CIDR form, like 192.168.100.0/24"),
    (167772160, "give the subnet as text in CIDR form"),
    ("10.0.0.0/30", "10.0.0.0/30 is too small for a gateway, a DHCP range and VMs: use /29 or larger"),
])
def test_a_subnet_is_cidr_text_with_room_for_a_cluster(subnet, message) -> None:
    data = {"clusters": {"hpc": {**BASE["clusters"]["hpc"], "network": {"subnet": subnet, "bridge": "br-hpc"}}}}
    issues = issues_of(data)
    assert len(issues) == 1 and issues[0].startswith("clusters.hpc.network.subnet: ") and message in issues[0]
