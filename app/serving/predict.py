"""One prediction request to a served model, by KServe's V1 or V2 protocol, through the
cluster's ingress: the request names the service by its Host header, as KServe's own
examples do with curl."""

from __future__ import annotations

import urllib.error
import urllib.request
from urllib.parse import urlsplit

from ai_how.app.errors import InfrastructureError, UsageError

PATHS = {"v1": "/v1/models/{name}:predict", "v2": "/v2/models/{name}/infer"}


def predict(url: str, name: str, body: str, protocol: str = "v1", ingress: str | None = None,
            timeout_s: float = 60) -> str:
    if protocol not in PATHS:
        raise UsageError(f"--protocol {protocol}: choose v1 or v2")
    service = urlsplit(url)
    base = (ingress or f"{service.scheme}://{service.netloc}").rstrip("/")
    request = urllib.request.Request(base + PATHS[protocol].format(name=name), data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json", "Host": service.netloc})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            return answer.read().decode()
    except urllib.error.HTTPError as exc:
        said = " ".join(exc.read().decode(errors="replace").split())[:300]
        raise InfrastructureError(f"{name} answered {exc.code} at {base}: {said or exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InfrastructureError(f"cannot reach {name} at {base}: {reason}; give the cluster's ingress with "
                                  "--ingress URL") from None
