"""Variables, the gradient tape, custom gradients and optimizers in custom training loops."""
import unittest

import numpy as np

import loom
from helpers import KINDS, as_kind


class VariableTest(unittest.TestCase):
    def test_made_from_every_kind_of_value(self):
        for kind in KINDS + ("scalar",):
            with self.subTest(kind=kind):
                value = [[1.0, 2.0], [3.0, 4.0]]
                v = loom.Variable(as_kind(value, kind), name="w")
                expected = 1.0 if kind == "scalar" else value
                self.assertEqual(v.tolist(), expected)
                self.assertEqual(v.name, "w")
                self.assertTrue(v.trainable)
        self.assertEqual(loom.Variable([1, 2], dtype="float64").dtype, "float64")
        self.assertEqual(loom.Variable(lambda: loom.ones([2])).tolist(), [1.0, 1.0])
        self.assertFalse(loom.Variable(1.0, trainable=False).trainable)
        self.assertEqual(loom.Variable(np.float32(1.5)).shape, ())

    def test_assignments_take_every_kind(self):
        v = loom.Variable([[0.0, 0.0], [0.0, 0.0]])
        for kind in KINDS:
            v.assign(as_kind([[1.0, 2.0], [3.0, 4.0]], kind))
            self.assertEqual(v.tolist(), [[1, 2], [3, 4]])
            v.assign_add(as_kind([[1.0, 1.0], [1.0, 1.0]], kind))
            self.assertEqual(v.tolist(), [[2, 3], [4, 5]])
            v.assign_sub(as_kind([[2.0, 3.0], [4.0, 5.0]], kind))
            self.assertEqual(v.tolist(), [[0, 0], [0, 0]])
        v.assign_add(1)  # a scalar broadcasts
        self.assertEqual(v.tolist(), [[1, 1], [1, 1]])
        self.assertIs(v.assign(np.zeros((2, 2))), v)  # float64 arrays convert to the variable's dtype
        with self.assertRaises(loom.ShapeError) as e:
            v.assign([1.0, 2.0, 3.0])
        self.assertIn("loom.Variable.assign", str(e.exception))

    def test_variables_are_tensors_that_follow_assignments(self):
        v = loom.Variable([1.0, 2.0])
        live = v.value
        snapshot = v.read_value()
        v.assign([5.0, 6.0])
        self.assertEqual(live.tolist(), [5.0, 6.0])
        self.assertEqual(snapshot.tolist(), [1.0, 2.0])
        self.assertEqual((v * 2).tolist(), [10.0, 12.0])
        self.assertEqual((2 * v + v).tolist(), [15.0, 18.0])
        self.assertEqual(loom.reduce_sum(v).item(), 11.0)
        self.assertEqual(np.asarray(v).tolist(), [5.0, 6.0])
        self.assertEqual(v[1].item(), 6.0)
        self.assertIn("loom.Variable(", repr(v))

    def test_sliced_assignment(self):
        w = loom.Variable(np.zeros((3, 4), np.float32))
        ref = np.zeros((3, 4), np.float32)
        for key, value in (((1, 2), 9.0), ((slice(0, 2),), [[1, 2, 3, 4], [5, 6, 7, 8]]), ((slice(None), 0), [7, 7, 7]),
                           ((Ellipsis, -1), 1.0), ((slice(None, None, 2), slice(1, 3)), np.array([[-1, -2]], np.float32)),
                           ((-1,), loom.tensor([4.0, 3.0, 2.0, 1.0])), ((slice(None), slice(None, None, -1)), 0.5)):
            with self.subTest(key=key):
                w[key] = value
                ref[key] = value
                np.testing.assert_array_equal(w.numpy(), ref)
        with self.assertRaises(IndexError):
            w[5] = 1.0
        with self.assertRaises(TypeError):
            w[[0, 1]] = 1.0


