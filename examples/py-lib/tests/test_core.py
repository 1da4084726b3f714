import unittest

from intervals import Interval, intersect, merge, total_length


class MergeTest(unittest.TestCase):
    def test_overlapping_and_touching_intervals_join(self):
        got = merge([Interval(5, 8), Interval(1, 3), Interval(3, 4), Interval(7, 10)])
        self.assertEqual(got, [Interval(1, 4), Interval(5, 10)])

    def test_empty_intervals_vanish(self):
        self.assertEqual(merge([Interval(2, 2), Interval(0, 1)]), [Interval(0, 1)])

    def test_a_reversed_interval_is_refused(self):
        with self.assertRaises(ValueError):
            Interval(3, 1)


class IntersectTest(unittest.TestCase):
    def test_common_parts(self):
        a = [Interval(0, 5), Interval(10, 20)]
        b = [Interval(3, 12), Interval(15, 16)]
        self.assertEqual(intersect(a, b), [Interval(3, 5), Interval(10, 12), Interval(15, 16)])

    def test_disjoint_sets_share_nothing(self):
        self.assertEqual(intersect([Interval(0, 1)], [Interval(1, 2)]), [])


class LengthTest(unittest.TestCase):
    def test_overlaps_count_once(self):
        self.assertEqual(total_length([Interval(0, 10), Interval(5, 15), Interval(20, 21)]), 16)
