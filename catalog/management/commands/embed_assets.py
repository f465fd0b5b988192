"""Compute the search embeddings of models and datasets (catalog.semantic) and build the vector index."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from catalog import semantic
from catalog.models import Dataset, MLModel
from openmodelhub.progress import progress

KINDS = {"models": MLModel, "datasets": Dataset}


class Command(BaseCommand):
    help = (
        "Embed every model and dataset whose text changed since its embedding was computed (with the "
        "encoder bundled in the wordllama package, on CPU, offline), then rebuild the HNSW vector index "
        "that semantic, hybrid and similar-asset searches read. The token weights (inverse document "
        "frequencies over a sample of the catalogue) are fitted on the first run over at least "
        f"{semantic.MIN_WEIGHTS_DOCUMENTS} assets, or again with --refit-weights, which makes this run "
        "recompute every embedding. Safe to run again: unchanged assets are skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=sorted(KINDS), action="append", help="only models or datasets")
        parser.add_argument("--force", action="store_true", help="recompute every embedding, changed or not")
        parser.add_argument("--batch", type=int, default=2000, help="assets embedded per batch (default 2000)")
        parser.add_argument("--skip-index", action="store_true", help="leave the vector index as it is")
        parser.add_argument("--index-only", action="store_true", help="only rebuild the vector index")
        parser.add_argument(
            "--refit-weights",
            action="store_true",
            help="count the token frequencies of the catalogue again (then every embedding is recomputed)",
        )

    def handle(self, *args, kind, force, batch, skip_index, index_only, refit_weights, **options):
        if batch < 1 or batch > 10_000:
            raise CommandError("--batch must be from 1 to 10000")
        if skip_index and index_only:
            raise CommandError("--skip-index and --index-only exclude each other")
        if index_only and refit_weights:
            raise CommandError("--index-only and --refit-weights exclude each other")
        verbosity = options["verbosity"]
        if not index_only:
            self.fit_weights(refit_weights, verbosity)
        for plural in kind or sorted(KINDS, reverse=True):
            model_cls = KINDS[plural]
            if not index_only:
                started = time.monotonic()
                with progress(model_cls.objects.count(), plural, stdout=self.stdout, verbosity=verbosity) as bar:
                    for done in semantic.embed_assets(model_cls, force=force, batch=batch):
                        bar.advance(done)
                if verbosity:
                    self.stdout.write(f"{plural}: embedded in {time.monotonic() - started:.1f} s")
            if not skip_index:
                started = time.monotonic()
                count = semantic.vector_index(model_cls.kind).build()
                if verbosity:
                    self.stdout.write(f"{plural}: {count} vectors indexed in {time.monotonic() - started:.1f} s")

    def fit_weights(self, refit: bool, verbosity: int) -> None:
        if semantic.token_weights() is not None and not refit:
            return
        assets = MLModel.objects.count() + Dataset.objects.count()
        if assets < semantic.MIN_WEIGHTS_DOCUMENTS and not refit:
            if verbosity:
                self.stdout.write(
                    f"token weights: not fitted yet ({assets} assets, fitted from {semantic.MIN_WEIGHTS_DOCUMENTS}); "
                    "embeddings average their tokens unweighted"
                )
            return
        started = time.monotonic()
        documents = semantic.fit_token_weights()
        if verbosity:
            self.stdout.write(f"token weights: fitted on {documents} texts in {time.monotonic() - started:.1f} s")
