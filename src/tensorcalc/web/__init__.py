"""``tensorcalc serve``: the local web page, an offline and open matrixcalculus.org.

Layer 5 (an interface): a thin JSON API over the public Python API, plus a static page.

- ``limits``: the per-request limits and the validation of request bodies;
- ``compute``: the work of each endpoint (runs in the worker processes);
- ``examples``: the examples menu (seeds and Matrix Cookbook);
- ``workers``: the pool of stoppable worker processes;
- ``app``: the Starlette application (routes, Host check, CSP);
- ``server``: ``serve()``, run by ``tensorcalc serve``;
- ``static/``: the page (HTML, CSS, ES modules) and the vendored KaTeX (MIT licence).

Needs ``pip install "tensorcalc[web]"`` (starlette, uvicorn).

>>> from tensorcalc.web.limits import Limits
>>> Limits().max_expression, Limits().max_order
(2000, 4)
"""
