"""What the tests share that is not a fixture: paths and the CLI runner (`common`), writers of real document
files (`docfiles`), the crash-safety writer and the scale tests' child process (run as scripts too), a real
`xlqe serve` process (`server_process`), the sharding tests' corpora (`shard_data`), golden files (`golden/`).

`tests/` is on the import path (pyproject's `[tool.pytest.ini_options] pythonpath`), so a test in any role's
folder imports `from support.common import SAMPLE`; benchmarks put `tests/` on `sys.path` themselves."""
