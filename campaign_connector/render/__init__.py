"""What the CLI shows and writes, apart from the inspection data itself (``report`` renders that).

- ``console``: the consoles (results on stdout, the rest on stderr) and the table-width policies;
- ``progress``: the progress bars of ``import``, ``replay`` and ``generate``;
- ``formats``: one enum per ``--format`` choice, each member knowing its writer (``to_format()``);
- ``writers``: those writers, one table per command;
- ``commands``: the summaries and small tables of ``replay``, ``sends``, ``doctor``;
- ``html``: ``report --html``, one self-contained page with inline SVG charts.

Files are written through ``campaign_connector.outputs`` (``atomic_output``, the suffix → format table), which
the library's own writers use too. Only this package, ``report`` and ``cli`` import rich.
"""
