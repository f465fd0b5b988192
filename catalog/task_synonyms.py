"""Task synonyms: the names records use for a task, mapped onto the task table's slugs.

Records from other catalogues name one task several ways ("Classification" for an image model,
"speech recognition", "NER"); created as they are, a facet would show one task twice. The mapping
file (``settings.TASK_SYNONYMS_FILE``, ``fixtures/task_synonyms.json`` by default) has two parts::

    {"synonyms": {"asr": "automatic-speech-recognition", ...},
     "by_media": {"classification": {"image": "image-classification", "text": "text-classification"}, ...}}

``synonyms`` maps a name whatever the record's media; ``by_media`` maps a generic name according to
the media of the record (a record with several media gets the task of each of them that has one).
Names are compared after ``slugify`` (lower case, spaces and underscores as hyphens), so
"Text Generation", "text_generation" and "text-generation" are one task.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.text import slugify


class SynonymsError(ValueError):
    """The mapping file is unreadable or malformed (the message names the file and the entry)."""


def task_key(name: str) -> str:
    return slugify(str(name).replace("_", "-"))


@dataclass
class TaskSynonyms:
    path: str = ""
    synonyms: dict[str, str] = field(default_factory=dict)
    by_media: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str | None) -> TaskSynonyms:
        """The mapping in ``path``; an empty path means no mapping."""
        if not path:
            return cls()
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SynonymsError(f"task synonyms file {path}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SynonymsError(f"task synonyms file {path}: {exc}") from None
        if not isinstance(data, dict):
            raise SynonymsError(f"task synonyms file {path}: the top level must be a JSON object")
        synonyms, by_media = data.get("synonyms", {}), data.get("by_media", {})
        if not isinstance(synonyms, dict) or not isinstance(by_media, dict):
            raise SynonymsError(f"task synonyms file {path}: 'synonyms' and 'by_media' must be objects")
        out = cls(path=str(path))
        for name, target in synonyms.items():
            out.synonyms[task_key(name)] = cls._target(path, f"synonyms.{name}", target)
        for name, per_media in by_media.items():
            if not isinstance(per_media, dict):
                raise SynonymsError(f"task synonyms file {path}: by_media.{name} must map media to task slugs")
            out.by_media[task_key(name)] = {
                str(media): cls._target(path, f"by_media.{name}.{media}", target) for media, target in per_media.items()
            }
        return out

    @staticmethod
    def _target(path, where: str, target) -> str:
        if not isinstance(target, str) or not target or task_key(target) != target:
            raise SynonymsError(f"task synonyms file {path}: {where} must be a task slug, not {target!r}")
        return target

    def map(self, name: str, media: list[str]) -> list[str]:
        """The task slugs ``name`` stands for on a record with these media; ``[]`` when not a synonym."""
        key = task_key(name)
        if key in self.synonyms:
            return [self.synonyms[key]]
        per_media = self.by_media.get(key, {})
        return list(dict.fromkeys(per_media[m] for m in media if m in per_media))
