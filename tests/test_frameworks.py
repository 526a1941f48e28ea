"""tc.to_jax, tc.to_torch, tc.to_tensorflow: each framework function's derivatives against the
framework's own autodiff of the same function written natively (an oracle that never sees the
closed form), over the benchmark problems, and small models trained for 100 steps to the same
loss as native autodiff."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.frameworks as fw

TOL = 1e-10  # float64, relative to the largest entry of the reference


def _close(got, ref, tol=TOL):
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    assert got.shape == ref.shape
    scale = max(1.0, float(np.max(np.abs(ref)))) if ref.size else 1.0
    assert float(np.max(np.abs(got - ref), initial=0.0)) <= tol * scale


# name, text, shapes, args, sizes (by argument), the function natively: lib -> callable, where
# lib is the framework's namespace: "jnp", "torch" or "tf" (with a few shared spellings below)
def _mm(L, a, b):
    return (
        L.linalg.matvec(a, b)
        if L.__name__.startswith("tensorflow") and len(b.shape) == 1
        else a @ b
    )


def _t(L, a):
    return L.transpose(a) if L.__name__.startswith("tensorflow") else a.T


def _sum(L, a):
    return L.reduce_sum(a) if L.__name__.startswith("tensorflow") else L.sum(a)


def _softplus(L, z):
    if L.__name__.startswith("jax"):
        return L.logaddexp(0.0, z)
    return L.nn.functional.softplus(z) if L.__name__ == "torch" else L.nn.softplus(z)


def _softmax_rows(L, z):
    if L.__name__.startswith("jax"):
        return L.exp(z - L.max(z, axis=1, keepdims=True)) / L.sum(
            L.exp(z - L.max(z, axis=1, keepdims=True)), axis=1, keepdims=True
        )
    return L.softmax(z, 1) if L.__name__ == "torch" else L.nn.softmax(z, axis=1)


PROBLEMS = [
    ("quadratic", "x' @ A @ x", {"A": ("n", "n")}, ("x", "A"), {"x": (5,), "A": (5, 5)},
     lambda L, x, A: _sum(L, x * _mm(L, A, x))),
    ("least squares", "norm(y - Phi @ theta)^2", {"Phi": ("N", "D")}, ("theta", "Phi", "y"),
     {"theta": (4,), "Phi": (9, 4), "y": (9,)},
     lambda L, t, P, y: _sum(L, (y - _mm(L, P, t)) ** 2)),
    ("logistic", "sum(log(1 + exp(-y * (X @ w))))", {"X": ("N", "D")}, ("w", "X", "y"),
     {"w": (4,), "X": (11, 4), "y": (11,)},
     lambda L, w, X, y: _sum(L, _softplus(L, -y * _mm(L, X, w)))),
    ("factorisation", "norm(X - U @ V)^2", {"X": ("m", "n"), "U": ("m", "r")}, ("U", "V", "X"),
     {"U": (6, 2), "V": (2, 5), "X": (6, 5)},
     lambda L, U, V, X: _sum(L, (X - U @ V) ** 2)),
    ("tanh MLP", "norm(W2 @ tanh(W1 @ X) - T)^2",
     {"W1": ("h", "d"), "W2": ("o", "h"), "X": ("d", "N")}, ("W1", "W2", "X", "T"),
     {"W1": (5, 3), "W2": (2, 5), "X": (3, 7), "T": (2, 7)},
     lambda L, W1, W2, X, T: _sum(L, (W2 @ L.tanh(W1 @ X) - T) ** 2)),
    # non-scalar outputs: the VJP with a random cotangent
    ("matrix-vector", "A @ x", {"A": ("m", "n")}, ("A", "x"), {"A": (4, 3), "x": (3,)},
     lambda L, A, x: _mm(L, A, x)),
    ("attention", "softmax(Q @ K' / s, 1) @ V", {"Q": ("n", "d"), "K": ("m", "d"), "V": ("m", "e")},
     ("Q", "K", "V", "s"), {"Q": (3, 2), "K": (4, 2), "V": (4, 5), "s": ()},
     lambda L, Q, K, V, s: _softmax_rows(L, Q @ _t(L, K) / s) @ V),
]  # fmt: skip
IDS = [p[0] for p in PROBLEMS]


def _values(problem, seed=0):
    rng = np.random.default_rng(seed)
    _, _, _, args, sizes, _ = problem
    vals = {a: rng.normal(size=sizes[a]) for a in args}
    if "y" in vals and problem[0] == "logistic":
        vals["y"] = rng.choice([-1.0, 1.0], sizes["y"])
    if "s" in vals:
        vals["s"] = np.float64(1.5)
    if "W1" in vals:
        vals["W1"] = vals["W1"] / 2
    return [vals[a] for a in args]


def _cotangent(problem, out, seed=1):
    return np.random.default_rng(seed).normal(size=np.shape(out))


# --- JAX ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_jax_gradients_match_jax_autodiff(jax, problem):
    jnp = jax.numpy
    name, text, shapes, args, _, native = problem
    f = tc.to_jax(text, args=args, shapes=shapes)
    ref = lambda *xs: native(jnp, *xs)
    xs = [jnp.asarray(v) for v in _values(problem)]
    out, ref_out = f(*xs), ref(*xs)
    _close(out, ref_out)
    g = jnp.asarray(_cotangent(problem, out))
    idx = tuple(range(len(args)))
    for jitted in (False, True):
        if np.ndim(out):
            got = jax.vjp(f, *xs)[1](g)
            want = jax.vjp(ref, *xs)[1](g)
        else:
            grad = jax.grad(f, idx)
            got, want = (jax.jit(grad) if jitted else grad)(*xs), jax.grad(ref, idx)(*xs)
        for a, w in zip(got, want):
            _close(a, w)


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_jax_hessian_order_2_is_the_compiled_closed_form(jax, problem, monkeypatch):
    jnp = jax.numpy
    _, text, shapes, args, _, native = problem
    xs = [jnp.asarray(v) for v in _values(problem)]
    calls = []
    spy = fw.Level.jvp_exprs
    monkeypatch.setattr(fw.Level, "jvp_exprs", lambda self: calls.append(1) or spy(self))
    f = tc.to_jax(text, args=args, shapes=shapes, order=2)
    if np.ndim(native(jnp, *xs)):  # a scalar function of the outputs, in JAX, around it
        wrapped, ref = (
            (lambda *a: jnp.sum(jnp.sin(f(*a)))),
            (lambda *a: jnp.sum(jnp.sin(native(jnp, *a)))),
        )
        for k in range(len(xs)):
            _close(jax.jit(jax.hessian(wrapped, k))(*xs), jax.hessian(ref, k)(*xs))
        assert calls
        return
    got = jax.jit(jax.hessian(f))(*xs)
    _close(got, jax.hessian(lambda *a: native(jnp, *a))(*xs))
    assert calls  # the tangent rule was traced: the closed form, not JAX's autodiff of it
    got = jax.jit(jax.jacrev(jax.grad(f)))(*xs)  # reverse over reverse: the rule transposed
    _close(got, jax.jacrev(jax.grad(lambda *a: native(jnp, *a)))(*xs))


def test_jax_vmap_and_order_1_hessian(jax):
    jnp = jax.numpy
    problem = PROBLEMS[2]
    _, text, shapes, args, _, native = problem
    f = tc.to_jax(text, args=args, shapes=shapes)
    w, X, y = (jnp.asarray(v) for v in _values(problem))
    ws = jnp.stack([w, 2 * w, -w])
    got = jax.vmap(jax.grad(f), (0, None, None))(ws, X, y)
    want = jax.vmap(jax.grad(lambda *a: native(jnp, *a)), (0, None, None))(ws, X, y)
    _close(got, want)
    # order 1: the Hessian is JAX's autodiff of the compiled gradient code, still exact
    _close(jax.jit(jax.hessian(f))(w, X, y), jax.hessian(lambda *a: native(jnp, *a))(w, X, y))


def test_optax_training_reaches_the_native_loss(jax):
    optax = pytest.importorskip("optax")
    jnp = jax.numpy
    problem = PROBLEMS[4]  # the tanh MLP, trained in W1 and W2
    _, text, shapes, args, _, native = problem
    W1, W2, X, T = (jnp.asarray(v) for v in _values(problem))

    def train(loss):
        opt = optax.adam(1e-2)
        params = (W1, W2)
        state = opt.init(params)

        @jax.jit
        def step(params, state):
            value, grads = jax.value_and_grad(lambda p: loss(p[0], p[1], X, T))(params)
            updates, state = opt.update(grads, state)
            return optax.apply_updates(params, updates), state, value

        for _ in range(100):
            params, state, value = step(params, state)
        return float(loss(*params, X, T)), params

    got, got_params = train(tc.to_jax(text, args=args, shapes=shapes))
    want, want_params = train(lambda *a: native(jnp, *a))
    first = float(native(jnp, W1, W2, X, T))
    assert want < 0.5 * first  # it trained
    assert abs(got - want) <= 1e-8 * want
    for a, b in zip(got_params, want_params):
        _close(a, b, 1e-8)


# --- PyTorch -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _torch_inputs(torch, problem, device="cpu"):
    return [
        torch.tensor(v, dtype=torch.float64, device=device, requires_grad=True)
        for v in _values(problem)
    ]


@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_torch_gradients_match_torch_autograd(torch, problem):
    _, text, shapes, args, _, native = problem
    f = tc.to_torch(text, args=args, shapes=shapes)
    xs = _torch_inputs(torch, problem)
    out, ref = f(*xs), native(torch, *xs)
    _close(out.detach(), ref.detach())
    g = torch.as_tensor(_cotangent(problem, out.detach()))
    got = torch.autograd.grad(out, xs, g)
    want = torch.autograd.grad(ref, xs, g)
    for a, w in zip(got, want):
        _close(a, w)


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_torch_gradcheck_and_double_backward(torch, problem, order, monkeypatch):
    _, text, shapes, args, _, native = problem
    calls = []
    spy = fw.Level.next
    monkeypatch.setattr(fw.Level, "next", lambda self: calls.append(1) or spy(self))
    f = tc.to_torch(text, args=args, shapes=shapes, order=order)
    xs = _torch_inputs(torch, problem)
    assert torch.autograd.gradcheck(f, xs)
    assert torch.autograd.gradgradcheck(f, xs)
    assert bool(calls) == (order == 2)  # order 2: double backward ran the compiled VJP's VJP
    if native(torch, *xs).ndim == 0:  # the Hessian against torch's own
        got = torch.autograd.functional.hessian(f, tuple(xs))
        want = torch.autograd.functional.hessian(lambda *a: native(torch, *a), tuple(xs))
        for row, ref in zip(got, want):
            for a, w in zip(row, ref):
                _close(a, w)


def test_torch_takes_python_numbers(torch):
    problem = PROBLEMS[-1]  # attention, with s a Python float
    _, text, shapes, args, _, native = problem
    f = tc.to_torch(text, args=args, shapes=shapes, order=2)
    *xs, s = _torch_inputs(torch, problem)
    out = f(*xs, 1.5)
    g = torch.as_tensor(_cotangent(problem, out.detach()))
    got = torch.autograd.grad(out, xs, g, create_graph=True)
    want = torch.autograd.grad(native(torch, *xs, 1.5), xs, g, create_graph=True)
    for a, w in zip(got, want):
        _close(a.detach(), w.detach())
    got2 = torch.autograd.grad(sum((a * a).sum() for a in got), xs)  # double backward
    want2 = torch.autograd.grad(sum((a * a).sum() for a in want), xs)
    for a, w in zip(got2, want2):
        _close(a, w)


def test_torch_only_computes_the_gradients_asked_for(torch, monkeypatch):
    problem = PROBLEMS[2]
    _, text, shapes, args, _, _ = problem
    f = tc.to_torch(text, args=args, shapes=shapes)
    w, X, y = _torch_inputs(torch, problem)
    X.requires_grad_(False)
    y.requires_grad_(False)
    asked = []
    spy = fw.Level.value_and_grads
    monkeypatch.setattr(fw.Level, "value_and_grads", lambda s, *a: asked.append(a[1]) or spy(s, *a))
    f(w, X, y).backward()
    assert asked == [[0]] and w.grad is not None and X.grad is None
    with torch.no_grad():  # no gradients asked for: the value alone
        f(w, X, y)
    assert asked == [[0]]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_torch_module_trains_to_the_native_loss(torch, optimizer):
    problem = PROBLEMS[4]
    _, text, shapes, args, _, native = problem
    W1, W2, X, T = (torch.as_tensor(v) for v in _values(problem))
    closed = tc.to_torch(text, args=args, shapes=shapes)

    class MLP(torch.nn.Module):
        def __init__(self, loss):
            super().__init__()
            self.W1, self.W2 = torch.nn.Parameter(W1.clone()), torch.nn.Parameter(W2.clone())
            self.loss = loss

        def forward(self, X, T):
            return self.loss(self.W1, self.W2, X, T)

    def train(loss):
        model = MLP(loss)
        opt = getattr(torch.optim, optimizer)(model.parameters(), lr=1e-2)
        for _ in range(100):
            opt.zero_grad()
            model(X, T).backward()
            opt.step()
        return float(model(X, T).detach()), model

    got, got_model = train(closed)
    want, want_model = train(lambda *a: native(torch, *a))
    assert want < 0.9 * float(native(torch, W1, W2, X, T))  # it trained
    assert abs(got - want) <= 1e-8 * want
    _close(got_model.W1.detach(), want_model.W1.detach(), 1e-8)


def test_torch_cuda_tensors_stay_on_the_gpu(torch):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    problem = PROBLEMS[2]
    _, text, shapes, args, _, native = problem
    f = tc.to_torch(text, args=args, shapes=shapes)
    xs = _torch_inputs(torch, problem, "cuda")
    out = f(*xs)
    (g,) = torch.autograd.grad(out, xs[:1])
    (r,) = torch.autograd.grad(native(torch, *xs), xs[:1])
    assert out.device.type == "cuda" and g.device.type == "cuda"
    _close(g.cpu(), r.cpu())


# --- TensorFlow --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tf():
    return pytest.importorskip("tensorflow")


@pytest.mark.parametrize("graph", [True, False], ids=["tf.function", "eager"])
@pytest.mark.parametrize("problem", PROBLEMS, ids=IDS)
def test_tensorflow_gradients_match_gradient_tape(tf, problem, graph):
    _, text, shapes, args, _, native = problem
    f = tc.to_tensorflow(text, args=args, shapes=shapes)
    xs = [tf.constant(v) for v in _values(problem)]

    def vjps(fn):
        @(tf.function(autograph=False) if graph else (lambda fn: fn))
        def run(*xs):
            with tf.GradientTape() as tape:
                tape.watch(xs)
                out = fn(*xs)
            g = tf.constant(_cotangent(problem, out))
            return out, tape.gradient(out, xs, output_gradients=g)

        return run(*xs)

    (out, got), (ref, want) = vjps(f), vjps(lambda *a: native(tf, *a))
    _close(out, ref)
    for a, w in zip(got, want):
        _close(a, w)


def test_keras_model_trains_to_the_native_loss(tf):
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(3)
    X, Y, W0 = rng.normal(size=(20, 3)), rng.normal(size=(20, 2)), rng.normal(size=(3, 2)) / 2
    closed = tc.to_tensorflow("tanh(X @ W)", args=("X", "W"), shapes={"X": ("N", "d")})

    class Dense(keras.layers.Layer):
        def __init__(self, fn):
            super().__init__(dtype="float64")
            self.fn = fn

        def build(self, shape):
            self.W = self.add_weight(shape=(3, 2), initializer=keras.initializers.Constant(W0))

        def call(self, X):
            return self.fn(X, self.W)

    def train(fn):
        model = keras.Sequential([keras.Input((3,), dtype="float64"), Dense(fn)])
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        data = tf.data.Dataset.from_tensors((X, Y)).repeat(100)  # 100 full-batch steps
        model.fit(data, epochs=1, shuffle=False, verbose=0)
        return float(model.evaluate(X, Y, verbose=0)), model.layers[0].W.numpy()

    got, W = train(closed)
    want, Wn = train(lambda X, W: tf.tanh(X @ W))
    assert abs(got - want) <= 1e-8 * want
    _close(W, Wn, 1e-8)


def test_gradient_tape_training_reaches_the_native_loss(tf):
    problem = PROBLEMS[2]
    _, text, shapes, args, _, native = problem
    w0, X, y = _values(problem)
    closed = tc.to_tensorflow(text, args=args, shapes=shapes)

    def train(fn):
        w = tf.Variable(w0)
        opt = tf.keras.optimizers.Adam(0.05)

        @tf.function
        def step():
            with tf.GradientTape() as tape:
                loss = fn(w, X, y)
            opt.apply_gradients([(tape.gradient(loss, w), w)])
            return loss

        for _ in range(100):
            step()
        return float(fn(w, X, y)), w.numpy()

    got, w = train(closed)
    want, wn = train(lambda *a: native(tf, *a))
    assert want < 0.9 * float(native(tf, w0, X, y))
    assert abs(got - want) <= 1e-8 * want
    _close(w, wn, 1e-8)


# --- arguments ---------------------------------------------------------------------------------


def test_default_args_are_the_variables_in_order_of_first_appearance():
    text = "sum(log(1 + exp(-y * (X @ w))))"
    assert fw._arguments(text, None, {"X": ("N", "D")})[1] == ("y", "X", "w")
    f = tc.parse("norm(W2 @ tanh(W1 @ X) - T)^2", {"W1": "h,d", "W2": "o,h", "X": "d,N"})
    assert fw._arguments(f, None, None)[1] == ("W2", "W1", "X", "T")  # as str(f) shows them
    assert fw._arguments(text, "w, X, y", {"X": ("N", "D")})[1] == ("w", "X", "y")


@pytest.mark.parametrize(
    "args, message",
    [
        (("w", "X", "z"), "'z', which is not a variable"),
        (("w", "X"), "missing y"),
        (("w", "X", "y", "w"), "'w' twice"),
    ],
)
def test_bad_args_are_errors(args, message):
    with pytest.raises(tc.TensorCalcError, match=message):
        fw._arguments("sum(log(1 + exp(-y * (X @ w))))", args, {"X": ("N", "D")})


def test_tensorflow_compiles_the_first_order_only(tf):
    with pytest.raises(tc.TensorCalcError, match=r"to_tensorflow compiles order 1, got order=2"):
        tc.to_tensorflow("x' @ x", order=2)


def test_bad_calls_and_orders_are_errors(torch):
    f = tc.to_torch("x' @ x", args=("x",))
    with pytest.raises(tc.TensorCalcError, match=r"takes 1 arguments \(x\), got 2"):
        f(torch.ones(2), torch.ones(2))
    with pytest.raises(tc.TensorCalcError, match=r"to_torch compiles order 1 to 2, got order=3"):
        tc.to_torch("x' @ x", order=3)
    with pytest.raises(tc.TensorCalcError, match="expected an Expr"):
        tc.to_torch(lambda x: x)
