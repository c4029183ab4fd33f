"""The demo crisis-responder study: its content (from the researchers' slides) and its builder.

`delphi.demo.services.demo_load` builds it; `manage.py load_demo` calls that.
"""
