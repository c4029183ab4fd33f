"""Reports for analysts: one builder reads a study's persisted results into plain tables.

    data = report_data(study=study)          # delphi.reports.data
    zip_bytes = tidy_zip(data)               # delphi.reports.tidy
    xlsx_bytes = workbook_bytes(data)        # delphi.reports.workbook
    pdf_bytes = pdf_bytes(data)              # delphi.reports.pdf

Pages, downloads and ``manage.py report`` all start from ``report_data``: it reads the consensus
runs' rows (ItemResult, ItemDecision, GroupConcordance), the lineage (ItemChange), responses and
profiles. Nothing in here recomputes a statistic the consensus run persisted.
"""
