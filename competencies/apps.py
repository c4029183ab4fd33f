from django.apps import AppConfig


class CompetenciesConfig(AppConfig):
    name = "competencies"
    verbose_name = "Competency frameworks"
