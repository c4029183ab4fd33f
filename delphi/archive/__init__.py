"""The study archive: a whole study as documented CSV/JSON in one ZIP, and back.

``study_archive_export`` writes it, ``study_archive_import`` loads it into this instance (one
transaction, new database ids, the same UUIDs unless they clash). The format, file by file, is
in ``docs/archive.md``; the table list it follows is ``delphi.archive.tables``.
"""
