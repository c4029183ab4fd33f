"""Celery tasks. Each is thin: it takes primary keys, loads, and calls one service.

Celery's autodiscovery imports this module; the tasks live beside their services.
"""
