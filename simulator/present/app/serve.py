"""Start the app: a local web server (uvicorn) and, unless asked not to, a browser tab.

Nothing listens beyond ``host``: the default ``127.0.0.1`` serves this computer only;
a teacher who wants students to join from their own devices starts it with
``--host 0.0.0.0`` (every interface), and the challenge page then shows the address on
the local network.
"""

from __future__ import annotations

import socket
import threading
import webbrowser

__all__ = ["join_address", "lan_address", "serve"]


def lan_address() -> str | None:
    """Return this computer's address on the local network, or None if it has none.

    Asks the operating system which interface would route to a documentation-only
    address (RFC 5737); a UDP "connect" sends nothing.
    """
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            ip = s.getsockname()[0]
    except OSError:
        return None
    return None if ip.startswith("127.") or ip == "0.0.0.0" else ip


def join_address(host: str, port: int) -> tuple[str, str]:
    """Return (the address students open, a note for the teacher) for a server on host:port.

    Bound to the loopback, students cannot reach it: the note says how to restart it.
    """
    local = host in ("127.0.0.1", "localhost", "::1")
    ip = lan_address()
    if local:
        shown = f"http://{ip or '<this computer>'}:{port}/"
        return shown, ("This app listens on this computer only (--host 127.0.0.1); "
                       "for students' devices restart it with "
                       f"'supplysim app --host 0.0.0.0 --port {port}'.")
    if host in ("0.0.0.0", "::"):
        return f"http://{ip or '<this computer>'}:{port}/", ""
    return f"http://{host}:{port}/", ""


def serve(scenario: str = "classroom", host: str = "127.0.0.1", port: int = 8000,
          open_browser: bool = True) -> None:  # fmt: skip
    """Build the app for ``scenario`` (a built-in name or a YAML path) and serve it."""
    import uvicorn

    from simulator.present.app.application import create_app

    app = create_app(scenario, host=host, port=port)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    print(f"supplysim app: {url}  (Ctrl-C stops it)", flush=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
