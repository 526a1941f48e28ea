"""Load on the real server (``tensorcalc serve`` in a subprocess): 50 concurrent mixed requests,
some over the limits and one runaway derivative, and not one server error.  The latencies are
measured by ``benchmarks/web_load.py`` (benchmarks/RESULTS.md), not asserted here."""

from __future__ import annotations

import asyncio
import importlib.util
import pathlib

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")

ROOT = pathlib.Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("web_load", ROOT / "benchmarks" / "web_load.py")
web_load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(web_load)


def test_fifty_concurrent_mixed_requests_and_no_server_error():
    port = web_load.free_port()
    proc = web_load.start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        items = web_load.mixed(50)
        results = asyncio.run(web_load.fire(base, items))
        assert len(results) == 50
        assert [r for r in results if r[1] >= 500] == []
        for item, (kind, status, _, error) in zip(items, results):
            assert status in item[4], (kind, status, error)
            if status >= 400:
                assert error, kind  # every refusal says why
        kinds = {kind for kind, *_ in results}
        assert {"too long", "order 5", "bad host", "runaway (time limit)"} <= kinds
        # and the server still works after the runaway was stopped
        again = asyncio.run(web_load.fire(base, web_load.MIX[:1]))
        assert again[0][1] == 200
    finally:
        proc.terminate()
        proc.wait(30)
    assert proc.returncode is not None
