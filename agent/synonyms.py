"""The hub's vocabulary, in the one place to edit it: what people say -> what it means in the schema.

Each entry is (the words people use, what they mean as SQL over the exposed tables). The prompt
lists them verbatim; add a line when evaluation shows the model misreading a word.
"""

SYNONYMS: list[tuple[tuple[str, ...], str]] = [
    (
        ("language model", "LLM", "text model", "NLP model", "chat model"),
        "a model with media 'text': catalog_mlmodel_media.mediatype_id = 'text'",
    ),
    (
        ("vision model", "image model", "computer vision model", "CV model"),
        "a model with media 'image': catalog_mlmodel_media.mediatype_id = 'image'",
    ),
    (
        ("speech model", "audio model", "ASR model"),
        "a model with media 'audio': catalog_mlmodel_media.mediatype_id = 'audio'",
    ),
    (("video model",), "a model with media 'video'"),
    (
        ("multimodal model", "vision-language model", "VLM"),
        "a model with media 'multimodal', or with both 'text' and 'image' media",
    ),
    (("tabular data", "table data"), "media 'tabular'"),
    (
        ("text dataset", "image dataset", "audio dataset"),
        "a dataset with that media: catalog_dataset_media.mediatype_id = 'text' / 'image' / 'audio'",
    ),
    (
        ("fine-tuned", "finetuned", "fine tune", "instruction-tuned"),
        "catalog_mlmodel.training_type = 'finetune' (the one definition; that its base is in the catalogue "
        "is a lineage question: see 'derived from')",
    ),
    (("pre-trained", "pretrained", "foundation model"), "catalog_mlmodel.training_type = 'pretrain'"),
    (("RL", "RLHF", "reinforcement learning"), "catalog_mlmodel.training_type = 'rl'"),
    (
        ("size of a model", "number of parameters", "parameters", "params", "big", "large", "small"),
        "catalog_mlmodel.parameter_count; 7B = 7000000000, 110M = 110000000",
    ),
    (
        ("transformer", "CNN", "convolutional network", "RNN", "recurrent network", "LSTM"),
        "catalog_mlmodel.architecture_family = 'transformer' / 'cnn' / 'rnn' (LSTM and GRU are 'rnn'); "
        "details in catalog_transformerdetails, catalog_cnndetails (+ catalog_cnnmodule), catalog_rnndetails, "
        "each joined on model_id = catalog_mlmodel.id",
    ),
    (
        ("layers", "number of layers", "depth of the network", "blocks", "decoder layers"),
        "transformer: catalog_transformerdetails.decoder_count; CNN: catalog_cnndetails.module_count (the "
        "modules themselves, in order, are catalog_cnnmodule rows by position)",
    ),
    (
        ("hidden size", "model dimension", "d_model", "embedding size", "width"),
        "catalog_transformerdetails.embedding_size (attention_size is the width of the attention)",
    ),
    (
        ("feed-forward size", "FFN size", "intermediate size", "MLP size"),
        "catalog_transformerdetails.up_size (down_size projects back)",
    ),
    (
        ("kernel size", "filters", "convolution size", "pooling"),
        "catalog_cnnmodule.conv_size and pooling_type ('max' / 'avg' / 'min' / 'other')",
    ),
    (("loss", "criterion", "batch size", "input size"), "catalog_rnndetails.criterion / batch_size / input_size"),
    (
        ("base model", "parent model", "derived from", "based on", "descendant", "derivative"),
        "lineage: a catalog_modellineage row says model_id derives from base_id by relation",
    ),
    (
        ("lineage depth", "generations", "ancestors", "chain of base models", "how deep"),
        "walk catalog_modellineage with WITH RECURSIVE (model_id -> base_id), counting one per edge; "
        "a model with no row as model_id is a root (depth 0)",
    ),
    (
        ("quantized", "merged", "distilled", "adapter", "LoRA"),
        "catalog_modellineage.relation = 'quantization' / 'merge' / 'distillation' / 'adapter'",
    ),
    (
        ("benchmark", "evaluation result", "score", "accuracy", "top-1", "top-5", "leaderboard", "best on"),
        "catalog_evaluationresult: a row for each model_id, dataset_id, split and metric with its value (higher is "
        "better unless higher_is_better is false); 'top-1 above 80 on imagenet-r' is metric = 'top1' AND value > 80 "
        "AND dataset_id = the id of the catalog_dataset named 'imagenet-r'",
    ),
    (
        ("trained on", "uses the dataset", "evaluated on"),
        "catalog_modeldataset with role 'trained_on' / 'evaluated_on' / 'fine_tuned_on'",
    ),
    (
        ("owner", "uploaded by", "published by", "whose", "organisation that released"),
        "the owner: catalog_mlmodel.owner_id / catalog_dataset.owner_id -> accounts_user.id (username)",
    ),
    (("author", "creator", "contributor"), "catalog_mlmodel_authors / catalog_dataset_authors -> accounts_user"),
    (
        ("institution", "organisation", "organization", "university", "company", "lab", "affiliation"),
        "accounts_affiliation, linked to users through accounts_user_affiliations",
    ),
    (
        ("licence", "license", "open source", "permissive", "copyleft", "non-commercial"),
        "licensing_license via license_id (category 'permissive', 'copyleft', 'non_commercial' ...); "
        "license_declared keeps the declared text when no known licence matched",
    ),
    (
        ("licence violation", "compliance", "non-compliant", "licence problem", "licence conflict", "licence warning"),
        "licensing_compliancereport (one row per analysed model, model_id -> catalog_mlmodel.id): "
        "has_violations, violation_count, warning_count, obligation_count, analysed_at",
    ),
    (("popular", "most used", "downloads", "likes", "stars"), "the downloads and likes columns"),
    (
        ("dataset size", "number of samples", "number of rows", "number of instances", "examples"),
        "catalog_dataset.instances_number (the files' catalog_datasetfile.row_count per file)",
    ),
    (("personal data", "PII", "sensitive columns"), "catalog_filecolumn.is_pii = true"),
    (("task", "used for", "capable of"), "catalog_task via catalog_mlmodel_tasks / catalog_dataset_tasks (slug, name)"),
    (("domain", "field", "sector"), "catalog_domain via catalog_dataset_domains"),
    (
        ("released", "release date", "published", "came out"),
        "models: catalog_mlmodel.release_date (a date; NULL = unknown, not 'never'); datasets: catalog_dataset.year",
    ),
    (
        ("recent", "new", "latest", "added", "uploaded"),
        "when it reached this hub: created_at / updated_at (use release_date for when a model was released)",
    ),
    (
        ("ethics", "informed consent", "anonymised", "anonymized", "transparency", "accountability", "fairness"),
        "the catalog_dataset yes/no columns informed_consent, transparency, user_control, "
        "equity_non_discrimination, security_measures_in_place, data_quality_documented, anonymization_applied, "
        "record_keeping_policy_exists, purpose_limitation_respected, accountability_defined: true = yes, "
        "false = no, NULL = unknown (not recorded)",
    ),
    (("public", "private"), "the visibility column ('public' / 'private')"),
]

