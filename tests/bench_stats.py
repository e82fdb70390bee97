#!/usr/bin/python3
"""The benchmark's verdicts (scripts/benchlib/stats.py): the median's interval
from order statistics, and the three-way verdicts built on it."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from benchlib import stats  # noqa: E402


class MedianInterval(unittest.TestCase):
    def test_ranks_follow_the_sign_test(self):
        # n = 15: P(X <= 3) = 0.0176 for X ~ Bin(15, 1/2), so x(4) .. x(12), 96.5%.
        median, low, high, confidence = stats.median_interval(range(1, 16))
        self.assertEqual((median, low, high), (8, 4, 12))
        self.assertAlmostEqual(confidence, 0.96484375)
        # n = 10: x(2) .. x(9), 97.9%.
        self.assertEqual(stats.median_interval(range(1, 11))[1:3], (2, 9))

    def test_order_of_the_input_does_not_matter(self):
        self.assertEqual(stats.median_interval([5, 1, 4, 2, 3, 9, 8, 7, 6, 10]),
                         stats.median_interval(range(1, 11)))

    def test_too_few_rounds_give_the_whole_range_and_say_so(self):
        median, low, high, confidence = stats.median_interval([3, 1, 2])
        self.assertEqual((median, low, high), (2, 1, 3))
        self.assertAlmostEqual(confidence, 0.75)
        self.assertEqual(stats.median_interval([]), (None, None, None, 0.0))


class Verdicts(unittest.TestCase):
    def iv(self, low, high, confidence=0.97):
        return ((low + high) / 2, low, high, confidence)

    def test_at_most(self):
        self.assertEqual(stats.at_most(self.iv(1.00, 1.02), 1.03), "met")
        self.assertEqual(stats.at_most(self.iv(1.04, 1.06), 1.03), "not met")
        self.assertEqual(stats.at_most(self.iv(1.02, 1.04), 1.03), "undecided")
        self.assertEqual(stats.at_most(self.iv(1.00, 1.01, confidence=0.75), 1.03), "undecided")

    def test_not_below(self):
        self.assertEqual(stats.not_below(self.iv(1.01, 1.05), 1.0), "above")
        self.assertEqual(stats.not_below(self.iv(0.97, 1.02), 1.0), "tie")
        self.assertEqual(stats.not_below(self.iv(0.90, 0.98), 1.0), "below")


if __name__ == "__main__":
    unittest.main()