class TapeTest(unittest.TestCase):
    def test_gradients_of_tensors_and_variables_in_the_callers_order(self):
        x = loom.tensor([1.0, 2.0, 3.0])
        w = loom.Variable([2.0, 2.0, 2.0], name="w")
        with loom.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y = loom.reduce_sum(x * x * w)
        gw, gx = tape.gradient(y, [w, x])
        self.assertEqual(gx.tolist(), [4, 8, 12])
        self.assertEqual(gw.tolist(), [1, 4, 9])
        self.assertEqual(tape.gradient(y, x).tolist(), [4, 8, 12])
        self.assertIsNone(tape.gradient(y, loom.tensor([1.0])))
        self.assertEqual(tape.gradient(y, loom.tensor([1.0]), unconnected_gradients="zero").tolist(), [0.0])
        nested = tape.gradient(y, {"a": x, "b": [w, (x,)]})
        self.assertEqual(nested["a"].tolist(), [4, 8, 12])
        self.assertEqual(nested["b"][0].tolist(), [1, 4, 9])
        self.assertEqual(nested["b"][1][0].tolist(), [4, 8, 12])
        self.assertEqual(tape.gradient(y, x, output_gradients=2.0).tolist(), [8, 16, 24])

    def test_watch_takes_values_lists_and_structures(self):
        for kind in KINDS + ("scalar",):
            with self.subTest(kind=kind):
                with loom.GradientTape() as tape:
                    x = tape.watch(as_kind([1.0, 2.0], kind))
                    y = loom.reduce_sum(x * x)
                expected = [2.0] if kind == "scalar" else [2.0, 4.0]
                self.assertEqual(np.atleast_1d(tape.gradient(y, x).numpy()).tolist(), expected)
        a, b = loom.tensor(1.0), loom.tensor(2.0)
        with loom.GradientTape() as tape:
            watched = tape.watch([a, {"b": b}])
            y = a * b * b
        self.assertIs(watched[0], a)
        self.assertEqual([g.item() for g in tape.gradient(y, [a, b])], [4.0, 4.0])

    def test_persistence_accessed_variables_reset_and_stop_recording(self):
        v = loom.Variable(3.0)
        with loom.GradientTape() as tape:
            y = v * v
        self.assertEqual(tape.gradient(y, v).item(), 6.0)
        with self.assertRaises(loom.InvalidArgumentError) as e:
            tape.gradient(y, v)  # a non-persistent tape answers once
        self.assertIn("loom.GradientTape.gradient", str(e.exception))
        with loom.GradientTape(watch_accessed_variables=False) as tape:
            y = v * v
        self.assertIsNone(tape.gradient(y, v))
        with loom.GradientTape(persistent=True) as tape:
            y = v * v
            with tape.stop_recording():
                z = v * v * v
            tape.reset()
            w = v * 4.0
        self.assertIsNone(tape.gradient(z, v))
        self.assertIsNone(tape.gradient(y, v))  # forgotten by reset
        self.assertEqual(tape.gradient(w, v).item(), 4.0)
        with tape:  # recording again
            u = v * 5.0
        self.assertEqual(tape.gradient(u, v).item(), 5.0)
        self.assertEqual(tape.gradient([w, u], v).item(), 9.0)  # a list of targets: their sum
        with self.assertRaisesRegex(TypeError, "sources"):
            tape.gradient(w, [1.0])

    def test_higher_order(self):
        x = loom.tensor(3.0)
        with loom.GradientTape() as outer:
            outer.watch(x)
            with loom.GradientTape() as inner:
                inner.watch(x)
                y = x * x * x
            dy = inner.gradient(y, x)
        self.assertEqual(dy.item(), 27.0)
        self.assertEqual(outer.gradient(dy, x).item(), 18.0)

    def test_against_finite_differences_in_float64(self):
        """d/dW sum(tanh(x @ W) * c) and d/dfilter of a convolution, against central differences."""
        rng = np.random.RandomState(0)
        x = rng.randn(2, 3)
        c = rng.randn(2, 2)
        w0 = rng.randn(3, 2)

        def f(w):
            return float(np.sum(np.tanh(x @ w) * c))

        w = loom.tensor(w0, "float64")
        with loom.GradientTape() as tape:
            tape.watch(w)
            y = loom.reduce_sum(loom.tanh(loom.tensor(x) @ w) * c)
        analytic = tape.gradient(y, w).numpy()
        numeric = np.zeros_like(w0)
        eps = 1e-6
        for i in np.ndindex(*w0.shape):
            d = np.zeros_like(w0)
            d[i] = eps
            numeric[i] = (f(w0 + d) - f(w0 - d)) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)

        images = rng.randn(1, 4, 4, 2)
        filt = rng.randn(3, 3, 2, 1)

        def g(fv):
            return float(np.sum(loom.conv2d(images, fv, padding="same").numpy() ** 2))

        fl = loom.tensor(filt)
        with loom.GradientTape() as tape:
            tape.watch(fl)
            out = loom.reduce_sum(loom.square(loom.conv2d(images, fl, padding="same")))
        analytic = tape.gradient(out, fl).numpy()
        for i in [(0, 0, 0, 0), (1, 2, 1, 0), (2, 1, 0, 0)]:
            d = np.zeros_like(filt)
            d[i] = eps
            self.assertAlmostEqual(analytic[i], (g(filt + d) - g(filt - d)) / (2 * eps), delta=1e-5)

    def test_softmax_cross_entropy_gradient_closed_form(self):
        logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 3.0]])
        labels = np.array([2, 0])
        t = loom.tensor(logits)
        with loom.GradientTape() as tape:
            tape.watch(t)
            loss = loom.reduce_sum(loom.sparse_softmax_cross_entropy_with_logits(labels, t))
        p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        np.testing.assert_allclose(tape.gradient(loss, t).numpy(), p - np.eye(3)[labels], rtol=1e-10)


