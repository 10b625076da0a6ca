"""The commands of `fulfil`: `common` (what every command shares), `options` (the global
options and help), and one module per family of commands beside `cli.py`."""
