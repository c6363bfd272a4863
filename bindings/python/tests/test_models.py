"""Models: compile / fit / evaluate / predict with every kind of data, callbacks that use the model,
weights, summaries, whole-model files (with Python layers), checkpoints, subclassed models."""
import contextlib
import io
import os
import unittest

import numpy as np

import loom
from helpers import KINDS, as_kind, scratch

L = loom.layers


def circle_data(n=400):
    rng = np.random.RandomState(0)
    points = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    labels = (np.sum(points ** 2, axis=1) < 0.5).astype(np.int64)
    return points, labels


def mlp(seed=3):
    loom.set_seed(seed)
    return loom.Sequential([loom.Input((2,)), L.Dense(16, activation="tanh"), L.Dense(16, activation="tanh"),
                            L.Dense(2)], name="mlp")


def compiled_mlp(seed=3, lr=0.02):
    model = mlp(seed)
    model.compile(optimizer=loom.optimizers.Adam(learning_rate=lr),
                  loss=loom.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return model


class Residual(L.Layer):
    """x + dense(x): a Python layer with a sublayer, saved and loaded with its model."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = L.Dense(units, activation="tanh")

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (self.units,), initializer="ones")

    def call(self, x, training=False):
        return x + self.inner(x) * self.scale


class TwoLayerNet(loom.Model):
    """A subclassed model."""

    def __init__(self, hidden=16, classes=2, **kwargs):
        super().__init__(**kwargs)
        self.hidden = L.Dense(hidden, activation="tanh")
        self.out = L.Dense(classes)

    def call(self, x, training=False):
        return self.out(self.hidden(x))


class TrainingTest(unittest.TestCase):
    def test_fit_evaluate_predict_with_every_kind_of_data(self):
        x, y = circle_data()
        for kind in KINDS:
            with self.subTest(kind=kind):
                model = compiled_mlp()
                xs = as_kind(x.tolist(), kind)
                ys = as_kind(y.tolist(), kind, "int64")
                history = model.fit(xs, ys, epochs=30, batch_size=32, seed=1, verbose=0)
                self.assertEqual(sorted(history.history), ["accuracy", "loss"])
                self.assertEqual(history.epoch, list(range(30)))
                self.assertLess(history.history["loss"][-1], history.history["loss"][0] * 0.4)
                loss, accuracy = model.evaluate(xs, ys)
                self.assertGreater(accuracy, 0.9)
                self.assertEqual(model.evaluate(xs, ys, return_dict=True), {"loss": loss, "accuracy": accuracy})
                predictions = model.predict(xs)
                self.assertIsInstance(predictions, np.ndarray)
                self.assertEqual(predictions.shape, (400, 2))
                np.testing.assert_allclose(model(xs).numpy(), predictions, rtol=1e-5, atol=1e-6)
                self.assertAlmostEqual(float(np.mean(predictions.argmax(1) == y)), accuracy, places=6)
        self.assertEqual(model.metrics_names, ["loss", "accuracy"])

    def test_fit_options(self):
        x, y = circle_data()
        a = compiled_mlp().fit(x, y, epochs=3, seed=5, verbose=0).history
        b = compiled_mlp().fit(x, y, epochs=3, seed=5, verbose=0).history
        self.assertEqual(a, b)  # the same seed: the same run
        model = compiled_mlp()
        history = model.fit(x, y, epochs=2, batch_size=50, validation_split=0.25, shuffle=False, verbose=0)
        self.assertEqual(sorted(history.history), ["accuracy", "loss", "val_accuracy", "val_loss"])
        history = model.fit(x, y, epochs=2, validation_data=(x[:50], y[:50]), verbose=0)
        self.assertEqual(len(history.history["val_loss"]), 2)
        self.assertEqual(history.history["val_loss"][-1], model.evaluate(x[:50], y[:50]) [0])
        history = model.fit(x, y, epochs=5, initial_epoch=3, verbose=0)
        self.assertEqual(history.epoch, [3, 4])
        mse = mlp()
        mse.compile("sgd", "mse", metrics=["mae"])
        self.assertEqual(sorted(mse.fit(x, np.stack([x[:, 0], x[:, 1]], 1), epochs=1, verbose=0).history),
                         ["loss", "mae"])
        self.assertIsInstance(mse.evaluate(x, x, return_dict=False), list)
        self.assertEqual(len(mse.fit(x, np.ones((400, 2), np.int64), verbose=0).epoch), 1)  # integer targets, mse
        only_loss = mlp()
        only_loss.compile("rmsprop", "mse")
        self.assertIsInstance(only_loss.evaluate(x, x), float)
        with contextlib.redirect_stdout(io.StringIO()):
            model.fit(x, y, epochs=1, verbose=0, batch_size=400)
        for bad in (dict(epochs=-1), dict(batch_size=0), dict(validation_split=1.5), dict(seed="s")):
            with self.subTest(bad=bad):
                with self.assertRaises((TypeError, ValueError)):
                    model.fit(x, y, verbose=0, **bad)
        with self.assertRaises(NotImplementedError):
            model.fit(x, y, sample_weight=np.ones(400), verbose=0)

    def test_compile_with_names_and_objects(self):
        x, y = circle_data(64)
        for optimizer in ("sgd", "adam", "adamw", "rmsprop", "Adam", loom.optimizers.SGD(0.1, momentum=0.9),
                          loom.optimizers.RMSprop(0.01, centered=True),
                          loom.optimizers.Adam(loom.optimizers.schedules.CosineDecay(0.01, 10))):
            with self.subTest(optimizer=repr(optimizer)):
                model = mlp()
                model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
                model.fit(x, y, epochs=1, verbose=0)
        for loss in ("mse", "mae", loom.losses.MeanSquaredError(), "binary_crossentropy"):
            model = mlp()
            model.compile("sgd", loss)
            model.fit(x, np.ones((64, 2), np.float32) * 0.5, epochs=1, verbose=0)
        model = mlp()
        with self.assertRaisesRegex(ValueError, "unknown optimizer"):
            model.compile("nadam", "mse")
        with self.assertRaises(loom.LoomError) as e:
            model.compile("sgd", "no_such_loss")
        self.assertIn("no_such_loss", str(e.exception))
        with self.assertRaisesRegex(TypeError, "loss"):
            model.compile("sgd", lambda a, b: a)
        with self.assertRaises(loom.LoomError):
            model.compile("sgd", "mse", metrics=["no_such_metric"])
        self.assertIsNone(mlp().optimizer)

    def test_callbacks_use_the_model(self):
        x, y = circle_data()
        model = compiled_mlp()
        folder = scratch(self)
        seen = []

        class Recorder(loom.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.batches = 0
                self.begun = []

            def on_train_begin(self, logs=None):
                seen.append("begin")

            def on_epoch_begin(self, epoch, logs=None):
                self.begun.append(epoch)

            def on_train_batch_end(self, batch, logs=None):
                self.batches += 1
                assert "loss" in logs

            def on_epoch_end(self, epoch, logs=None):
                seen.append((epoch, sorted(logs)))
                self.model.save(os.path.join(folder, f"epoch{epoch}.loom"))
                self.model.save_checkpoint(os.path.join(folder, "ckpt"), epoch)
                assert self.model.predict(x[:4]).shape == (4, 2)
                assert "loss" in self.model.evaluate(x[:10], y[:10], return_dict=True)
                self.model.optimizer.learning_rate = 0.001 * (epoch + 1)
                if epoch == 2:
                    self.model.stop_training = True

            def on_train_end(self, logs=None):
                seen.append("end")

        recorder = Recorder()
        plain = []
        history = model.fit(x, y, epochs=10, batch_size=100, verbose=0,
                            callbacks=[recorder, lambda epoch, logs: plain.append(epoch)])
        self.assertEqual(history.epoch, [0, 1, 2])  # stopped after epoch 2
        self.assertEqual(plain, [0, 1, 2])
        self.assertEqual(seen[0], "begin")
        self.assertEqual(seen[-1], "end")
        self.assertEqual(recorder.batches, 12)
        self.assertEqual(recorder.begun, [0, 1, 2])
        self.assertAlmostEqual(model.optimizer.learning_rate, 0.003)
        self.assertTrue(os.path.exists(os.path.join(folder, "epoch2.loom")))
        self.assertEqual(len(model.fit(x, y, epochs=4, verbose=0, callbacks=[lambda e, logs: e == 1]).epoch), 2)

        stopper = loom.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=10.0)
        self.assertEqual(len(compiled_mlp().fit(x, y, epochs=10, verbose=0, callbacks=[stopper]).epoch), 2)
        path = os.path.join(folder, "best-{epoch:02d}.loom")
        compiled_mlp().fit(x, y, epochs=2, verbose=0, callbacks=[loom.callbacks.ModelCheckpoint(path, monitor="loss")])
        self.assertTrue(os.path.exists(os.path.join(folder, "best-02.loom")))
        rates = []
        scheduled = compiled_mlp()
        scheduled.fit(x, y, epochs=3, verbose=0, callbacks=[
            loom.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1)),
            loom.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: rates.append(scheduled.optimizer.learning_rate))])
        np.testing.assert_allclose(rates, [0.01, 0.005, 0.01 / 3])

    def test_an_exception_in_a_callback_comes_out_of_fit(self):
        x, y = circle_data(64)
        model = compiled_mlp()
        error = RuntimeError("from the callback")

        def boom(epoch, logs):
            if epoch == 1:
                raise error

        with self.assertRaises(RuntimeError) as e:
            model.fit(x, y, epochs=5, verbose=0, callbacks=[boom])
        self.assertIs(e.exception, error)

        class BatchBoom(loom.callbacks.Callback):
            def on_batch_end(self, batch, logs=None):
                raise KeyError(batch)

        with self.assertRaises(KeyError):
            model.fit(x, y, epochs=2, verbose=0, callbacks=[BatchBoom()])
        self.assertEqual(len(model.fit(x, y, epochs=2, verbose=0).epoch), 2)  # the model still trains
        with self.assertRaisesRegex(TypeError, "callbacks"):
            model.fit(x, y, verbose=0, callbacks=["not a callback"])

    def test_several_inputs_and_outputs(self):
        a, b = loom.Input((3,), name="a"), loom.Input((3,), name="b")
        joined = L.Concatenate()([a, b])
        out1 = L.Dense(1, name="sum")(joined)
        out2 = L.Dense(2, name="pair")(L.Add()([a, b]))
        model = loom.Model(inputs=[a, b], outputs=[out1, out2])
        model.compile(loom.optimizers.Adam(0.05), "mse")
        rng = np.random.RandomState(0)
        xa, xb = rng.rand(128, 3).astype(np.float32), rng.rand(128, 3).astype(np.float32)
        y1 = (xa.sum(1) + xb.sum(1))[:, None]
        y2 = np.stack([xa[:, 0] + xb[:, 0], xa[:, 1] - xb[:, 1]], 1)
        for kind in KINDS:
            history = model.fit([as_kind(xa.tolist(), kind), as_kind(xb.tolist(), kind)],
                                [as_kind(y1.tolist(), kind), as_kind(y2.tolist(), kind)], epochs=20, verbose=0)
        self.assertEqual(sorted(history.history), ["loss", "pair_loss", "sum_loss"])
        self.assertLess(history.history["loss"][-1], history.history["loss"][0])
        results = model.evaluate([xa, xb], [y1, y2], return_dict=True)
        self.assertEqual(sorted(results), ["loss", "pair_loss", "sum_loss"])
        predictions = model.predict([xa, xb])
        self.assertEqual([p.shape for p in predictions], [(128, 1), (128, 2)])
        self.assertEqual(model.metrics_names, ["loss", "sum_loss", "pair_loss"])
        with self.assertRaisesRegex(ValueError, "2 inputs"):
            model.predict(xa)

    def test_datasets_feed_fit_evaluate_and_predict(self):
        x, y = circle_data(256)
        ds = loom.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=1).batch(32)
        model = compiled_mlp()
        history = model.fit(ds, epochs=20, verbose=0)
        self.assertLess(history.history["loss"][-1], history.history["loss"][0])
        self.assertEqual(len(model.evaluate(ds)), 2)
        self.assertEqual(model.predict(loom.data.Dataset.from_tensor_slices(x).batch(64)).shape, (256, 2))


class WeightsAndFilesTest(unittest.TestCase):
    def test_layers_weights_and_summary(self):
        model = mlp()
        self.assertEqual([type(l).__name__ for l in model.layers], ["Dense", "Dense", "Dense"])
        self.assertIs(model.get_layer(index=1), model.layers[1])
        self.assertIs(model.get_layer(model.layers[2].name), model.layers[2])
        with self.assertRaises(ValueError):
            model.get_layer()
        weights = model.get_weights()
        self.assertEqual([w.shape for w in weights], [(2, 16), (16,), (16, 16), (16,), (16, 2), (2,)])
        self.assertEqual(len(model.trainable_variables), 6)
        self.assertEqual(len(model.weights), 6)
        self.assertEqual(model.count_params(), 354)
        zeros = [np.zeros_like(w) for w in weights]
        for kind in ("numpy", "list", "tensor"):
            model.set_weights([as_kind(z.tolist(), kind) for z in zeros])
            self.assertTrue(all((w == 0).all() for w in model.get_weights()))
        with self.assertRaises(loom.LoomError):
            model.set_weights(zeros[:2])
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            text = model.summary()
        self.assertEqual(out.getvalue().strip(), text.strip())
        self.assertIn("Dense", text)
        self.assertIn("Total params: 354", text)
        lines = []
        model.summary(print_fn=lines.append)
        self.assertEqual(lines, [text])

    def test_sequential_forms(self):
        x = np.ones((3, 4), np.float32)
        for model in (loom.Sequential([L.Dense(2, input_shape=(4,))]),
                      loom.Sequential([L.InputLayer(input_shape=(4,)), L.Dense(2)]),
                      loom.Sequential([L.Dense(2)], input_shape=(4,)), loom.Sequential([L.Dense(2)])):
            self.assertEqual(model.predict(x).shape, (3, 2))
        model = loom.Sequential()
        model.add(loom.Input((4,)))
        model.add(L.Dense(3))
        model.add(L.Dense(1))
        self.assertEqual(model.predict(x).shape, (3, 1))
        model.add(L.Dense(5))
        self.assertEqual(model(x).shape, (3, 5))
        with self.assertRaisesRegex(TypeError, "layer"):
            model.add("dense")
        with self.assertRaisesRegex(ValueError, "input shape"):
            model.add(loom.Input((4,)))
        outer = loom.Sequential([model, L.Dense(2)])  # a model as a layer
        self.assertEqual(outer.predict(x).shape, (3, 2))

    def test_whole_model_files_round_trip(self):
        x, y = circle_data(128)
        folder = scratch(self)
        inputs = loom.Input((2,))
        functional = loom.Model(inputs, L.Dense(2)(Residual(8)(L.Dense(8)(inputs))), name="with_residual")
        models = [compiled_mlp(), functional, loom.Sequential([loom.Input((2,)), Residual(2), L.Dense(2)])]
        for i, model in enumerate(models):
            with self.subTest(model=i):
                if not model.compiled:
                    model.compile("adam", loom.losses.SparseCategoricalCrossentropy(from_logits=True),
                                  metrics=["accuracy"])
                model.fit(x, y, epochs=2, verbose=0)
                path = os.path.join(folder, f"model{i}.loom")
                model.save(path)
                for load in (loom.load_model, loom.models.load_model):
                    loaded = load(path)
                    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
                    self.assertEqual([l.name for l in loaded.layers], [l.name for l in model.layers])
                    self.assertEqual(loaded.evaluate(x, y), model.evaluate(x, y))
                    loaded.fit(x, y, epochs=1, verbose=0)  # compiled as saved
                uncompiled = loom.load_model(path, compile=False)
                self.assertIsNone(uncompiled.optimizer)
                np.testing.assert_array_equal(uncompiled.predict(x), model.predict(x))
        loaded = loom.load_model(os.path.join(folder, "model0.loom"))
        self.assertIsInstance(loaded, loom.Sequential)
        self.assertIsInstance(loaded.layers[0], L.Dense)
        residual = [l for l in loom.load_model(os.path.join(folder, "model2.loom")).layers if isinstance(l, Residual)]
        self.assertEqual(len(residual), 1)
        self.assertEqual(residual[0].units, 2)
        with self.assertRaises(loom.LoomIOError) as e:
            loom.load_model(os.path.join(folder, "missing.loom"))
        self.assertIn("missing.loom", str(e.exception))
        self.assertIsInstance(e.exception, OSError)
        with self.assertRaises(TypeError):
            loom.load_model(42)

    def test_save_and_load_weights(self):
        x, y = circle_data(64)
        model = compiled_mlp()
        model.fit(x, y, epochs=2, verbose=0)
        path = os.path.join(scratch(self), "w.safetensors")
        model.save_weights(path)
        twin = mlp(seed=9)
        self.assertFalse(np.array_equal(twin.predict(x), model.predict(x)))
        twin.load_weights(path)
        np.testing.assert_array_equal(twin.predict(x), model.predict(x))
        names = sorted(loom.io.load_safetensors(path))
        self.assertEqual(len(names), 6)
        with self.assertRaises(loom.LoomError):
            loom.Sequential([loom.Input((2,)), L.Dense(3)]).load_weights(path)

    def test_checkpoints_resume_bit_identically(self):
        x, y = circle_data(200)
        folder = scratch(self)
        straight = compiled_mlp(seed=4)
        straight.fit(x, y, epochs=4, batch_size=32, seed=2, verbose=0)
        first = compiled_mlp(seed=4)
        first.fit(x, y, epochs=2, batch_size=32, seed=2, verbose=0)
        first.save_checkpoint(os.path.join(folder, "ckpt"), 1)
        resumed = compiled_mlp(seed=11)
        next_epoch = resumed.load_checkpoint(os.path.join(folder, "ckpt"))
        self.assertEqual(next_epoch, 2)
        history = resumed.fit(x, y, epochs=4, batch_size=32, seed=2, initial_epoch=next_epoch, verbose=0)
        self.assertEqual(history.epoch, [2, 3])
        for a, b in zip(straight.get_weights(), resumed.get_weights()):
            np.testing.assert_array_equal(a, b)
        with self.assertRaises(loom.LoomIOError):
            resumed.load_checkpoint(os.path.join(folder, "nothing"))


class SubclassedModelTest(unittest.TestCase):
    def test_fits_predicts_and_round_trips(self):
        x, y = circle_data()
        loom.set_seed(5)
        model = TwoLayerNet(hidden=16)
        model.compile(loom.optimizers.Adam(0.02), loom.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        history = model.fit(x, y, epochs=30, batch_size=32, verbose=0)
        self.assertLess(history.history["loss"][-1], history.history["loss"][0] * 0.5)
        self.assertGreater(model.evaluate(x, y)[1], 0.85)
        self.assertEqual(model.layers, [model.hidden, model.out])
        self.assertEqual(len(model.trainable_variables), 4)
        np.testing.assert_allclose(model(x).numpy(), model.predict(x), rtol=1e-5, atol=1e-6)
        self.assertEqual(model.get_config(), {"hidden": 16, "name": model.name})
        path = os.path.join(scratch(self), "sub.loom")
        model.save(path)
        loaded = loom.load_model(path)
        self.assertIsInstance(loaded, TwoLayerNet)
        np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
        loaded.fit(x, y, epochs=1, verbose=0)
        self.assertIn("two_layer_net", model.summary(print_fn=lambda text: None))

    def test_custom_training_loop_on_trainable_variables(self):
        x, y = circle_data()
        model = TwoLayerNet(8)
        model(x[:1])
        variables = model.trainable_variables
        opt = loom.optimizers.Adam(learning_rate=0.05)
        first = None
        loss_fn = loom.losses.SparseCategoricalCrossentropy(from_logits=True)
        for _ in range(80):
            with loom.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            first = first if first is not None else loss.item()
            opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        self.assertLess(loss.item(), first * 0.8)


if __name__ == "__main__":
    unittest.main()
