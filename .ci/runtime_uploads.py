"""Proof that requirements.txt alone runs the worker side (issue 15, item 6).

Run by .ci/runtime_only.sh in a virtualenv holding only the runtime requirements: on a temporary
embedded hub (SQLite, eager Celery, local files) it uploads a safetensors and a pickle checkpoint
to a model and a CSV and a Parquet file to a dataset through catalog.files.upload_file, lets the
pipeline (inspect, hash, encrypt, store) run, and exits non-zero unless every version is ready
with what inspection found. It also checks that no development package is importable.
"""

import importlib.util
import io
import json
import os
import pickle
import shutil
import struct
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY = ("pytest", "factory", "moto", "schemathesis", "playwright", "ruff")


def safetensors_bytes() -> bytes:
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}).encode()
    return struct.pack("<Q", len(header)) + header + bytes(16)


def parquet_bytes() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.table({"id": [1, 2, 3], "label": ["a", "b", "c"]}), sink)
    return sink.getvalue()


def main() -> int:
    leaked = [name for name in DEV_ONLY if importlib.util.find_spec(name)]
    if leaked:
        print(f"runtime-only: development packages are installed: {', '.join(leaked)}")
        return 1
    var = Path(tempfile.mkdtemp(prefix="omh-runtime-"))
    os.environ.update(
        OMH_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="openmodelhub.settings",
        DATABASE_URL="",
        REDIS_URL="",
        CELERY_TASK_ALWAYS_EAGER="1",
    )
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    try:
        call_command("migrate", verbosity=0)
        return upload_and_check()
    finally:
        shutil.rmtree(var, ignore_errors=True)


def upload_and_check() -> int:
    from accounts.models import User
    from catalog.files import upload_file
    from catalog.models import Dataset, DatasetFile, FileVersion, MLModel

    user = User.objects.create_user("runtime", "runtime@example.org", "runtime-pass-123")
    model = MLModel.objects.create(owner=user, name="runtime-model")
    dataset = Dataset.objects.create(owner=user, name="runtime-data")
    uploads = [
        (model, "model.safetensors", safetensors_bytes()),
        (model, "model.pt", pickle.dumps({"weights": [1.0, 2.0], "step": 3}, protocol=2)),
        (dataset, "train.csv", b"id,label\n1,a\n2,b\n3,c\n"),
        (dataset, "train.parquet", parquet_bytes()),
    ]
    failed = 0
    for asset, path, content in uploads:
        version = upload_file(user=user, asset=asset, path=path, content=io.BytesIO(content))
        version = FileVersion.objects.get(pk=version.pk)
        ok = version.status == FileVersion.Status.READY
        failed += not ok
        print(f"runtime-only: {path}: {version.status} {version.reason}".rstrip())
    model.refresh_from_db()
    rows = dict(DatasetFile.objects.filter(dataset=dataset).values_list("path", "row_count"))
    print(f"runtime-only: parameters counted {model.parameter_count}, rows profiled {rows}")
    if model.parameter_count != 4 or rows != {"train.csv": 3, "train.parquet": 3}:
        failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
