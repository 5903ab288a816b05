"""relcoord: relational-coordination survey analysis.

A library of plain functions over pandas DataFrames; the Snakemake workflow in
``workflow/`` calls it. Nothing in this package imports Snakemake.
"""

__version__ = "0.1.0"
