"""Analysis tools built on the exact derivatives: Taylor polynomials (``taylor``), critical
points and their classification (``critical``), optimisers that show their work
(``optimize``), closed-form stationary points (``stationary``) and plots (``plot``, with the
``[plot]`` extra)."""
