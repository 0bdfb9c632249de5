"""Tiny random-weight models the tests build themselves: real loading and
inference code paths, meaningless output, no network."""
