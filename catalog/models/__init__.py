"""The catalogue: models, their architectures and lineage, datasets and their files and columns."""

from catalog.models.base import (  # noqa: F401
    Asset,
    AssetQuerySet,
    Balance,
    DatasetRole,
    Domain,
    Family,
    Level,
    Media,
    MediaType,
    Pooling,
    Relation,
    RelationshipType,
    Task,
    TrainingType,
    Visibility,
    asset_name_validator,
    exactly_one_asset,
    is_member,
    non_negative,
    sees_everything,
    visibility_shape,
)
from catalog.models.mlmodels import (  # noqa: F401
    CNNDetails,
    CNNModule,
    LineageCycleError,
    MLModel,
    ModelLineage,
    RNNDetails,
    TransformerDetails,
    ancestor_ids,
    check_lineage_edge,
    descendant_ids,
)
from catalog.models.datasets import (  # noqa: F401
    Dataset,
    DatasetFile,
    DatasetRelationship,
    DatasetRelationshipColumnLink,
    FileColumn,
    ModelDataset,
)
from catalog.models.files import FileVersion, RepoFile, UploadSession  # noqa: F401
from catalog.models.loading import LoadedRecord  # noqa: F401
from catalog.models.revisions import Commit, CommitChange, Ref, compute_oid, version_identity  # noqa: F401
from catalog.models.likes import Like  # noqa: F401
from catalog.models.embeddings import SearchEmbedding  # noqa: F401
from catalog.models.evaluations import EvaluationResult, EvaluationResultQuerySet, EvaluationSource  # noqa: F401
