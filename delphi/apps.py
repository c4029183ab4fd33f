from django.apps import AppConfig


class DelphiConfig(AppConfig):
    name = "delphi"
    verbose_name = "Delphi studies"

    def ready(self):
        # No broker, no beat: the development server sweeps for due reminders and deadlines.
        from delphi.services.embedded_sweep import embedded_sweep_start, should_start

        if should_start():
            embedded_sweep_start()
