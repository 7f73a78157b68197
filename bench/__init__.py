"""Benchmarks of the figures engine, streaming, a province-scale run and rendering (`make bench`).

Each benchmark prints its figures as a table and as JSON. Every target is a ratio or a bound
measured side by side in the same run on the same machine; absolute times are printed for
context only. Not part of `make test`: nothing here asserts a time.
"""