class CustomGradientTest(unittest.TestCase):
    def test_the_backward_function_is_used(self):
        @loom.custom_gradient
        def double_grad_exp(x):
            y = loom.exp(x)

            def grad(dy):
                return dy * y * 2.0

            return y, grad

        x = loom.tensor([0.0, 1.0])
        with loom.GradientTape() as tape:
            tape.watch(x)
            z = loom.reduce_sum(double_grad_exp(x))
        np.testing.assert_allclose(tape.gradient(z, x).numpy(), 2 * np.exp([0.0, 1.0]), rtol=1e-6)
        for kind in KINDS:
            np.testing.assert_allclose(double_grad_exp(as_kind([0.0, 1.0], kind)).numpy(), np.exp([0.0, 1.0]), rtol=1e-6)
        self.assertAlmostEqual(double_grad_exp(1.0).item(), np.exp(1.0), places=5)

    def test_several_inputs_and_outputs_and_none_gradients(self):
        @loom.custom_gradient
        def pair(a, b, scale=1.0):
            def grad(da, db):
                return da * scale + db, None

            return (a * b, a + b), grad

        a, b = loom.tensor([1.0, 2.0]), loom.tensor([3.0, 4.0])
        with loom.GradientTape(persistent=True) as tape:
            tape.watch([a, b])
            p, s = pair(a, b, scale=10.0)
            total = loom.reduce_sum(p) + loom.reduce_sum(s)
        self.assertEqual((p.tolist(), s.tolist()), ([3.0, 8.0], [4.0, 6.0]))
        self.assertEqual(tape.gradient(total, a).tolist(), [11.0, 11.0])
        self.assertIsNone(tape.gradient(total, b))

    def test_exceptions_in_forward_and_backward_come_back(self):
        @loom.custom_gradient
        def bad_forward(x):
            raise ArithmeticError("forward failed")

        with self.assertRaisesRegex(ArithmeticError, "forward failed"):
            bad_forward(loom.tensor(1.0))

        @loom.custom_gradient
        def bad_backward(x):
            def grad(dy):
                raise LookupError("backward failed")

            return loom.identity(x), grad

        x = loom.tensor(1.0)
        with loom.GradientTape() as tape:
            tape.watch(x)
            y = bad_backward(x)
        with self.assertRaisesRegex(LookupError, "backward failed"):
            tape.gradient(y, x)

        @loom.custom_gradient
        def not_a_pair(x):
            return x

        with self.assertRaisesRegex(TypeError, "must return"):
            not_a_pair(loom.tensor(1.0))


class OptimizerTest(unittest.TestCase):
    def test_linear_regression_with_each_optimizer(self):
        xs = np.linspace(-1, 1, 21).astype(np.float32)
        ys = 3.0 * xs + 2.0
        for opt in (loom.optimizers.SGD(learning_rate=0.2), loom.optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                    loom.optimizers.Adam(learning_rate=0.1), loom.optimizers.AdamW(0.1, weight_decay=0.0),
                    loom.optimizers.RMSprop(0.05)):
            with self.subTest(opt=repr(opt)):
                w, b = loom.Variable(0.0, name="w"), loom.Variable(0.0, name="b")
                for _ in range(300):
                    with loom.GradientTape() as tape:
                        err = w * xs + b - ys
                        loss = loom.reduce_mean(err * err)
                    opt.apply_gradients(zip(tape.gradient(loss, [w, b]), [w, b]))
                self.assertAlmostEqual(w.item(), 3.0, delta=0.05)
                self.assertAlmostEqual(b.item(), 2.0, delta=0.05)

    def test_sgd_step_value_minimize_and_errors(self):
        v = loom.Variable([1.0, 2.0])
        opt = loom.optimizers.SGD(learning_rate=0.5)
        opt.apply_gradients([(np.array([1.0, 1.0], np.float32), v), (None, loom.Variable(1.0))])
        self.assertEqual(v.tolist(), [0.5, 1.5])
        opt.apply_gradients([([2.0, 2.0], v)])
        self.assertEqual(v.tolist(), [-0.5, 0.5])
        opt.minimize(lambda: loom.reduce_sum(v * v), [v])  # gradient 2v
        self.assertEqual(v.tolist(), [0.0, 0.0])
        self.assertEqual(opt.learning_rate, 0.5)
        with self.assertRaisesRegex(TypeError, "loom.Variable"):
            opt.apply_gradients([(loom.tensor([1.0]), loom.tensor([1.0]))])
        with self.assertRaisesRegex(ValueError, "> 0"):
            loom.optimizers.Adam(learning_rate=-1.0)
        with self.assertRaises(TypeError):
            loom.optimizers.SGD(learning_rate="fast")
        schedule = loom.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
        self.assertIs(loom.optimizers.SGD(schedule).learning_rate, schedule)
        self.assertIsInstance(loom.optimizers.get("adam"), loom.optimizers.Adam)


if __name__ == "__main__":
    unittest.main()
