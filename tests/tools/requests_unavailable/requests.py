"""First on the tools' PYTHONPATH in tests/tools: a python3 without requests, as in OpenClaw's image."""

raise ImportError("requests is not installed here: the tools must run on the standard library alone")