# How to compute with dates, per dialect (the guard allows these functions).
DATE_FUNCTIONS: dict[str, str] = {
    "sqlite": "dates are ISO text; use strftime('%Y', x), date(x), datetime(x), julianday(x), "
    "date('now', '-30 days'); compare with ISO strings (x >= '2024-01-01').",
    "postgres": "use EXTRACT(YEAR FROM x), date_trunc('month', x), NOW() - INTERVAL '30 days', AGE(x), "
    "CURRENT_DATE, CAST(x AS DATE); compare with DATE '2024-01-01'.",
}

# The optional entity type of a question: what the answer must list (seed: an integer, 0 = any).
ENTITY_TYPES: dict[str, str] = {
    "": "",
    "model": "The user wants a list of models: return one row per model from catalog_mlmodel, "
    "with the owner's username and the model name first.",
    "dataset": "The user wants a list of datasets: return one row per dataset from catalog_dataset, "
    "with the owner's username and the dataset name first.",
    "user": "The user wants a list of users: return one row per user from accounts_user, with the username first.",
    "affiliation": "The user wants a list of affiliations (organisations): return one row per "
    "affiliation from accounts_affiliation, with its name first.",
}
ENTITY_CODES: dict[int, str] = {0: "", 1: "model", 2: "dataset", 3: "user", 4: "affiliation"}
