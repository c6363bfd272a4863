"""loom.distributed in one process without mpirun: what holds without a job, and the errors.
(The collectives and data-parallel fit run under mpirun in dist_job.py, ctest python_dist_2_ranks.)"""
import unittest

import loom
import loom.distributed as dist


class WithoutAJob(unittest.TestCase):
    def test_no_job_is_a_distributed_error_naming_the_function(self):
        self.assertFalse(dist.initialized())
        with self.assertRaises(loom.DistributedError) as caught:
            dist.rank()
        self.assertEqual(caught.exception.status_name, "DISTRIBUTED")
        self.assertIn("loom.distributed.rank", str(caught.exception))
        with self.assertRaises(loom.DistributedError):
            dist.all_reduce([1.0, 2.0])

    def test_settings_hold_without_a_job(self):
        before = dist.timeout()
        try:
            dist.set_timeout(12.5)
            self.assertEqual(dist.timeout(), 12.5)
        finally:
            dist.set_timeout(before)

    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "all_reduce: unknown reduction 'avg'"):
            dist.all_reduce([1.0], "avg")
        with self.assertRaisesRegex(TypeError, "init: backend must be a string"):
            dist.init(3)
        with self.assertRaisesRegex(TypeError, "set_timeout"):
            dist.set_timeout("soon")
        with self.assertRaises(loom.LoomError) as caught:
            dist.init("carrier-pigeon")
        self.assertIn("carrier-pigeon", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
