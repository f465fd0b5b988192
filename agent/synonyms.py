"""The hub's vocabulary, in the one place to edit it: what people say -> what it means in the schema.

Each entry is (the words people use, what they mean as SQL over the exposed tables). The prompt
lists them verbatim; add a line when evaluation shows the model misreading a word.
"""

SYNONYMS: list[tuple[tuple[str, ...], str]] = [
    (("language model", "LLM", "text model", "NLP model", "chat model"),
     "a model with media 'text': catalog_mlmodel_media.mediatype_id = 'text'"),
    (("vision model", "image model", "computer vision model", "CV model"),
     "a model with media 'image': catalog_mlmodel_media.mediatype_id = 'image'"),
    (("speech model", "audio model", "ASR model"),
     "a model with media 'audio': catalog_mlmodel_media.mediatype_id = 'audio'"),
    (("video model",), "a model with media 'video'"),
    (("multimodal model", "vision-language model", "VLM"),
     "a model with media 'multimodal', or with both 'text' and 'image' media"),
    (("tabular data", "table data"), "media 'tabular'"),
    (("text dataset", "image dataset", "audio dataset"),
     "a dataset with that media: catalog_dataset_media.mediatype_id = 'text' / 'image' / 'audio'"),
    (("fine-tuned", "finetuned", "fine tune", "instruction-tuned"),
     "training type: catalog_mlmodel.training_type = 'finetune' (a derived model is also one with a "
     "catalog_modellineage row where relation = 'fine_tune')"),
    (("pre-trained", "pretrained", "foundation model"), "catalog_mlmodel.training_type = 'pretrain'"),
    (("RL", "RLHF", "reinforcement learning"), "catalog_mlmodel.training_type = 'rl'"),
    (("size of a model", "number of parameters", "parameters", "params", "big", "large", "small"),
     "catalog_mlmodel.parameter_count; 7B = 7000000000, 110M = 110000000"),
    (("transformer", "CNN", "convolutional network", "RNN", "recurrent network", "LSTM"),
     "catalog_mlmodel.architecture_family = 'transformer' / 'cnn' / 'rnn' (LSTM and GRU are 'rnn'); "
     "details in catalog_transformerdetails, catalog_cnndetails (+ catalog_cnnmodule), catalog_rnndetails"),
    (("base model", "parent model", "derived from", "based on", "descendant", "derivative"),
     "lineage: a catalog_modellineage row says model_id derives from base_id by relation"),
    (("quantized", "merged", "distilled", "adapter", "LoRA"),
     "catalog_modellineage.relation = 'quantization' / 'merge' / 'distillation' / 'adapter'"),
    (("trained on", "uses the dataset", "evaluated on"),
     "catalog_modeldataset with role 'trained_on' / 'evaluated_on' / 'fine_tuned_on'"),
    (("owner", "uploaded by", "published by", "whose", "organisation that released"),
     "the owner: catalog_mlmodel.owner_id / catalog_dataset.owner_id -> accounts_user.id (username)"),
    (("author", "creator", "contributor"),
     "catalog_mlmodel_authors / catalog_dataset_authors -> accounts_user"),
    (("institution", "organisation", "organization", "university", "company", "lab", "affiliation"),
     "accounts_affiliation, linked to users through accounts_user_affiliations"),
    (("licence", "license", "open source", "permissive", "copyleft", "non-commercial"),
     "licensing_license via license_id (category 'permissive', 'copyleft', 'non_commercial' ...); "
     "license_declared keeps the declared text when no known licence matched"),
    (("popular", "most used", "downloads", "likes", "stars"), "the downloads and likes columns"),
    (("dataset size", "number of samples", "number of rows", "number of instances", "examples"),
     "catalog_dataset.instances_number (the files' catalog_datasetfile.row_count per file)"),
    (("personal data", "PII", "sensitive columns"), "catalog_filecolumn.is_pii = true"),
    (("task", "used for", "capable of"), "catalog_task via catalog_mlmodel_tasks / catalog_dataset_tasks (slug, name)"),
    (("domain", "field", "sector"), "catalog_domain via catalog_dataset_domains"),
    (("recent", "new", "latest"), "created_at / updated_at (and catalog_dataset.year for a dataset's year)"),
    (("public", "private"), "the visibility column ('public' / 'private')"),
]

# The optional entity type of a question: what the answer must list (seed: an integer, 0 = any).
ENTITY_TYPES: dict[str, str] = {
    "": "",
    "model": "The user wants a list of models: return one row per model from catalog_mlmodel, "
             "with the owner's username and the model name first.",
    "dataset": "The user wants a list of datasets: return one row per dataset from catalog_dataset, "
               "with the owner's username and the dataset name first.",
    "user": "The user wants a list of users: return one row per user from accounts_user, "
            "with the username first.",
    "affiliation": "The user wants a list of affiliations (organisations): return one row per "
                   "affiliation from accounts_affiliation, with its name first.",
}
ENTITY_CODES: dict[int, str] = {0: "", 1: "model", 2: "dataset", 3: "user", 4: "affiliation"}
