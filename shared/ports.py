"""A TCP port free on this machine, for a server started next: the demo, JupyterLab, a process group's rank 0."""

import socket


def free_port() -> int:
    """A port free on 127.0.0.1 now; another program may take it later, so use it at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
