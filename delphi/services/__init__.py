"""Writes for the delphi app: one module per topic, keyword-only `<entity>_<action>` functions."""
