"""servecost: is it cheaper to buy bigger hardware or to optimise the serving software?

The library holds all logic as small functions over DataFrames; the Snakemake rules, scripts and
the `servecost` CLI are thin doors into it.
"""

__version__ = "0.1.0"
