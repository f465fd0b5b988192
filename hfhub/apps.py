from django.apps import AppConfig


class HfHubConfig(AppConfig):
    name = "hfhub"
    verbose_name = "Hugging Face Hub protocol"
