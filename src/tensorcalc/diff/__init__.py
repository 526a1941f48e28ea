"""Exact symbolic differentiation: rule tables (``rules``), the reverse-mode engine
(``reverse``) and the layout views (``layout``)."""
