"""Mixed precision from Python: policies (global and per layer), training under mixed_bfloat16
and mixed_float16, loss scaling in custom loops."""
import os
import tempfile
import unittest

import numpy as np

import loom
from test_models import circle_data

mp = loom.mixed_precision
L = loom.layers


class Policies(unittest.TestCase):
    def tearDown(self):
        mp.set_global_policy("float32")

    def test_the_global_policy_reaches_layers_made_after_it(self):
        self.assertEqual(mp.global_policy(), mp.Policy("float32"))
        mp.set_global_policy("mixed_bfloat16")
        self.assertEqual(mp.global_policy().name, "mixed_bfloat16")
        self.assertEqual(mp.global_policy().compute_dtype, "bfloat16")
        hidden = L.Dense(4, activation="relu")
        last = L.Dense(2, dtype="float32")
        mp.set_global_policy("float32")
        x = np.linspace(-1, 1, 24, dtype=np.float32).reshape(8, 3)
        h = hidden(x)
        self.assertEqual(h.dtype, "bfloat16")
        self.assertEqual(last(h).dtype, "float32")
        for w in hidden.weights:
            self.assertEqual(w.dtype, "float32")
        # bfloat16 keeps 8 bits of mantissa: the layer agrees with float32 NumPy to 2^-7 relative.
        kernel, bias = (w.numpy() for w in hidden.weights)
        expected = np.maximum(x @ kernel + bias, 0)
        np.testing.assert_allclose(h.numpy().astype(np.float32), expected, rtol=2 ** -7, atol=2 ** -7)

    def test_models_train_under_mixed_policies(self):
        x, y = circle_data()
        for policy in ("mixed_bfloat16", "mixed_float16"):
            with self.subTest(policy=policy):
                loom.set_seed(3)
                mp.set_global_policy(policy)
                model = loom.Sequential([loom.Input((2,)), L.Dense(16, activation="tanh"),
                                         L.Dense(16, activation="tanh"), L.Dense(2, dtype="float32")])
                mp.set_global_policy("float32")
                model.compile(optimizer=loom.optimizers.Adam(0.02),
                              loss=loom.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
                model.fit(x, y, epochs=40, batch_size=32, verbose=0)
                loss, accuracy = model.evaluate(x, y, verbose=0)
                self.assertGreater(accuracy, 0.9)
                self.assertEqual(model.predict(x[:4], verbose=0).dtype, np.float32)

    def test_a_bfloat16_model_file_holds_rounded_weights_that_load_as_float32(self):
        loom.set_seed(4)
        model = loom.Sequential([loom.Input((3,)), L.Dense(64, activation="relu"), L.Dense(2)])
        x = np.linspace(-1, 1, 30, dtype=np.float32).reshape(10, 3)
        with tempfile.TemporaryDirectory() as d:
            full, half = os.path.join(d, "full.loom"), os.path.join(d, "half.loom")
            model.save(full)
            model.save(half, weights_dtype="bfloat16")
            # 386 weights of 2 bytes instead of 4; the header grows by the dtype names (under 64 bytes).
            saved = os.path.getsize(full) - os.path.getsize(half)
            self.assertGreater(saved, 2 * 386 - 64)
            self.assertLessEqual(saved, 2 * 386)
            back = loom.load_model(half)
            for original, loaded in zip(model.weights, back.weights):
                self.assertEqual(loaded.dtype, "float32")
                rounded = loom.cast(loom.cast(original, "bfloat16"), "float32").numpy()
                np.testing.assert_array_equal(loaded.numpy(), rounded)
            np.testing.assert_allclose(back.predict(x, verbose=0), model.predict(x, verbose=0), rtol=2 ** -6, atol=2 ** -6)
            with self.assertRaisesRegex(loom.DTypeError, "weights_dtype must be a floating dtype"):
                model.save(half, weights_dtype="int32")

    def test_unknown_policies_are_value_errors_naming_the_function(self):
        with self.assertRaisesRegex(ValueError, "set_global_policy: unknown policy 'int8'"):
            mp.set_global_policy("int8")
        with self.assertRaisesRegex(ValueError, "loom.layers.Dense: unknown policy 'half'"):
            L.Dense(2, dtype="half")
        with self.assertRaisesRegex(TypeError, "set_global_policy"):
            mp.set_global_policy(16)


class LossScaling(unittest.TestCase):
    def test_minimize_scales_the_loss_and_apply_gradients_divides_it_out(self):
        opt = mp.LossScaleOptimizer(loom.optimizers.SGD(0.5), initial_scale=1024)
        self.assertEqual(opt.loss_scale, 1024)
        v = loom.Variable([1.0, 2.0])
        opt.minimize(lambda: loom.reduce_sum(v * v), [v])  # gradient (2, 4): v - 0.5 (2, 4) = 0
        np.testing.assert_array_equal(v.numpy(), [0.0, 0.0])

    def test_a_step_with_infinite_gradients_is_skipped_and_halves_the_scale(self):
        opt = mp.LossScaleOptimizer(loom.optimizers.SGD(0.5), initial_scale=1024)
        v = loom.Variable([1.0, 2.0])
        opt.apply_gradients([(np.array([np.inf, 1.0], np.float32), v)])
        np.testing.assert_array_equal(v.numpy(), [1.0, 2.0])
        self.assertEqual(opt.loss_scale, 512)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(TypeError, "LossScaleOptimizer: inner_optimizer"):
            mp.LossScaleOptimizer("adam")
        with self.assertRaisesRegex(ValueError, "initial_scale"):
            mp.LossScaleOptimizer(loom.optimizers.SGD(), initial_scale=0)


if __name__ == "__main__":
    unittest.main()
