"""Croissant 1.1 (MLCommons) for datasets: ``parsing`` reads a Croissant document into the records
``catalog.records`` writes (also used by the demo builder, without Django), ``exporting`` describes a
dataset as Croissant JSON-LD, ``importing`` creates or updates datasets from documents. See
docs/croissant.md."""
