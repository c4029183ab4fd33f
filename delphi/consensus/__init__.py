"""Consensus: pure statistics (stats/), consensus definitions, the RATINGS.csv format.

The engine around it (selectors, services, Celery task, pages) lives beside these modules.
"""
