"""gunicorn's logger with panelist tokens masked in every access-log atom.

Used wherever gunicorn starts (docker/entrypoint.sh, the benchmarks):
`gunicorn --logger-class lib.gunicorn_logging.MaskingLogger …`. The default access-log format
(and any custom `--access-logformat`) keeps working; only the token inside a path, request line,
query or header value is replaced, as in Django's own logs (lib/logmask.py).
"""

from gunicorn.glogging import Logger

from lib.logmask import mask


class MaskingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: mask(v) if isinstance(v, str) else v for k, v in atoms.items()}

    # Error-log lines can quote a request path too ("Invalid request from …").
    def error(self, msg, *args, **kwargs):
        super().error(mask(str(msg)), *args, **kwargs)

    def warning(self, msg, *args, **kwargs):
        super().warning(mask(str(msg)), *args, **kwargs)
