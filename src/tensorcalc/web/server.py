"""``tensorcalc serve``: run the page with uvicorn on this machine and open it.

The server binds 127.0.0.1 unless told otherwise; any other address gets a warning, since the
page then answers whoever can reach that address (the Host check still admits only requests
naming localhost or that address).
"""

from __future__ import annotations

import sys
import threading
import webbrowser

from .app import LOCAL_HOSTS, create_app
from .limits import Limits

WILDCARDS = ("0.0.0.0", "::", "")


def warning_for(host: str) -> str | None:
    """The warning to print for ``--host host``, or None for a loopback address.

    >>> warning_for("127.0.0.1") is None
    True
    """
    if host in LOCAL_HOSTS:
        return None
    return (
        f"warning: serving on {host!r}, not 127.0.0.1: other machines that can reach this "
        "address can use the page and make this computer compute for them"
    )


def serve(host: str = "127.0.0.1", port: int = 8000, open_browser: bool = True,
          limits: Limits | None = None) -> None:  # fmt: skip
    """Serve the page until interrupted (needs the ``web`` extra: starlette and uvicorn)."""
    import uvicorn  # the optional extra; the rest of tensorcalc does not need it

    warning = warning_for(host)
    if warning:
        print(warning, file=sys.stderr)
    extra = () if host in WILDCARDS else (host,)
    app = create_app(limits, allowed_hosts=extra)
    shown = "127.0.0.1" if host in WILDCARDS or host in LOCAL_HOSTS else host
    url = f"http://{shown}:{port}/"
    print(f"tensorcalc: serving {url} (Ctrl+C stops)", file=sys.stderr)
    if open_browser:
        threading.Timer(1.5, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")
