"""loom.distributed on the ranks mpirun starts (ctest python_dist_2_ranks): collectives against
hand-computed values, errors, and a data-parallel fit that equals training alone on the global
batches. Not collected by unittest discover: it needs mpirun."""
import unittest

import loom
import loom.distributed as dist


class DistributedTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rank, cls.size = dist.rank(), dist.size()

    def test_the_job(self):
        self.assertTrue(dist.initialized())
        self.assertTrue(0 <= self.rank < self.size)
        self.assertEqual(dist.timeout(), 60)
        self.assertEqual(dist.local_rank(), self.rank)  # one machine

    def test_collectives(self):
        mine = loom.tensor([self.rank + 1.0, 2.0 * (self.rank + 1)])  # rank r: (r + 1) * [1, 2]
        triangle = self.size * (self.size + 1) / 2
        self.assertEqual(dist.all_reduce(mine).tolist(), [triangle, 2 * triangle])
        self.assertAlmostEqual(dist.all_reduce(mine, "mean").tolist()[1], 2 * triangle / self.size, places=5)
        self.assertEqual(dist.all_reduce(mine, "max").tolist(), [self.size, 2.0 * self.size])
        self.assertEqual(dist.all_reduce(mine, "min").tolist(), [1.0, 2.0])
        self.assertEqual(dist.broadcast(mine, self.size - 1).tolist(), [self.size, 2.0 * self.size])
        self.assertEqual(dist.all_gather(mine).tolist(), [float(v) for r in range(self.size) for v in (r + 1, 2 * (r + 1))])
        rows = loom.tensor([[float(self.rank)]] * self.size)  # one row per rank after the scatter
        self.assertEqual(dist.reduce_scatter(rows).tolist(), [[triangle - self.size]])
        dist.barrier()

    def test_errors_name_the_function(self):
        with self.assertRaisesRegex(ValueError, "all_reduce: unknown reduction 'avg'"):
            dist.all_reduce(loom.tensor([1.0]), "avg")
        with self.assertRaises(loom.LoomError) as caught:
            dist.all_reduce(loom.tensor([1, 2]), "mean")
        self.assertEqual(caught.exception.status_name, "DTYPE")
        self.assertIn("loom_dist_all_reduce", str(caught.exception))
        with self.assertRaises(loom.LoomError) as caught:
            dist.broadcast(loom.tensor([1.0]), self.size)
        self.assertIn("is not a rank", str(caught.exception))

    def test_fit_equals_training_alone_on_the_global_batch(self):
        x = loom.tensor([[((7 * i + j) % 11) / 11.0 for j in range(3)] for i in range(48)])
        y = loom.tensor([[row[0] - 2 * row[2]] for row in x.tolist()])

        def trained(distributed):
            loom.set_seed(4 + self.rank if distributed else 4)  # fit starts every rank from rank 0's weights
            model = loom.Sequential([loom.Input((3,)), loom.layers.Dense(4, activation="tanh"), loom.layers.Dense(1)])
            model.compile(optimizer=loom.optimizers.SGD(0.1), loss="mse")
            history = model.fit(x, y, epochs=3, batch_size=12, seed=2, verbose=0, distributed=distributed)
            return history.history["loss"], model.predict(x, verbose=0).tolist()

        losses, predictions = trained(True)
        alone_losses, alone_predictions = trained(False)
        self.assertLess(losses[-1], losses[0])
        for a, b in zip(losses, alone_losses):
            self.assertAlmostEqual(a, b, delta=1e-5 * b)
        worst = max(abs(p[0] - q[0]) for p, q in zip(predictions, alone_predictions))
        self.assertLess(worst, 1e-5)


if __name__ == "__main__":
    dist.init()
    dist.set_timeout(60)  # a test that leaves its peer waiting fails rather than hangs
    try:
        unittest.main(verbosity=2 if dist.rank() == 0 else 0)
    finally:
        dist.finalize()
