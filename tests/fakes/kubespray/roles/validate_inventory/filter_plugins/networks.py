"""ipaddress-based checks, so that the stand-in needs no collection (Kubespray uses ansible.utils)."""

import ipaddress


def is_network(text):
    try:
        ipaddress.ip_network(str(text), strict=True)
    except ValueError:
        return False
    return True


def overlaps(first, second):
    return ipaddress.ip_network(str(first)).overlaps(ipaddress.ip_network(str(second)))


class FilterModule:
    def filters(self):
        return {"standin_is_network": is_network, "standin_overlaps": overlaps}
